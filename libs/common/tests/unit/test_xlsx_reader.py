"""The XLSX reader: exact numbers, dates, strings and sheets as Excel writes them, and every kind of workbook bomb
refused with its code, at the door and again by the worker, without memory growing with what the file declares."""

from __future__ import annotations

import datetime as dt
import io
import tracemalloc
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter

from recaudo_common import hostile_files as hostile
from recaudo_common.files import FileFormatError
from recaudo_common.money import excel_serial_date
from recaudo_common.xlsx import XlsxLimits, excel_number, inspect_xlsx, xlsx_rows

pytestmark = pytest.mark.unit
WORKER = XlsxLimits(door_scan_bytes=0)  # the door's whole read off: the worker's own checks alone


def saved(tmp_path: Path, content: bytes) -> Path:
    path = tmp_path / "cartera.xlsx"
    path.write_bytes(content)
    return path


def read_all(path: Path, limits: XlsxLimits = WORKER, sheet: str | None = None) -> tuple[list[str], list[Any]]:
    header, rows, _, _ = xlsx_rows(path, sheet=sheet, limits=limits)
    return header, list(rows)


def test_a_workbook_as_excel_writes_it(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    book.add_worksheet("Instrucciones").write(0, 0, "Lea esto primero")
    sheet = book.add_worksheet("Cartera")
    day = book.add_format({"num_format": "dd/mm/yyyy"})
    sheet.write_row(0, 0, ["Cuenta", "Cédula", "Nombre", "Saldo", "Vencimiento", "Activo"])
    sheet.write_row(1, 0, ["A-1", 1020304050, "Ana María", 1234567.89, None, True])
    sheet.write_datetime(1, 4, dt.datetime(2026, 3, 1), day)
    sheet.write_row(3, 0, ["A-3", "0123", "Eva", 123456789012345, 46082])  # row 3 left blank
    book.close()
    path = saved(tmp_path, buffer.getvalue())
    assert inspect_xlsx(path, sheet="Cartera", limits=XlsxLimits()) == ["Instrucciones", "Cartera"]
    header, rows = read_all(path, sheet="Cartera")
    assert header == ["Cuenta", "Cédula", "Nombre", "Saldo", "Vencimiento", "Activo"]
    assert rows == [(2, ["A-1", Decimal("1020304050"), "Ana María", Decimal("1234567.89"), dt.date(2026, 3, 1),
                         "true"]),
                    (4, ["A-3", "0123", "Eva", Decimal("123456789012345"), Decimal("46082")])]
    assert read_all(path) == (["Lea esto primero"], [])  # the first sheet unless one is named


def test_a_1904_workbook_says_so_and_reads_its_date_cells_in_it(tmp_path: Path) -> None:
    # Older Mac Excel saves <workbookPr date1904="1"/>: its serials are 1,462 days smaller than the 1900 system's.
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "date_1904": True})
    sheet = book.add_worksheet("Cartera")
    day = book.add_format({"num_format": "dd/mm/yyyy"})
    sheet.write_row(0, 0, ["Cuenta", "Vencimiento"])
    sheet.write_string(1, 0, "A-1")
    sheet.write_datetime(1, 1, dt.datetime(2026, 3, 1), day)
    sheet.write_row(2, 0, ["A-2", 44620])  # General format: a number, the same day's serial in this workbook
    sheet.write_row(3, 0, ["A-3"])
    sheet.write_number(3, 1, 2_958_000, day)  # past 9999-12-31 in the 1904 system: stays a number, no crash
    book.close()
    read = xlsx_rows(saved(tmp_path, buffer.getvalue()), sheet=None, limits=WORKER)
    assert read.date1904 is True
    assert list(read.rows) == [(2, ["A-1", dt.date(2026, 3, 1)]), (3, ["A-2", Decimal("44620")]),
                               (4, ["A-3", Decimal("2958000")])]
    assert excel_serial_date(Decimal("44620"), date1904=read.date1904) == dt.date(2026, 3, 1)
    default = io.BytesIO()
    plain = xlsxwriter.Workbook(default, {"in_memory": True})
    plain.add_worksheet().write_row(0, 0, ["Cuenta"])
    plain.close()
    assert xlsx_rows(saved(tmp_path, default.getvalue()), sheet=None, limits=WORKER).date1904 is False


@pytest.mark.parametrize(("serial", "date1904", "day"), [
    # Known answers as Excel shows them (Format Cells > Date) in each date system.
    ("46082", False, dt.date(2026, 3, 1)), ("44620", True, dt.date(2026, 3, 1)),
    ("46082.75", False, dt.date(2026, 3, 1)),  # the fraction is a time of day
    ("1", False, dt.date(1900, 1, 1)), ("59", False, dt.date(1900, 2, 28)), ("61", False, dt.date(1900, 3, 1)),
    ("0", True, dt.date(1904, 1, 1)), ("1", True, dt.date(1904, 1, 2)),
    ("2958465", False, dt.date(9999, 12, 31)), ("2957003", True, dt.date(9999, 12, 31)),
    ("0", False, None), ("-1", True, None), ("2958466", False, None), ("2957004", True, None),
])
def test_serial_day_numbers_in_either_date_system(serial: str, date1904: bool, day: dt.date | None) -> None:
    assert excel_serial_date(Decimal(serial), date1904=date1904) == day


@pytest.mark.parametrize(("written", "value"), [
    ("1234567.89", Decimal("1234567.89")),
    ("1234567.8899999999", Decimal("1234567.89")),  # 17 digits: a double's noise, shown by Excel as 1234567.89
    ("0.30000000000000004", Decimal("0.3")),
    ("999999999999.99", Decimal("999999999999.99")),
    ("150000", Decimal("150000")), ("1E+5", Decimal("100000")), ("-5", Decimal("-5")), ("2.5e-3", Decimal("0.0025")),
    ("1E+999999999", None), ("NaN", None), ("Infinity", None), ("0x10", None), ("1" * 100, None), ("", None),
])
def test_number_cells_are_exact_decimals_from_their_text(written: str, value: Decimal | None) -> None:
    assert excel_number(written) == value


def test_a_balance_cell_keeps_every_cent_through_the_reader(tmp_path: Path) -> None:
    for written, expected in (("1234567.89", "1234567.89"), ("98765432101.01", "98765432101.01")):
        _, rows = read_all(saved(tmp_path, hostile.xlsx_money(written)))
        balance = rows[0][1][3]
        assert isinstance(balance, Decimal) and str(balance) == expected


BOMBS: list[tuple[Callable[..., bytes], tuple[Any, ...], str]] = [
    (hostile.xlsx_dimension_bomb, ("A1:XFD1048576",), "xlsx_sheet_too_large"),
    (hostile.xlsx_dimension_bomb, ("A1:CV1000000",), "xlsx_sheet_too_large"),  # 100 million cells
    (hostile.xlsx_dimension_bomb, ("A1:A2000000",), "xlsx_sheet_too_large"),  # past the grid
    (hostile.xlsx_far_cell, ("XFD1048576",), "too_many_columns"),
    (hostile.xlsx_far_cell, ("SZ2",), "too_many_columns"),
    (hostile.xlsx_far_cell, ("XFE3",), "xlsx_sheet_too_large"),
    (hostile.xlsx_far_cell, ("A1048577",), "xlsx_sheet_too_large"),
    (hostile.xlsx_far_cell, ("AAAAAAAAAAAAAAAAAAAA3",), "xlsx_sheet_too_large"),
    (hostile.xlsx_declared_strings, (4_000_000_000,), "xlsx_too_many_strings"),
    (hostile.xlsx_declared_strings, (10**40,), "xlsx_too_many_strings"),
    (hostile.xlsx_long_string, (100_000, True), "xlsx_string_too_long"),
    (hostile.xlsx_long_string, (100_000, False), "xlsx_string_too_long"),
    (hostile.xlsx_nested, (100_000, "sheet"), "xlsx_too_deep"),
    (hostile.xlsx_nested, (100_000, "strings"), "xlsx_too_deep"),
    (hostile.xlsx_nested, (100_000, "book"), "xlsx_too_deep"),
    (hostile.xlsx_many_sheets, (300, True), "xlsx_too_many_sheets"),
    (hostile.xlsx_many_sheets, (100_000, False), "xlsx_too_many_sheets"),
    (hostile.xlsx_many_parts, (20_000,), "xlsx_too_large"),
    (hostile.xlsx_lying_sizes, (), "xlsx_too_large"),
    (hostile.xlsx_long_tag, (6,), "xlsx_too_large"),
    (hostile.xlsx_padded, (64,), "xlsx_too_large"),
    *[(hostile.xlsx_entities, (part, kind), "xlsx_dtd_refused")
      for part in ("sheet", "strings", "book") for kind in ("laughs", "external", "parameter")],
]


@pytest.mark.parametrize(("make", "args", "code"), BOMBS, ids=[f"{m.__name__}{a}"[:60] for m, a, _ in BOMBS])
def test_every_bomb_is_refused_at_the_door_and_by_the_worker_in_bounded_memory(
        tmp_path: Path, make: Callable[..., bytes], args: tuple[Any, ...], code: str) -> None:
    path = saved(tmp_path, make(*args))
    tracemalloc.start()
    try:
        with pytest.raises(FileFormatError) as door:
            inspect_xlsx(path, sheet=None, limits=XlsxLimits())
        with pytest.raises(FileFormatError) as worker:
            read_all(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (door.value.code, worker.value.code) == (code, code), (door.value.detail, worker.value.detail)
    assert peak < 32 * 1024**2, peak  # the 6 MiB tag is the largest thing ever held


def test_a_far_away_row_costs_one_row(tmp_path: Path) -> None:
    """A reader that streams the cells present completes with the rows the file really holds."""
    path = saved(tmp_path, hostile.xlsx_far_cell("A1048576"))
    tracemalloc.start()
    try:
        header, rows = read_all(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert header == list(hostile.HEADER)
    assert [number for number, _ in rows] == [2, 1048576] and rows[1][1] == [Decimal(1)]
    assert peak < 4 * 1024**2, peak


def test_actual_counts_are_limited_not_only_declared_ones(tmp_path: Path) -> None:
    strings = "".join(f"<si><t>s{i}</t></si>" for i in range(50))
    many_strings = hostile.workbook(strings=f'<sst xmlns="{hostile.MAIN}">{strings}</sst>')  # no count declared
    with pytest.raises(FileFormatError) as refused:
        read_all(saved(tmp_path, many_strings), XlsxLimits(max_shared_strings=49))
    assert refused.value.code == "xlsx_too_many_strings"
    cells = hostile.sheet_xml("".join(hostile._row(r, ["x"] * 10) for r in range(1, 12)))
    with pytest.raises(FileFormatError) as refused:
        read_all(saved(tmp_path, hostile.workbook([cells])), XlsxLimits(max_cells=100))
    assert refused.value.code == "xlsx_sheet_too_large"
    assert len(read_all(saved(tmp_path, hostile.workbook([cells])), XlsxLimits(max_cells=110))[1]) == 10


def test_broken_workbooks_are_invalid_not_crashes(tmp_path: Path) -> None:
    good = hostile.workbook()
    for broken in (good[: len(good) // 2], b"PK\x03\x04junk", hostile.workbook([b"<worksheet><sheetData><row>"]),
                   hostile.workbook([hostile.sheet_xml('<row r="1"><c r="A1" t="s"><v>7</v></c></row>')]),
                   hostile.workbook([hostile.sheet_xml('<row r="²"><c r="A1"><v>1</v></c></row>')])):
        path = saved(tmp_path, broken)
        with pytest.raises(FileFormatError) as refused:
            inspect_xlsx(path, sheet=None, limits=XlsxLimits())
        assert refused.value.code in ("invalid_xlsx", "xlsx_sheet_too_large"), refused.value.detail
    with pytest.raises(FileFormatError) as missing:
        inspect_xlsx(saved(tmp_path, good), sheet="Hoja9", limits=XlsxLimits())
    assert missing.value.code == "sheet_not_found"


def test_the_door_reads_only_the_head_of_a_large_workbook(tmp_path: Path) -> None:
    """Over `door_scan_bytes`, the door checks the archive, the index, the declared dimension and counts, and
    leaves the cells to the worker (which refuses the far-away one)."""
    path = saved(tmp_path, hostile.xlsx_far_cell("XFD1048576"))
    assert inspect_xlsx(path, sheet=None, limits=WORKER) == ["Hoja1"]
    for head_bomb, code in ((hostile.xlsx_dimension_bomb("A1:XFD1048576"), "xlsx_sheet_too_large"),
                            (hostile.xlsx_declared_strings(10**9), "xlsx_too_many_strings"),
                            (hostile.xlsx_entities("sheet", "laughs"), "xlsx_dtd_refused")):
        with pytest.raises(FileFormatError) as refused:
            inspect_xlsx(saved(tmp_path, head_bomb), sheet=None, limits=WORKER)
        assert refused.value.code == code
