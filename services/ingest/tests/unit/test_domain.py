"""Ingest's rules: strict numbers by locale, dates, header mapping, row validation codes."""

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest

from ingest.domain.portfolio import (
    MappingError,
    RowContext,
    check_row,
    column_names,
    map_columns,
    normalise_header,
)
from recaudo_common.files import csv_rows, sniff
from recaudo_common.money import parse_amount, parse_date

pytestmark = pytest.mark.unit
CTX = RowContext(locale="es-CO", as_of=dt.date(2026, 3, 31), country="CO", currency="COP",
                 default_channels=("sms", "email"))


@pytest.mark.parametrize(("raw", "locale", "expected"), [
    ("1.234.567,89", "es-CO", Decimal("1234567.89")), ("$ 1.234.567", "es-CO", Decimal("1234567")),
    ("1234567", "es-CO", Decimal("1234567")), ("1234567,5", "es-AR", Decimal("1234567.5")),
    ("1,234,567.89", "es-MX", Decimal("1234567.89")), ("S/ 1,500.00", "es-PE", Decimal("1500.00")),
    ("1234567.89", "es-CO", None), ("1.5", "es-CO", None), ("1.234.567,89", "es-MX", None), ("12,34", "en-US", None),
    ("abc", "es-CO", None), ("", "es-CO", None),
])
def test_amounts_are_parsed_strictly(raw: str, locale: str, expected: Decimal | None) -> None:
    assert parse_amount(raw, locale) == expected


@pytest.mark.parametrize(("raw", "locale", "currency", "expected"), [
    ("COP 1.500", "es-CO", "COP", Decimal("1500")), ("$ 1.500", "es-CO", "COP", Decimal("1500")),
    ("USD 1.500", "es-CO", "COP", None), ("EUR 1.500", "es-CO", "COP", None), ("-USD 1.500", "es-CO", "COP", None),
    ("US$ 1,500.00", "es-MX", "MXN", None), ("US$ 1,500.00", "en-US", "USD", Decimal("1500.00")),
    ("S/ 1,500.00", "es-PE", "PEN", Decimal("1500.00")), ("S/ 1,500.00", "es-MX", "MXN", None),
    ("ABC 2.000", "es-CO", "COP", None), ("NULL", "es-CO", "COP", None),
])
def test_an_amount_that_names_another_currency_is_no_amount_of_the_client_company(
        raw: str, locale: str, currency: str, expected: Decimal | None) -> None:
    assert parse_amount(raw, locale, currency) == expected


@pytest.mark.parametrize(("raw", "locale", "currency", "expected"), [
    # The code after the figure, or a symbol before it and the code after: the client company's currency is read.
    ("1.500.000 COP", "es-CO", "COP", Decimal("1500000")), ("1.500.000COP", "es-CO", "COP", Decimal("1500000")),
    ("COP$ 1.500.000", "es-CO", "COP", Decimal("1500000")), ("COP$1.500.000", "es-CO", "COP", Decimal("1500000")),
    ("$1.500.000 COP", "es-CO", "COP", Decimal("1500000")), ("$ 1.500.000,50 COP", "es-CO", "COP", Decimal("1500000.50")),
    ("-1.500.000 COP", "es-CO", "COP", Decimal("-1500000")), ("1.500.000\u00a0COP", "es-CO", "COP", Decimal("1500000")),
    ("COP 1.500.000 COP", "es-CO", "COP", Decimal("1500000")), ("1,500.00 MXN", "es-MX", "MXN", Decimal("1500.00")),
    ("MXN$ 1,500.00", "es-MX", "MXN", Decimal("1500.00")), ("S/ 1,500.00 PEN", "es-PE", "PEN", Decimal("1500.00")),
    ("1.500.000 COP", "es-CO", None, Decimal("1500000")),
    # Another currency's code, wherever it is written, or two currencies, or letters that name none: no amount.
    ("1.500.000 USD", "es-CO", "COP", None), ("USD$ 1.500", "es-CO", "COP", None), ("$1.500 USD", "es-CO", "COP", None),
    ("COP 1.500 USD", "es-CO", "COP", None), ("USD 1.500 COP", "es-CO", "COP", None), ("1.500 MXN", "es-CO", "COP", None),
    ("COP 1.500 USD", "es-CO", None, None), ("1.500.000 ABC", "es-CO", "COP", None), ("ABC$ 2.000", "es-CO", "COP", None),
    ("12 MIL", "es-CO", "COP", None), ("1.500.000 COPS", "es-CO", "COP", None), ("1.5 COP", "es-CO", "COP", None),
    ("COP", "es-CO", "COP", None), ("COP COP", "es-CO", "COP", None), ("1.500.000 COP 2", "es-CO", "COP", None),
])
def test_a_currency_written_after_or_around_the_figure(raw: str, locale: str, currency: str | None,
                                                     expected: Decimal | None) -> None:
    assert parse_amount(raw, locale, currency) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("05/03/2026", dt.date(2026, 3, 5)), ("5/3/2026", dt.date(2026, 3, 5)), ("05-03-2026", dt.date(2026, 3, 5)),
    ("2026-03-05", dt.date(2026, 3, 5)), ("31/02/2026", None), ("2026/13/05", None), ("mañana", None),
])
def test_dates(raw: str, expected: dt.date | None) -> None:
    assert parse_date(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    # As Excel in a Spanish locale saves a date column to CSV, and as people write one: day first, as every
    # numeric date is read; a month's Spanish name or abbreviation in any case, with or without its dot.
    ("14-feb-2026", dt.date(2026, 2, 14)), ("14-feb-26", dt.date(2026, 2, 14)), ("14/02/26", dt.date(2026, 2, 14)),
    ("2026/02/14", dt.date(2026, 2, 14)), ("14.02.2026", dt.date(2026, 2, 14)), ("14-02-26", dt.date(2026, 2, 14)),
    ("14.02.26", dt.date(2026, 2, 14)), ("2026.02.14", dt.date(2026, 2, 14)),
    ("14-FEB-2026", dt.date(2026, 2, 14)), ("14-Feb.-2026", dt.date(2026, 2, 14)), ("1/ene/2026", dt.date(2026, 1, 1)),
    ("3 mar 2026", dt.date(2026, 3, 3)), ("30-abr-26", dt.date(2026, 4, 30)), ("31-May-26", dt.date(2026, 5, 31)),
    ("30-jun-26", dt.date(2026, 6, 30)), ("31-jul-26", dt.date(2026, 7, 31)), ("31-ago-26", dt.date(2026, 8, 31)),
    ("30-sep-26", dt.date(2026, 9, 30)), ("30-SEPT-26", dt.date(2026, 9, 30)), ("30-set.-26", dt.date(2026, 9, 30)),
    ("31-oct-26", dt.date(2026, 10, 31)), ("30-nov-26", dt.date(2026, 11, 30)), ("31-DIC-26", dt.date(2026, 12, 31)),
    ("14 de febrero de 2026", dt.date(2026, 2, 14)), ("14 de Febrero del 2026", dt.date(2026, 2, 14)),
    ("1 de SETIEMBRE de 2026", dt.date(2026, 9, 1)), ("14 de enero de 2026", dt.date(2026, 1, 14)),
    ("14-feb-2026 10:30", dt.date(2026, 2, 14)), ("14/02/26 10:30:00", dt.date(2026, 2, 14)),
    # Two-digit years pivot as POSIX strptime's %y: 00-68 are 20xx, 69-99 19xx.
    ("01/01/68", dt.date(2068, 1, 1)), ("01/01/69", dt.date(1969, 1, 1)), ("31-dic-99", dt.date(1999, 12, 31)),
    ("01-ene-00", dt.date(2000, 1, 1)),
    # Still refused: impossible, without a day or a year, a name of no month, separators mixed, years of 1 or 3 digits.
    ("30-feb-26", None), ("29/02/27", None), ("31 de abril de 2026", None), ("feb-26", None), ("14-feb", None),
    ("febrero de 2026", None), ("14-fbr-2026", None), ("14-febr-2026", None), ("14/02-2026", None),
    ("14.02/26", None), ("1/2/3", None), ("14/02/026", None), ("14 de febrero de 26 de 2026", None),
    ("2026/02/30", None), ("26/02/14/", None), ("14--feb--2026", None), ("14-feb-2026x", None),
])
def test_dates_as_spanish_excel_saves_them(raw: str, expected: dt.date | None) -> None:
    assert parse_date(raw) == expected


def test_headers_match_ignoring_case_accents_and_separators() -> None:
    assert normalise_header("Número_Obligación") == normalise_header("numero obligacion")
    columns = map_columns(["Número Obligación", "CÉDULA", "Nombre Completo", "Saldo Total", "Días Mora", "Celular",
                           "Teléfono 2", "Sucursal"])
    assert columns.fields["account_ref"] == [0] and columns.fields["phones"] == [5, 6]
    assert columns.extras == {"Sucursal": 7}


def test_two_columns_for_one_field_are_ambiguous_until_mapped() -> None:
    headers = ["Obligacion", "Cedula", "Nombre", "Saldo Capital", "Saldo Total", "Dias Mora"]
    with pytest.raises(MappingError) as err:
        map_columns(headers)
    assert err.value.code == "ambiguous_mapping"
    assert err.value.ambiguous == {"balance": ["Saldo Capital", "Saldo Total"]}
    chosen = map_columns(headers, {"balance": "Saldo Total"})
    assert chosen.fields["balance"] == [4] and "Saldo Capital" in chosen.extras


def test_missing_required_columns_are_named() -> None:
    with pytest.raises(MappingError) as err:
        map_columns(["Cuenta", "Nombre"])
    assert err.value.code == "missing_required_columns"
    assert err.value.missing == ["debtor_id", "balance", "due_date or days_past_due"]


def _row(**values: str) -> dict[str, list[str]]:
    base = {"account_ref": "A-1", "debtor_id": "1020304050", "full_name": "Ana Gómez", "balance": "1.500.000",
            "days_past_due": "45"}
    base.update(values)
    return {k: [v] for k, v in base.items()}


@pytest.mark.parametrize(("values", "code"), [
    ({"account_ref": " "}, "missing_account_ref"), ({"debtor_id": ""}, "missing_debtor_id"),
    ({"debtor_id": "-.-"}, "missing_debtor_id"),  # nothing a person can be found by (#19)
    ({"full_name": ""}, "missing_name"), ({"balance": "1500000.50"}, "invalid_balance"),
    ({"balance": "0"}, "invalid_balance"), ({"balance": "1.000.000.000.000"}, "invalid_balance"),
    ({"days_past_due": "", "due_date": ""}, "missing_mora"), ({"due_date": "31/02/2026"}, "invalid_due_date"),
    ({"days_past_due": "4.5"}, "invalid_days_past_due"), ({"days_past_due": "40000"}, "invalid_days_past_due"),
    ({"currency": "USD"}, "invalid_currency"),
])
def test_rejections_carry_stable_codes(values: dict[str, str], code: str) -> None:
    account, rejections, _ = check_row(_row(**values), {}, 7, CTX)
    assert account is None
    assert rejections[0].code == code
    assert rejections[0].row == 7


@pytest.mark.parametrize("currency", ["PESOS COLOMBIANOS", "COPX", "CO", "US$", "pesos", "X" * 100_000, "EUR"])
def test_a_currency_that_is_not_the_clients_iso_code_is_an_invalid_currency_whatever_its_length(
        currency: str) -> None:
    account, rejections, _ = check_row(_row(currency=currency), {}, 3, CTX)
    assert account is None
    assert [(r.field, r.code) for r in rejections] == [("currency", "invalid_currency")]
    assert len(rejections[0].message) < 120 and "COP" in rejections[0].message


@pytest.mark.parametrize("field", ["balance", "original_amount", "last_payment_amount"])
@pytest.mark.parametrize(("other", "own"), [("USD 1.500", "COP 1.500"), ("1.500 USD", "1.500 COP"),
                                            ("USD$ 1.500", "COP$ 1.500"), ("$1.500 USD", "$1.500 COP"),
                                            ("COP 1.500 USD", "COP 1.500 COP")])
def test_an_amount_written_in_another_currency_is_an_invalid_currency(field: str, other: str, own: str) -> None:
    account, rejections, _ = check_row(_row(**{field: other}), {}, 6, CTX)
    assert account is None
    assert [(r.field, r.code) for r in rejections] == [(field, "invalid_currency")]
    assert "USD" in rejections[0].message and "COP" in rejections[0].message
    assert rejections[0].params == {"reason": "amount", "written": "USD", "currency": "COP"}
    account, rejections, _ = check_row(_row(**{field: own}), {}, 6, CTX)
    assert account is not None and not rejections and getattr(account, field) == Decimal("1500")


@pytest.mark.parametrize("filler", ["NULL", "PENDIENTE", "SIN INFORMACION", "N/A"])
def test_words_in_an_optional_amount_are_no_currency(filler: str) -> None:
    account, rejections, _ = check_row(_row(original_amount=filler, last_payment_amount=filler), {}, 6, CTX)
    assert account is not None and not rejections and account.original_amount is None
    _, rejections, _ = check_row(_row(balance=filler), {}, 6, CTX)
    assert [(r.field, r.code) for r in rejections] == [("balance", "invalid_balance")]


@pytest.mark.parametrize("due", ["01/01/0001", "2099-01-01", "01/04/1900"])
def test_a_due_date_giving_days_past_due_out_of_range_is_invalid(due: str) -> None:
    account, rejections, _ = check_row(_row(due_date=due, days_past_due=""), {}, 8, CTX)
    assert account is None
    assert [(r.field, r.code) for r in rejections] == [("due_date", "invalid_due_date")]
    account, _, _ = check_row(_row(due_date="2025-03-31", days_past_due=""), {}, 8, CTX)
    assert account is not None and account.days_past_due == 365


def test_a_currency_is_checked_even_beside_a_field_too_long() -> None:
    _, rejections, _ = check_row(_row(currency="DÓLARES", full_name="x" * 201), {}, 4, CTX)
    assert sorted((r.field, r.code) for r in rejections) == [("currency", "invalid_currency"),
                                                              ("full_name", "field_too_long")]
    account, rejections, _ = check_row(_row(currency=" cop "), {}, 5, CTX)
    assert account is not None and account.currency == "COP" and not rejections


@pytest.mark.parametrize("balance", [
    Decimal("1.45519152283669E-11"),  # a workbook's =B2-C2 of two equal balances: Excel shows 0,00
    Decimal("0.004"), "0,004", "0,00499",  # nothing at the cent
    "999.999.999.999,995", Decimal("999999999999.999"),  # 10^12 at the cent
])
def test_a_balance_is_checked_as_it_is_kept_to_the_cent(balance: str | Decimal) -> None:
    # Every service keeps a balance to the cent (numeric(16, 2)): one that is 0.00 or 10^12 there is no balance.
    values = _row()
    values["balance"] = [balance]
    account, rejections, _ = check_row(values, {}, 4, CTX)
    assert account is None and [(r.field, r.code) for r in rejections] == [("balance", "invalid_balance")]


@pytest.mark.parametrize(("balance", "kept"), [
    (Decimal("1190.47619047619"), "1190.48"),  # =1000*1.19047619047619: Excel shows 1.190,48
    (Decimal("1234.565"), "1234.57"), (Decimal("0.005"), "0.01"),  # half a cent up, as PostgreSQL's numeric rounds
    ("1.500.000", "1500000"), (Decimal("1500000.5"), "1500000.5"), ("2.000,50", "2000.50"),  # in cents: as written
    ("1.500,000", "1500.000"),  # three decimals, none past the cent
])
def test_a_balance_past_the_cent_is_the_cent_every_service_keeps(balance: str | Decimal, kept: str) -> None:
    values = _row()
    values["balance"] = [balance]
    account, rejections, _ = check_row(values, {}, 4, CTX)
    assert account is not None and not rejections and str(account.balance) == kept


@pytest.mark.parametrize(("balance", "locale"), [
    ("100,004", "es-CO"), ("1.234,565", "es-CO"), ("0,005", "es-CO"), ("$ 1.500.000,001", "es-AR"),
    ("100.004", "en-US"), ("1,234.565", "es-MX"),
])
def test_a_balance_written_past_the_cent_is_refused_not_rounded(balance: str, locale: str) -> None:
    # A number cell's digits past the cent are arithmetic's (Excel shows the cent); a written amount's are the
    # writer's, and rounding them would place a balance the file does not state.
    values = _row()
    values["balance"] = [balance]
    ctx = dataclasses.replace(CTX, locale=locale, currency="COP")
    account, rejections, _ = check_row(values, {}, 4, ctx)
    assert account is None
    assert [(r.field, r.code, r.message) for r in rejections] == [
        ("balance", "invalid_balance", "the balance is written past the cent (more than two decimals that are not 0); "
                                       "amounts are kept to the cent")]


def test_warnings_keep_the_account() -> None:
    values = _row(due_date="01/03/2026", days_past_due="10", email="no-es-correo")
    values["phones"] = ["300 123 4567", "123"]
    account, rejections, warnings = check_row(values, {}, 2, CTX)
    assert account is not None and not rejections
    assert account.days_past_due == 30  # the due date wins over the stated 10
    assert account.phones == ["+573001234567"]
    assert account.email is None
    assert sorted(w.code for w in warnings) == ["invalid_email", "invalid_phone", "mora_mismatch"]
    assert account.authorised_channels == ["sms", "email"]


def test_csv_rows_keep_sheet_numbers_with_blank_lines_and_quoted_newlines() -> None:
    content = ('Cuenta;Cédula;Nombre;Saldo;Mora\n"A-1";1;"Ana\nGómez";"1.000";5\n\n;;;;\nA-2;2;Luis;2.000;6\n'
               ).encode("cp1252")
    sniffed = sniff(content, filename="cartera.csv", encoding=None, delimiter=None)
    assert (sniffed.encoding, sniffed.delimiter) == ("cp1252", ";")
    header, rows = csv_rows(iter([content[:7], content[7:40], content[40:]]), sniffed)  # chunks cut mid-row
    assert header == ["Cuenta", "Cédula", "Nombre", "Saldo", "Mora"]
    got = list(rows)
    assert [n for n, _ in got] == [2, 5]
    assert got[0][1][2] == "Ana\nGómez"


def test_a_header_written_twice_keeps_both_columns() -> None:
    # An export with two "Observación" columns (or two blank ones): neither column's values may be lost.
    headers = ["Obligacion", "Cedula", "Nombre", "Saldo", "Mora", "Observación", "Observación", "", ""]
    assert map_columns(headers).extras == {"Observación": 5, "Observación (column_7)": 6}
    assert column_names(headers)[5:] == ["Observación", "Observación (column_7)", "column_8", "column_9"]


@pytest.mark.parametrize(("before", "first"), [("\n", 3), ("\r\n\r\n", 4), ("  \n", 3), ("\ufeff\n\n", 4),
                                               ("\t\n", 3)])
@pytest.mark.parametrize("delimiter", [";", "\t", "|", ","])
def test_the_delimiter_is_sniffed_from_the_header_after_blank_lines(before: str, first: int, delimiter: str) -> None:
    # The reading skips blank lines before the header (an export whose first rows are empty): so does the sniffing.
    # They are rows all the same: the first record is numbered as a spreadsheet shows it, after them and the header.
    content = (before + delimiter.join(["Obligacion", "Cedula", "Nombre", "Saldo", "Mora"]) + "\n"
               + delimiter.join(["A-1", "1", "Ana", "1000", "5"]) + "\n").encode()
    sniffed = sniff(content, filename="cartera.csv", encoding=None, delimiter=None)
    assert sniffed.delimiter == delimiter
    header, rows = csv_rows([content], sniffed)
    assert header == ["Obligacion", "Cedula", "Nombre", "Saldo", "Mora"]
    assert list(rows) == [(first, ["A-1", "1", "Ana", "1000", "5"])]


@pytest.mark.parametrize(("locale", "written", "days"), [
    ("es-CO", "1.200", 1200), ("es-AR", "12.345", 12345), ("en-US", "1,200", 1200), ("es-MX", "-1,2", None),
    ("es-CO", "1200", 1200), ("es-CO", "-45", -45),
    ("es-CO", "1,200", None), ("en-US", "1.200", None), ("es-CO", "12.00", None), ("es-CO", "1.2000", None),
    ("es-CO", "36.501", None), ("es-CO", "$ 5", None), ("es-CO", "5,0", None),
])
def test_days_past_due_are_a_whole_number_as_the_locale_writes_it(locale: str, written: str,
                                                                  days: int | None) -> None:
    # A portfolio sold years overdue states thousands of days, grouped as any number of its locale is.
    values = _row(days_past_due=written, balance="1500000")
    account, rejections, _ = check_row(values, {}, 2, dataclasses.replace(CTX, locale=locale))
    if days is None:
        assert account is None and [r.code for r in rejections] == ["invalid_days_past_due"]
    else:
        assert account is not None and account.days_past_due == days, rejections


@pytest.mark.parametrize("id_type", ["CC", "Cédula de Ciudadanía", "CEDULA DE EXTRANJERIA", "Permiso Especial de Permanencia",
                                     "Permiso por Protección Temporal", "Registro Único Tributario",
                                     "Documento Nacional de Identidad", "Clave Única de Registro de Población"])
def test_an_id_type_written_out_keeps_the_row(id_type: str) -> None:
    # A core-banking or CRM export names the document in full; an optional column's name for it never loses the
    # account (such rows were rejected field_too_long past 16 characters).
    account, rejections, _ = check_row(_row(debtor_id_type=id_type), {}, 2, CTX)
    assert not rejections and account is not None and account.debtor_id_type == id_type
    _, rejections, _ = check_row(_row(debtor_id_type="x" * 65), {}, 2, CTX)
    assert [(r.field, r.code) for r in rejections] == [("debtor_id_type", "field_too_long")]


def test_a_row_as_spanish_excel_saves_it_is_accepted_with_its_date_and_amount() -> None:
    # A CSV saved by Excel in a Spanish locale: the due date as d-mmm-yy, the balance with its currency's code.
    content = ("Obligación;Cédula;Nombre;Saldo;Fecha Vencimiento\r\n"
               "A-1;1020304050;Ana Gómez;1.500.000 COP;14-feb-26\r\n").encode("cp1252")
    sniffed = sniff(content, filename="cartera.csv", encoding=None, delimiter=None)
    header, rows = csv_rows(iter([content]), sniffed)
    columns = map_columns(header)
    [(number, cells)] = list(rows)
    values = {f: [cells[i] for i in positions] for f, positions in columns.fields.items()}
    account, rejections, warnings = check_row(values, {}, number, CTX)
    assert not rejections and not warnings and account is not None
    assert account.due_date == dt.date(2026, 2, 14) and account.days_past_due == 45
    assert account.balance == Decimal("1500000") and isinstance(account.balance, Decimal)
    assert account.currency == "COP"
