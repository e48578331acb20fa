"""Spreadsheet exports: header cells are neutralised as values are, in CSV and in a streamed CSV line."""

import csv
import io

import pytest

from recaudo_common.exports import csv_line, table_response

pytestmark = pytest.mark.unit


def test_report_headers_and_cells_are_neutralised() -> None:
    response = table_response("r", "csv", ["a", "b"], ["=HYPERLINK(\"x\")", "@Saldo"],
                              [{"a": "+cmd", "b": -1500}])
    table = list(csv.reader(io.StringIO(bytes(response.body).decode())))
    assert table == [["'=HYPERLINK(\"x\")", "'@Saldo"], ["'+cmd", "-1500"]]


def test_a_streamed_line_neutralises_every_cell() -> None:
    line = csv_line(["=1+1", "\rCR", "-2+3", 7, None, "-1500.50", "Bogotá"])
    assert next(csv.reader(io.StringIO(line))) == ["'=1+1", "'\rCR", "'-2+3", "7", "", "-1500.50", "Bogotá"]


def test_a_spanish_locale_gets_what_excel_opens_there_bom_semicolons_and_its_decimal_mark() -> None:
    from decimal import Decimal

    response = table_response("r", "csv", ["cliente", "recaudado", "cuentas"], ["Cliente", "Recaudado", "Cuentas"],
                              [{"cliente": "Banco Andino; Bogotá", "recaudado": Decimal("1234567.89"),
                                "cuentas": 12}], locale="es-CO")
    body = bytes(response.body).decode("utf-8")
    assert body.startswith("\ufeffCliente;Recaudado;Cuentas\r\n")
    rows = list(csv.reader(io.StringIO(body.removeprefix("\ufeff")), delimiter=";"))
    assert rows[1] == ["Banco Andino; Bogotá", "1234567,89", "12"]


@pytest.mark.parametrize(("locale", "expected"), [("es-MX", "\ufeffa\r\n0.10\r\n"), ("es-AR", "\ufeffa\r\n0,10\r\n"),
                                                  ("en-US", "a\r\n0.10\r\n"), (None, "a\r\n0.10\r\n")])
def test_each_locale_writes_numbers_with_its_own_decimal_mark(locale: str | None, expected: str) -> None:
    from decimal import Decimal

    response = table_response("r", "csv", ["a"], ["a"], [{"a": Decimal("0.10")}], locale=locale)
    assert bytes(response.body).decode() == expected


def test_a_streamed_line_in_a_spanish_style_uses_semicolons_and_the_decimal_comma() -> None:
    from decimal import Decimal

    from recaudo_common.exports import csv_style

    line = csv_line(["=1+1", Decimal("1E+3"), 7], csv_style("es-CL"))
    assert line == "'=1+1;1000;7\r\n"


def test_a_report_writes_every_text_cell_as_it_is_for_every_reader_of_a_csv() -> None:
    from decimal import Decimal

    response = table_response("r", "csv", ["k", "n", "p"], ["grupo", "n", "producto"], [
        {"k": "1-30", "n": Decimal("1.5"), "p": "Libre; inversión"}, {"k": "3/4", "n": 2, "p": ""},
        {"k": "1.5", "n": None, "p": "12:30"}, {"k": "2026-11-05", "n": 1, "p": "361+"},
        {"k": "=1-30", "n": 0, "p": "-1-30"}], locale="es-CO")
    body = bytes(response.body).decode().removeprefix("\ufeff")
    # A CSV cannot tell Excel a cell is text without changing what other readers get (="1-30" is read as those six
    # characters by pandas, R or the csv module, and starts like a formula): the bucket is written 1-30, and a
    # spreadsheet user takes the XLSX export (docs/kpis.md, Exports).
    assert list(csv.reader(io.StringIO(body), delimiter=";")) == [
        ["grupo", "n", "producto"], ["1-30", "1,5", "Libre; inversión"], ["3/4", "2", ""], ["1.5", "", "12:30"],
        ["2026-11-05", "1", "361+"], ["'=1-30", "0", "'-1-30"]]
    assert csv_line(["1-30", "3/4"]) == "1-30,3/4\r\n"
