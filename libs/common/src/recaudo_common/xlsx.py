"""Reading one XLSX sheet as a stream of the cells really present, under limits checked before and while reading.

Nothing is ever sized by what the file declares: a sheet that says it spans A1:XFD1048576 is refused, and one
that merely holds a cell far away costs one cell (or, past column MAX_COLUMNS, is refused). Number cells become
Decimals from their text as written (never through a float); date-styled ones, dates; the workbook's date system
comes with the rows, for a General-formatted number a date column holds. The parts themselves are read by
recaudo_common.xlsx_parts."""

from __future__ import annotations

import datetime as dt
import posixpath
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Context, Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any, NamedTuple

from recaudo_common.files import MAX_COLUMNS, Cell, Rows, checked_header
from recaudo_common.money import excel_serial_date
from recaudo_common.xlsx_parts import (
    Relationships,
    SharedStrings,
    Styles,
    TextPart,
    WorkbookIndex,
    XlsxLimits,
    check_archive,
    open_archive,
    refused,
    small_int,
)

__all__ = ["SheetRows", "XlsxLimits", "inspect_xlsx", "xlsx_rows"]

EXCEL_ROWS = 1_048_576  # a worksheet's grid, as Excel defines it
EXCEL_COLUMNS = 16_384
_END = object()
_EXCEL_DIGITS = Context(prec=15)  # Excel keeps 15 significant digits; past them a number's text is binary noise
_WIDE = Context(prec=400, Emax=400, Emin=-400)


# --- cells ---------------------------------------------------------------------------------------------------

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,3})?")
_REF = re.compile(r"([A-Z]{1,3})(\d{1,7})")


def excel_number(text: str) -> Decimal | None:
    """A number cell's value from its text as written: exact, with no float on the way. A text of more than
    Excel's 15 significant digits is rounded to 15 (the rest is the binary double's noise, as in
    1234567.8899999999, which Excel shows as 1234567.89). None if the text is no number a cell can hold."""
    text = text.strip()
    if len(text) > 64 or not _NUMBER.fullmatch(text):
        return None
    try:
        value = Decimal(text)
        if not -308 <= value.adjusted() <= 308:
            return None
        if len(value.as_tuple().digits) > 15:
            value = _EXCEL_DIGITS.plus(value).normalize(_WIDE)
        if int(value.as_tuple().exponent) > 0:
            value = value.quantize(Decimal(1), context=_WIDE)
    except InvalidOperation:
        return None
    return value


def cell_position(ref: str) -> tuple[int, int]:
    """(row, column) from 1 of a reference such as XFD1048576; the grid's limits are checked."""
    match = _REF.fullmatch(ref)
    column = 0
    for letter in match.group(1) if match else "":
        column = column * 26 + ord(letter) - 64
    if match is None or column > EXCEL_COLUMNS or not 1 <= int(match.group(2)) <= EXCEL_ROWS:
        raise refused("xlsx_sheet_too_large", f"a cell reference {ref[:20]!r} is outside a worksheet's grid")
    return int(match.group(2)), column


def column_index(ref: str) -> int:
    """0 for A, 16383 for XFD."""
    return cell_position(ref)[1] - 1


def declared_cells(dimension: str) -> int:
    """How many cells a sheet's <dimension ref="A1:F200"/> claims."""
    corners = dimension.split(":")
    if not 1 <= len(corners) <= 2:
        raise refused("xlsx_sheet_too_large", f"the sheet declares dimension {dimension[:40]!r}")
    (first_row, first_column), (last_row, last_column) = cell_position(corners[0]), cell_position(corners[-1])
    return (abs(last_row - first_row) + 1) * (abs(last_column - first_column) + 1)


class _Sheet(TextPart):
    """Rows of the cells really present, collected as the sheet decompresses; nothing is sized by the file."""

    def __init__(self, name: str, limits: XlsxLimits, strings: SharedStrings | None, date_styles: list[bool],
                 date1904: bool, *, head_only: bool = False) -> None:
        super().__init__(name, limits)
        self.strings, self.date_styles, self.date1904 = strings, date_styles, date1904
        self.head_only = head_only
        self.ready: list[tuple[int, dict[int, Cell]]] = []
        self.row_number, self.rows, self.cells = 0, 0, 0
        self.current: dict[int, Cell] = {}
        self.column = -1
        self.kind, self.style = "n", 0

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if name == "c":
            self.cells += 1
            if self.cells > self.limits.max_cells:
                raise refused("xlsx_sheet_too_large", f"the sheet has more than {self.limits.max_cells} cells")
            ref = attrs.get("r")
            self.column = column_index(ref) if ref else self.column + 1
            self.kind = attrs.get("t", "n")
            self.style = small_int(attrs.get("s", "0"), 6) or 0
            self.parts, self.chars, self.capture = [], 0, False
        elif name == "v":
            self.capture = True
        elif name == "t":
            self.capture = self.phonetic == 0 and self.kind == "inlineStr"
        elif name == "rPh":
            self.phonetic += 1
        elif name == "row":
            self.rows += 1
            raw = attrs.get("r", "")
            number = small_int(raw, 7) if raw else self.row_number + 1
            if number is None or not 1 <= number <= EXCEL_ROWS or self.rows > EXCEL_ROWS:
                raise refused("xlsx_sheet_too_large", f"a row {raw[:20]!r} is outside a worksheet's grid")
            self.row_number, self.current, self.column = number, {}, -1
        elif name == "dimension":
            ref = attrs.get("ref", "")
            if declared_cells(ref) > self.limits.max_cells:
                raise refused("xlsx_sheet_too_large", f"the sheet declares {ref!r}, "
                                                       f"more than {self.limits.max_cells} cells")
        elif name == "sheetData" and self.head_only:
            self.done = True

    def text_holder(self) -> str:
        return f"a cell in row {self.row_number}"

    def end(self, name: str) -> None:
        if name in ("v", "t"):
            self.capture = False
        elif name == "rPh":
            self.phonetic -= 1
        elif name == "c":
            value = self.value("".join(self.parts))
            if value != "":
                if self.column >= MAX_COLUMNS:
                    raise refused("too_many_columns", f"row {self.row_number} has a cell in column "
                                                       f"{self.column + 1}; at most {MAX_COLUMNS} columns")
                self.current[self.column] = value
        elif name == "row":
            if self.current:
                self.ready.append((self.row_number, self.current))
            self.current = {}
        elif name == "sheetData":
            self.done = True

    def value(self, text: str) -> Cell:
        kind = self.kind
        if kind == "s":
            if not text.strip():
                return ""
            if self.strings is None:
                raise refused("invalid_xlsx", "a cell names a shared string, but the workbook has none")
            return self.strings.get(text.strip())
        if kind in ("inlineStr", "str", "e"):
            return text
        if kind == "b":
            return {"1": "true", "0": "false"}.get(text.strip(), text)
        if kind == "d":
            try:
                return dt.date.fromisoformat(text.strip()[:10])
            except ValueError:
                return text
        if not text.strip():
            return ""
        number = excel_number(text)
        if number is None:
            return text
        if self.style < len(self.date_styles) and self.date_styles[self.style]:
            return excel_serial_date(number, date1904=self.date1904) or number
        return number


# --- the workbook --------------------------------------------------------------------------------------------

@dataclass
class _Layout:
    archive: zipfile.ZipFile
    sheet_names: list[str]
    sheet_part: str
    strings_part: str | None
    styles_part: str | None
    date1904: bool
    expanded: int


def _layout(source: Path | IO[bytes], sheet: str | None, limits: XlsxLimits) -> _Layout:
    archive = open_archive(source)
    try:
        check_archive(archive, limits)
        names = set(archive.namelist())
        package = Relationships("_rels/.rels", limits)
        if "_rels/.rels" in names:
            package.read(archive)
        workbook_part = package.of_kind("officeDocument") or "xl/workbook.xml"
        if workbook_part not in names:
            raise refused("invalid_xlsx", "the file is not a valid XLSX workbook (it has no workbook part)")
        workbook = WorkbookIndex(workbook_part, limits)
        workbook.read(archive)
        if not workbook.sheets:
            raise refused("empty_file", "the workbook has no sheets")
        sheet_names = [title for title, _ in workbook.sheets]
        if sheet is not None and sheet not in sheet_names:
            raise refused("sheet_not_found", f"no sheet {sheet!r}; the workbook has {sheet_names[:50]}")
        folder, base = posixpath.split(workbook_part)
        rels = Relationships(posixpath.join(folder, "_rels", base + ".rels"), limits)
        if rels.name in names:
            rels.read(archive)
        rid = dict(workbook.sheets)[sheet] if sheet is not None else workbook.sheets[0][1]
        _, sheet_part = rels.targets.get(rid, ("", ""))
        if sheet_part not in names:
            raise refused("invalid_xlsx", "the sheet's part is missing from the workbook")
        strings_part = rels.of_kind("sharedStrings")
        styles_part = rels.of_kind("styles")
        return _Layout(archive, sheet_names, sheet_part, strings_part if strings_part in names else None,
                       styles_part if styles_part in names else None, workbook.date1904,
                       sum(i.file_size for i in archive.infolist()))
    except BaseException:
        archive.close()
        raise


def _head_of_strings(layout: _Layout, limits: XlsxLimits) -> None:
    if layout.strings_part is None:
        return
    with tempfile.TemporaryFile(prefix="recaudo-strings-") as store:
        strings = SharedStrings(layout.strings_part, limits, store)
        for _ in strings.feed(layout.archive):
            if strings.declared is not None or len(strings) or strings.fed > 1024 * 1024:
                break


def inspect_xlsx(path: Path, *, sheet: str | None, limits: XlsxLimits) -> list[str]:
    """What the door checks before a workbook is queued: that it opens and is no zip bomb, its sheets (how many,
    and that `sheet` is one), the chosen sheet's declared dimension and the declared count of shared strings,
    and no DTD in any of those parts. A small workbook (under `limits.door_scan_bytes` expanded) is read whole
    too, so every limit is checked before the upload is accepted. Returns the sheet names."""
    layout = _layout(path, sheet, limits)
    try:
        if layout.expanded <= limits.door_scan_bytes:
            _, rows, _ = _read(layout, limits)
            for _ in rows:
                pass
        else:
            _head_of_strings(layout, limits)
            _Sheet(layout.sheet_part, limits, None, [], False, head_only=True).read(layout.archive)
        return layout.sheet_names
    finally:
        layout.archive.close()


class SheetRows(NamedTuple):
    """A sheet as xlsx_rows reads it."""

    header: list[str]
    rows: Rows  # with their sheet row numbers
    progress: Callable[[], float]  # the share of the sheet read so far
    # The workbook's date system: a number cell in a date column (General-formatted, so it arrives as a Decimal)
    # is a serial day number counted in it, which only the workbook says (see money.excel_serial_date).
    date1904: bool


def xlsx_rows(source: Path | IO[bytes], *, sheet: str | None, limits: XlsxLimits) -> SheetRows:
    """Header, rows, the share read so far and the date system of one sheet. Number cells arrive as exact
    Decimals, date-styled ones as dates (in the workbook's date system); every limit is checked as the sheet
    streams."""
    layout = _layout(source, sheet, limits)
    try:
        return SheetRows(*_read(layout, limits, owns_archive=True), layout.date1904)
    except BaseException:
        layout.archive.close()
        raise


def _read(layout: _Layout, limits: XlsxLimits, *, owns_archive: bool = False
          ) -> tuple[list[str], Rows, Callable[[], float]]:
    store = tempfile.TemporaryFile(prefix="recaudo-strings-")
    try:
        strings = None
        if layout.strings_part is not None:
            strings = SharedStrings(layout.strings_part, limits, store)
            strings.read(layout.archive)
            strings.finish()
        styles = Styles(layout.styles_part, limits) if layout.styles_part else None
        if styles is not None:
            styles.read(layout.archive)
        sheet = _Sheet(layout.sheet_part, limits, strings, styles.date_styles if styles else [], layout.date1904)
        size = max(1, layout.archive.getinfo(layout.sheet_part).file_size)
        feeding = sheet.feed(layout.archive)
        header = _header(sheet, feeding)
    except BaseException:
        store.close()
        raise

    def rows() -> Rows:
        try:
            more = True
            while more:
                more = next(feeding, _END) is not _END
                ready, sheet.ready = sheet.ready, []
                for number, cells in ready:
                    yield _listed(number, cells)
        finally:
            store.close()
            if owns_archive:
                layout.archive.close()

    return header, rows(), lambda: min(1.0, sheet.fed / size)


def _header(sheet: _Sheet, feeding: Iterator[Any]) -> list[str]:
    while not sheet.ready:
        if next(feeding, _END) is _END:
            raise refused("empty_file", "the sheet has no header row")
    _, cells = sheet.ready.pop(0)
    return checked_header([_text(cells.get(i, "")).strip() for i in range(max(cells) + 1)])


def _listed(number: int, cells: dict[int, Cell]) -> tuple[int, list[Cell]]:
    return number, [cells.get(i, "") for i in range(max(cells) + 1)]


def _text(cell: Cell) -> str:
    if isinstance(cell, Decimal):
        return format(cell, "f")
    if isinstance(cell, dt.date):
        return cell.isoformat()
    return cell
