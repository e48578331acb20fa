"""Reading tabular files (portfolios, bank statements) into a header and rows, streamed: CSV (delimiter and
encoding detected), JSON lines and XLSX. Cells are text, or typed values (Decimal, date) where the file has them."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import json
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

DELIMITERS = ",;|\t"
Cell = str | Decimal | dt.date
Rows = Iterator[tuple[int, list[Cell]]]


class FileFormatError(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code, self.detail = code, detail


@dataclass(frozen=True)
class Sniffed:
    kind: str  # csv, jsonl, xlsx
    encoding: str
    delimiter: str


XLSX_MAGIC = b"PK\x03\x04"
MAX_COLUMNS = 500  # a portfolio has a few dozen; a header wider than this is junk or an attack
MAX_COLUMN_NAME = 200


def checked_header(header: list[str]) -> list[str]:
    """The header, if it is one a person could have written; else a FileFormatError that says why."""
    if len(header) > MAX_COLUMNS:
        raise FileFormatError("too_many_columns", f"the header has {len(header)} columns; at most {MAX_COLUMNS}")
    if any(len(h) > MAX_COLUMN_NAME for h in header):
        raise FileFormatError("invalid_header", f"a column name is longer than {MAX_COLUMN_NAME} characters")
    return header


def text_encoding(name: str) -> str:
    """`name` if it is a codec that turns bytes into text (not rot13, zlib or base64, which Python also knows)."""
    try:
        if not name.isascii() or not name.replace("-", "").replace("_", "").isalnum():
            raise LookupError(name)  # Python would otherwise read "utfé" as some codec of its choosing
        codecs.lookup(name)
        b"a".decode(name, errors="ignore")  # a bytes-to-bytes or text-to-text codec refuses here
    except (LookupError, ValueError, TypeError) as exc:
        raise FileFormatError("invalid_encoding", f"{name!r} is not a text encoding") from exc
    return name


def sniff(head: bytes, *, filename: str | None, encoding: str | None, delimiter: str | None) -> Sniffed:
    """Decides the format, encoding and delimiter from the first bytes (and the name, if any)."""
    name = (filename or "").lower()
    if head.startswith(XLSX_MAGIC) or name.endswith((".xlsx", ".xlsm")):
        return Sniffed("xlsx", "binary", "")
    if b"\x00" in head[:4096]:
        raise FileFormatError("unsupported_format", "the file is binary: send CSV, XLSX or JSON lines")
    chosen = text_encoding(encoding or detect_encoding(head))
    text = head.decode(chosen, errors="ignore").lstrip("\ufeff")
    if name.endswith((".jsonl", ".ndjson")) or text.lstrip().startswith("{"):
        return Sniffed("jsonl", chosen, "")
    return Sniffed("csv", chosen, delimiter or sniff_delimiter(text))


def detect_encoding(head: bytes) -> str:
    """UTF-8 (with or without BOM) when the bytes are valid UTF-8; otherwise Windows-1252 (a superset of
    Latin-1's printable range, which is what Latin American spreadsheets export)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(head, final=False)  # a character cut at the end of the sample is not an error
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8-sig"


def sniff_delimiter(text: str) -> str:
    """The candidate that splits the header line most (quoted text ignored)."""
    header = next(iter(text.splitlines()), "")
    best, best_count = ",", 0
    for d in DELIMITERS:
        try:
            count = len(next(csv.reader([header], delimiter=d))) - 1
        except (csv.Error, StopIteration):
            count = 0
        if count > best_count:
            best, best_count = d, count
    return best


def decode_lines(chunks: Iterable[bytes], encoding: str) -> Iterator[str]:
    """Lines with their endings, decoded incrementally: the file is never held whole."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    pending = ""
    try:
        for chunk in chunks:
            pending += decoder.decode(chunk)
            lines = pending.splitlines(keepends=True)
            pending = lines.pop() if lines and not lines[-1].endswith(("\n", "\r")) else ""
            yield from lines
        pending += decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise FileFormatError("invalid_encoding",
                              f"the file is not valid {encoding}; send encoding=windows-1252 or utf-8") from exc
    if pending:
        yield pending


def csv_rows(chunks: Iterable[bytes], sniffed: Sniffed) -> tuple[list[str], Rows]:
    csv.field_size_limit(64 * 1024 * 1024)
    reader = csv.reader(decode_lines(chunks, sniffed.encoding), delimiter=sniffed.delimiter)
    try:
        header = [h.strip().lstrip("\ufeff") for h in next(reader)]
        while not any(header):  # blank lines before the header
            header = [h.strip().lstrip("\ufeff") for h in next(reader)]
        checked_header(header)
    except StopIteration as exc:
        raise FileFormatError("empty_file", "the file has no header row") from exc
    except csv.Error as exc:
        raise FileFormatError("malformed_csv", f"the header row cannot be read: {exc}") from exc

    def rows() -> Rows:
        number = 1
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise FileFormatError("malformed_csv", f"row {number + 1} cannot be read: {exc}") from exc
            number += 1
            if any(f.strip() for f in fields):
                yield number, list(fields)

    return header, rows()


def jsonl_rows(chunks: Iterable[bytes], sniffed: Sniffed, *, header_sample: int = 1000) -> tuple[list[str], Rows]:
    """The header is the union of the keys of the first records (later unknown keys are kept as extras)."""
    lines = decode_lines(chunks, sniffed.encoding)
    buffered: list[tuple[int, dict[str, object]]] = []
    header: list[str] = []

    def parse(number: int, line: str) -> dict[str, object] | None:
        if not line.strip():
            return None
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            return {"_unparseable_line": line.strip()[:10_000]}
        return value if isinstance(value, dict) else {"_unparseable_line": line.strip()[:10_000]}

    iterator = enumerate(lines, start=2)
    for number, line in iterator:
        record = parse(number, line)
        if record is None:
            continue
        buffered.append((number, record))
        known = set(header)
        header.extend(k for k in record if k not in known)
        checked_header(header)
        if len(buffered) >= header_sample:
            break
    if not header:
        raise FileFormatError("empty_file", "the file has no records")

    def cells(record: dict[str, object]) -> list[Cell]:
        return [_json_cell(record.get(h)) for h in header]

    def filled(record: dict[str, object]) -> bool:
        return any(v not in (None, "") for v in record.values())  # an all-empty record is skipped

    def rows() -> Rows:
        for number, record in buffered:
            if filled(record):
                yield number, cells(record)
        for number, line in iterator:
            later = parse(number, line)
            if later is not None and filled(later):
                yield number, cells(later)

    return header, rows()


def _json_cell(value: object) -> Cell:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return Decimal(repr(value))
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def check_xlsx(path: Path, *, max_uncompressed: int, max_ratio: float) -> None:
    """Refuses archives whose decompressed size or ratio is absurd (zip bombs) before any parsing."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except zipfile.BadZipFile as exc:
        raise FileFormatError("invalid_xlsx", "the file is not a valid XLSX workbook") from exc
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos) or 1
    if total > max_uncompressed or (total > 10 * 1024 * 1024 and total / packed > max_ratio):
        raise FileFormatError("xlsx_too_large",
                              f"the workbook expands to {total} bytes ({total / packed:.0f}x): refused as a zip bomb")


def xlsx_sheet_names(path: Path, *, sheet: str | None) -> list[str]:
    """The workbook's sheets, read from its index alone (no sheet is loaded); checks that `sheet` is one."""
    from python_calamine import CalamineWorkbook

    try:
        names = list(CalamineWorkbook.from_path(str(path)).sheet_names)
    except Exception as exc:  # calamine raises its own error types for broken workbooks
        raise FileFormatError("invalid_xlsx", f"the workbook cannot be read: {type(exc).__name__}") from exc
    if not names:
        raise FileFormatError("empty_file", "the workbook has no sheets")
    if sheet is not None and sheet not in names:
        raise FileFormatError("sheet_not_found", f"no sheet {sheet!r}; the workbook has {names}")
    return names


def xlsx_rows(path: Path, *, sheet: str | None) -> tuple[list[str], Rows, int]:
    """Header, rows and the sheet's height. Number cells arrive as Decimal, date cells as dates."""
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        names = workbook.sheet_names
        if sheet is not None and sheet not in names:
            raise FileFormatError("sheet_not_found", f"no sheet {sheet!r}; the workbook has {names}")
        data = workbook.get_sheet_by_name(sheet) if sheet else workbook.get_sheet_by_index(0)
    except FileFormatError:
        raise
    except Exception as exc:  # calamine raises its own error types for broken workbooks
        raise FileFormatError("invalid_xlsx", f"the workbook cannot be read: {type(exc).__name__}") from exc
    iterator = iter(data.iter_rows())
    try:
        header = checked_header([_xlsx_text(c).strip() for c in next(iterator)])
    except StopIteration as exc:
        raise FileFormatError("empty_file", "the sheet has no header row") from exc

    def rows() -> Rows:
        for number, raw in enumerate(iterator, start=2):
            values = [_xlsx_cell(c) for c in raw]
            if any(v != "" for v in values):
                yield number, values

    return header, rows(), int(data.height)


def _xlsx_text(value: object) -> str:
    cell = _xlsx_cell(value)
    return cell if isinstance(cell, str) else str(cell)


def _xlsx_cell(value: object) -> Cell:
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float):
        return Decimal(repr(value))
    return str(value)
