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
