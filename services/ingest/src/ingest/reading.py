"""How an uploaded file is read under its limits: what the door checks before queueing it (`preflight`), and
how the worker opens its rows. The limits are settings (see main.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, NamedTuple

from ingest.domain.portfolio import map_columns
from ingest.records import UploadParams
from recaudo_common.files import MAX_LINE_CHARS, Rows, csv_rows, jsonl_keys, jsonl_rows, sniff
from recaudo_common.xlsx import XlsxLimits as WorkbookLimits
from recaudo_common.xlsx import inspect_xlsx, xlsx_rows


@dataclass(frozen=True)
class FileLimits(WorkbookLimits):
    """What reading an uploaded file may cost (settings): checked at the door, and again by the worker."""

    max_line_chars: int = MAX_LINE_CHARS  # a CSV record or a JSON line
    # A file this large or larger is read and checked in a process of its own beside the worker (row_checking):
    # starting one costs about a second, which a small upload would notice and a large one does not.
    own_process_from_bytes: int = 8 * 1024**2


def preflight(path: Path, *, filename: str | None, params: UploadParams, limits: FileLimits) -> None:
    """What can be known of an upload without reading its rows: format, encoding, the header and its mapping (and,
    for a workbook, that it opens, is no bomb of any kind and has the sheet asked for: see inspect_xlsx). Raises
    FileFormatError or MappingError; row-level problems are the worker's, row by row."""
    with path.open("rb") as handle:
        head = handle.read(64 * 1024)
        sniffed = sniff(head, filename=filename, encoding=params.encoding, delimiter=params.delimiter)
        if sniffed.kind == "xlsx":
            inspect_xlsx(path, sheet=params.sheet, limits=limits)
            return
        handle.seek(0)
        reader = CountingReader(handle)
        header, rows = jsonl_rows(reader.chunks(), sniffed, max_line_chars=limits.max_line_chars) \
            if sniffed.kind == "jsonl" else csv_rows(reader.chunks(), sniffed, max_line_chars=limits.max_line_chars)
        map_columns(header, params.mapping)
        # The file's start is read at the door too: a runaway line there is refused at once.
        while reader.consumed <= limits.door_scan_bytes and next(rows, None) is not None:
            pass


class CountingReader:
    """Reads a spooled file in chunks and counts the bytes, for progress."""

    def __init__(self, handle: BinaryIO) -> None:
        self.handle, self.consumed = handle, 0

    def chunks(self) -> Iterator[bytes]:
        while chunk := self.handle.read(1024 * 1024):
            self.consumed += len(chunk)
            yield chunk


class OpenFile(NamedTuple):
    """An upload's file open for its rows."""

    header: list[str]
    rows: Rows
    progress: Callable[[], float]  # how far into the file the rows have got (0..1)
    # A workbook saved in the 1904 date system: its serial day numbers (a date column's General-formatted
    # numbers) count from 1904. A CSV or JSON-lines file has no date system of its own: 1900, Excel's default.
    date1904: bool = False
    # A delimited file's fields are placed by counting separators, so a row with more than the header's has slid
    # (ingest.domain.portfolio.too_many_fields); a sheet's cells are placed by their column and cannot.
    delimited: bool = False


def open_rows(path: Path, filename: str | None, params: UploadParams, reader: CountingReader,
              size: int, limits: FileLimits) -> OpenFile:
    """The file's header, its rows, how far into it they have got, and its date system."""
    with path.open("rb") as handle:
        head = handle.read(64 * 1024)
    sniffed = sniff(head, filename=filename, encoding=params.encoding, delimiter=params.delimiter)
    if sniffed.kind == "xlsx":
        return OpenFile(*xlsx_rows(path, sheet=params.sheet, limits=limits))
    if sniffed.kind == "jsonl":
        with path.open("rb") as keys_of:  # a pass of its own for every key: a record may name one first late
            keys = jsonl_keys(CountingReader(keys_of).chunks(), sniffed, max_line_chars=limits.max_line_chars)
        header, rows = jsonl_rows(reader.chunks(), sniffed, max_line_chars=limits.max_line_chars, keys=keys)
    else:
        header, rows = csv_rows(reader.chunks(), sniffed, max_line_chars=limits.max_line_chars)
    return OpenFile(header, rows, lambda: reader.consumed / size, delimited=sniffed.kind == "csv")
