"""Reading tabular files (portfolios, bank statements) into a header and rows, streamed: CSV (delimiter and
encoding detected: UTF-8, Windows-1252, UTF-16 with its mark) and JSON lines here, XLSX in recaudo_common.xlsx.
Cells are text, or typed values (Decimal, date) where the file has them. Lines and records are capped, so memory
and time stay linear in the file."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import itertools
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

DELIMITERS = ",;|\t"
Cell = str | Decimal | dt.date
Rows = Iterator[tuple[int, list[Cell]]]


class FileFormatError(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code, self.detail = code, detail

    def __reduce__(self) -> tuple[type[FileFormatError], tuple[str, str]]:
        # Pickled as its code and detail, what a refused upload shows (Exception's own pickling keeps only the
        # detail): ingest's checking process sends it to the worker. A subclass crosses as this class.
        return FileFormatError, (self.code, self.detail)


@dataclass(frozen=True)
class Sniffed:
    kind: str  # csv, jsonl, xlsx
    encoding: str
    delimiter: str
    # What the file is read as instead if a later byte proves the detected UTF-8 wrong before any letter past ASCII
    # was read: a Windows-1252 file's first accented letter may come after the bytes the detection saw.
    fallback: str | None = None


XLSX_MAGIC = b"PK\x03\x04"
MAX_COLUMNS = 500  # a portfolio has a few dozen; a header wider than this is junk or an attack
MAX_COLUMN_NAME = 200
# A portfolio row is a few hundred characters; a line (or a quoted record spanning lines) of a million is junk,
# an unterminated quote or an attack, and every longer one would be held whole in memory to be parsed.
MAX_LINE_CHARS = 1024 * 1024
# A CSV record ends at \n, \r\n or \r, and nowhere else: str.splitlines would also split at \v, \f, \x1c-\x1e,
# \x85, U+2028 and U+2029, which a spreadsheet's cell or a JSON string (JavaScript's JSON.stringify leaves U+2028
# as it is) may hold; each such row would become two broken ones and every later row number shift.
LINE_BREAKS = frozenset("\n\r")
_LINES = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


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
    chosen = text_encoding(encoding or utf16_marked(head) or detect_encoding(head))
    # UTF-16 text is half NUL bytes; anything else with one is binary. Without its mark, UTF-16 is read only when
    # declared: nothing else tells it from a binary file.
    if b"\x00" in head[:4096] and codecs.lookup(chosen).name not in UTF16_CODECS:
        raise FileFormatError("unsupported_format", "the file is binary: send CSV, XLSX or JSON lines")
    # Only a detected UTF-8 may turn out to be Windows-1252: not one the client declared, nor one a BOM announces.
    fallback = "cp1252" if encoding is None and chosen == "utf-8-sig" and not head.startswith(codecs.BOM_UTF8) \
        else None
    text = head.decode(chosen, errors="ignore").lstrip("\ufeff")
    if name.endswith((".jsonl", ".ndjson")) or text.lstrip().startswith("{"):
        return Sniffed("jsonl", chosen, "", fallback)
    return Sniffed("csv", chosen, delimiter or sniff_delimiter(text), fallback)


UTF16_CODECS = frozenset({"utf-16", "utf-16-le", "utf-16-be"})


def utf16_marked(head: bytes) -> str | None:
    """"utf-16" when the bytes start with a UTF-16 byte-order mark (either order), as Excel's "Texto Unicode (*.txt)"
    saves a sheet; the codec reads the mark, and the order it names, and drops it. UTF-32's little-endian mark
    starts as UTF-16's does: it is no UTF-16 file (whose first character would be NUL)."""
    if head.startswith(codecs.BOM_UTF32_LE) or not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None
    return "utf-16"


def detect_encoding(head: bytes) -> str:
    """UTF-8 (with or without BOM) when the bytes are valid UTF-8; otherwise Windows-1252 (a superset of
    Latin-1's printable range, which is what Latin American spreadsheets export)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(head, final=False)  # a character cut at the end of the sample is not an error
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8-sig"


# Excel's instruction on a CSV's first line naming its separator ("sep=;", maybe quoted), written by systems that
# export for Excel so that it opens in columns whatever the regional settings; Excel shows no row for it.
_EXCEL_SEPARATOR = re.compile(r'"?sep=(.)"?[ ]*(?:\r\n|\r|\n)?', re.IGNORECASE)


def excel_separator(line: str) -> str | None:
    """The separator a file's first line names for Excel, if it is that instruction and names one of ours."""
    named = _EXCEL_SEPARATOR.fullmatch(line.lstrip("\ufeff"))
    return named.group(1) if named is not None and named.group(1) in DELIMITERS else None


def sniff_delimiter(text: str) -> str:
    """The separator the first line names for Excel (excel_separator); else the candidate that splits the header
    line most (quoted text ignored). The header is the first line with anything on it: the reading skips blank
    lines before it (an export whose first rows are empty), and one of them would leave every candidate at
    nothing, so `,`."""
    lines: Iterator[str] = (m.group(0) for m in _LINES.finditer(text))
    first = next(lines, "")
    if (named := excel_separator(first)) is not None:
        return named
    lines = itertools.chain([first], lines)
    header = next((line for line in lines if line.strip()), "").rstrip("\r\n")
    best, best_count = ",", 0
    for d in DELIMITERS:
        try:
            count = len(next(csv.reader([header], delimiter=d))) - 1
        except (csv.Error, StopIteration):
            count = 0
        if count > best_count:
            best, best_count = d, count
    return best


class LineTooLongError(FileFormatError):
    """A line or record past the cap; `start` is its first 64 Ki characters (to tell a header of a million
    columns from one enormous column name)."""

    def __init__(self, after: int, limit: int, start: str) -> None:
        super().__init__("line_too_long", f"the line after line {after} is longer than {limit} characters "
                                          "(an unclosed quote, or not a portfolio)")
        self.start = start[:65536]


def header_too_long(exc: LineTooLongError, limit: int, separator: str) -> FileFormatError:
    """What a header line past the cap is: too many columns if its start already holds more, else invalid."""
    columns = exc.start.count(separator) + 1
    if columns > MAX_COLUMNS:
        return FileFormatError("too_many_columns", f"the header has more than {columns - 1} columns; "
                                                   f"at most {MAX_COLUMNS}")
    return FileFormatError("invalid_header", f"the header row is longer than {limit} characters")


class _Utf8OrElse:
    """An incremental decoder reading UTF-8 until a byte proves the text is not, while all it has read is ASCII:
    then the file is in `fallback` (which reads ASCII alike) from that byte on. A byte invalid in UTF-8 after a
    letter past ASCII was read as UTF-8 is a mixed file, refused as any invalid byte."""

    def __init__(self, fallback: str) -> None:
        self.fallback = codecs.getincrementaldecoder(fallback)(errors="strict")
        self.pending = b""  # the start of a UTF-8 character cut at the end of a chunk
        self.switched, self.plain = False, True

    def decode(self, data: bytes, final: bool = False) -> str:
        if self.switched:
            return self.fallback.decode(data, final)
        whole = self.pending + data
        try:
            text, used = codecs.utf_8_decode(whole, "strict", final)
        except UnicodeDecodeError as exc:
            if not (self.plain and whole[:exc.start].isascii()):
                raise
            self.switched, self.pending = True, b""
            return self.fallback.decode(whole, final)
        self.pending = whole[used:]
        self.plain = self.plain and text.isascii()
        return text


def decode_lines(chunks: Iterable[bytes], encoding: str, *, max_line_chars: int = MAX_LINE_CHARS,
                 fallback: str | None = None) -> Iterator[str]:
    """Lines with their endings, decoded incrementally: the file is never held whole, each character is looked
    at a bounded number of times, and a line longer than `max_line_chars` is refused as soon as it is. With a
    `fallback` (Sniffed's), a UTF-8 file proved otherwise before any letter past ASCII is read in it."""
    decoder: _Utf8OrElse | codecs.IncrementalDecoder = \
        _Utf8OrElse(fallback) if fallback else codecs.getincrementaldecoder(encoding)(errors="strict")
    held: list[str] = []  # the parts of a line not yet ended
    held_chars = 0
    number = 0
    try:
        for chunk in _with_end(chunks):
            text = decoder.decode(chunk or b"", final=chunk is None)
            if held and held[-1][-1] == "\r" and (text or chunk is None):
                if text.startswith("\n"):  # "\r\n" cut between two chunks is one line end
                    held.append("\n")
                    text = text[1:]
                number += 1
                yield "".join(held)
                held, held_chars = [], 0
            lines = _LINES.findall(text)
            for index, line in enumerate(lines):
                held.append(line)
                held_chars += len(line)
                if held_chars > max_line_chars:
                    raise LineTooLongError(number, max_line_chars, "".join(held[:64]))
                ended = line[-1] in LINE_BREAKS and (line[-1] != "\r" or index < len(lines) - 1)
                if ended:  # a bare "\r" ending the text may be the first half of "\r\n"
                    number += 1
                    yield "".join(held)
                    held, held_chars = [], 0
    except UnicodeDecodeError as exc:
        read_as = fallback if isinstance(decoder, _Utf8OrElse) and decoder.switched else encoding
        raise FileFormatError("invalid_encoding",
                              f"the file is not valid {read_as}; send encoding=windows-1252 or utf-8") from exc
    if held:
        yield "".join(held)


def _with_end(chunks: Iterable[bytes]) -> Iterator[bytes | None]:
    yield from chunks
    yield None


class _RecordBudget:
    """Feeds lines to the csv reader and counts the characters of the record being read: a quote left open
    would otherwise gather the rest of the file into one field."""

    def __init__(self, lines: Iterator[str], limit: int) -> None:
        self.lines, self.limit, self.used, self.read = lines, limit, 0, 0
        self.start: list[str] = []

    def __iter__(self) -> Iterator[str]:
        for line in self.lines:
            self.used += len(line)
            if len(self.start) < 64:
                self.start.append(line)
            if self.used > self.limit:
                raise LineTooLongError(self.read, self.limit, "".join(self.start))
            self.read += 1
            yield line

    def next_record(self) -> None:
        self.used = 0
        self.start = []


def _without_excel_separator(lines: Iterator[str]) -> Iterator[str]:
    """The lines but a first one that is Excel's separator instruction: Excel shows no row for it. Lazy, so that
    a first line too long is found where the reading of the header expects it."""
    first = next(lines, None)
    if first is not None and excel_separator(first) is None:
        yield first
    yield from lines


def csv_rows(chunks: Iterable[bytes], sniffed: Sniffed, *,
             max_line_chars: int = MAX_LINE_CHARS) -> tuple[list[str], Rows]:
    """Header and rows. A record (one line, or several joined by a quoted line break) longer than
    `max_line_chars`, or of more than MAX_COLUMNS fields, stops the reading with a FileFormatError."""
    csv.field_size_limit(64 * 1024 * 1024)  # process-wide; the record budget below is the real cap
    lines = decode_lines(chunks, sniffed.encoding, max_line_chars=max_line_chars, fallback=sniffed.fallback)
    budget = _RecordBudget(_without_excel_separator(lines), max_line_chars)
    reader = csv.reader(budget, delimiter=sniffed.delimiter)
    # The header's row as a spreadsheet numbers it: the blank lines before it are rows too, so a record's number
    # is where the person who opens the file will find it (as a workbook's, which are its sheet's).
    at = 1
    try:
        header = [h.strip().lstrip("\ufeff") for h in next(reader)]
        while not any(header):  # blank lines before the header
            budget.next_record()
            header = [h.strip().lstrip("\ufeff") for h in next(reader)]
            at += 1
        checked_header(header)
    except StopIteration as exc:
        raise FileFormatError("empty_file", "the file has no header row") from exc
    except csv.Error as exc:
        raise FileFormatError("malformed_csv", f"the header row cannot be read: {exc}") from exc
    except LineTooLongError as exc:
        raise header_too_long(exc, max_line_chars, sniffed.delimiter) from exc

    def rows() -> Rows:
        number = at
        while True:
            budget.next_record()
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise FileFormatError("malformed_csv", f"row {number + 1} cannot be read: {exc}") from exc
            number += 1
            if len(fields) > MAX_COLUMNS:
                while len(fields) > len(header) and not fields[-1].strip():
                    fields.pop()  # trailing empty fields are an export's habit, not columns
                if len(fields) > MAX_COLUMNS:
                    raise FileFormatError("too_many_columns",
                                          f"row {number} has {len(fields)} fields; at most {MAX_COLUMNS}")
            if any(f.strip() for f in fields):
                yield number, list(fields)

    return header, rows()


class UnreadableLine(str):
    """The one cell of a JSON-lines row whose line is no JSON object (malformed, or an array, a string, a number):
    its text, so that the row is rejected for what it is and keeps the line, not read as a record of blank fields."""


class _Unreadable(dict[str, object]):
    """Such a line as a record: its text under a key no column has (a file of nothing else, its header sampled from
    them, is refused for its columns)."""


def jsonl_keys(chunks: Iterable[bytes], sniffed: Sniffed, *, max_line_chars: int = MAX_LINE_CHARS) -> list[str]:
    """Every key of a JSON-lines file's records, in the order first seen: the header that reads all of them. An
    exporter that leaves out empty fields may name a column first in its millionth record. A pass of its own over
    the file (a stream: keys alone are kept, at most MAX_COLUMNS of them)."""
    header: list[str] = []
    known: set[str] = set()
    for line in decode_lines(chunks, sniffed.encoding, max_line_chars=max_line_chars, fallback=sniffed.fallback):
        try:
            value = json.loads(line, parse_float=Decimal, parse_constant=str) if line.strip() else None
        except (ValueError, RecursionError):
            continue  # the reading proper rejects it as its row
        if isinstance(value, dict) and not known.issuperset(value):
            header.extend(k for k in value if k not in known)
            known.update(value)
            checked_header(header)
    return header


def jsonl_rows(chunks: Iterable[bytes], sniffed: Sniffed, *, header_sample: int = 1000,
               max_line_chars: int = MAX_LINE_CHARS, keys: list[str] | None = None) -> tuple[list[str], Rows]:
    """The header is `keys` when given (the whole file's: jsonl_keys), else the union of the keys of the first
    `header_sample` records (enough to map the columns at the door; a later record's key outside them is not
    read). A line longer than `max_line_chars` stops the reading with a FileFormatError."""
    lines = decode_lines(chunks, sniffed.encoding, max_line_chars=max_line_chars, fallback=sniffed.fallback)
    buffered: list[tuple[int, dict[str, object]]] = []
    header: list[str] = list(keys or [])

    def parse(number: int, line: str) -> dict[str, object] | None:
        if not line.strip():
            return None
        try:
            # Numbers as exact Decimals; NaN and Infinity stay text (no number a debt can be).
            value = json.loads(line, parse_float=Decimal, parse_constant=str)
        except (ValueError, RecursionError):  # malformed, an integer of 5,000 digits, or nested 100,000 deep
            return _Unreadable(_unparseable_line=line.strip()[:10_000])
        return value if isinstance(value, dict) else _Unreadable(_unparseable_line=line.strip()[:10_000])

    iterator = enumerate(lines, start=2)
    try:
        for number, line in iterator:
            record = parse(number, line)
            if record is None:
                continue
            buffered.append((number, record))
            if keys is not None:
                break  # the header is known: the rest is read as it comes
            known = set(header)
            header.extend(k for k in record if k not in known)
            checked_header(header)
            if len(buffered) >= header_sample:
                break
    except LineTooLongError as exc:
        if header:
            raise
        raise header_too_long(exc, max_line_chars, '":') from exc
    if not header:
        raise FileFormatError("empty_file", "the file has no records")

    def cells(record: dict[str, object]) -> list[Cell]:
        if type(record) is _Unreadable:
            return [UnreadableLine(record["_unparseable_line"])]
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


def bounded_number(value: Decimal) -> Decimal | None:
    """`value` if it is a number a cell can mean (finite, under 10^309); 1E+999999999 would be a billion digits
    the moment anything printed it whole."""
    return value if value.is_finite() and -308 <= value.adjusted() <= 308 else None


def _json_cell(value: object) -> Cell:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float | Decimal):
        number = value if isinstance(value, Decimal) else Decimal(repr(value) if isinstance(value, float) else value)
        bounded = bounded_number(number)
        return str(value) if bounded is None else bounded
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)
