"""Reading portfolio files into header + rows: encoding and delimiter detection, CSV and JSON lines."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

DELIMITERS = ",;|\t"


class FileFormatError(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code, self.detail = code, detail


def decode(content: bytes, encoding: str | None = None) -> str:
    """UTF-8 (with or without BOM) first; Windows-1252 when the bytes are not UTF-8."""
    if encoding:
        try:
            return content.decode(encoding)
        except (LookupError, UnicodeDecodeError) as exc:
            raise FileFormatError("invalid_encoding", f"the file is not valid {encoding}") from exc
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return content.decode("cp1252", errors="replace")


def sniff_delimiter(sample: str) -> str:
    header = sample.split("\n", 1)[0]
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def read_rows(content: bytes, *, encoding: str | None = None, delimiter: str | None = None,
              filename: str | None = None) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The header and an iterator of (sheet row number, fields); blank lines are counted, not yielded."""
    text = decode(content, encoding)
    if (filename or "").lower().endswith((".jsonl", ".ndjson")) or text.lstrip().startswith("{"):
        return _json_lines(text)
    delim = delimiter or sniff_delimiter(text[:65536])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    try:
        header = next(reader)
    except StopIteration as exc:
        raise FileFormatError("empty_file", "the file has no header row") from exc
    header = [h.strip() for h in header]

    def rows() -> Iterator[tuple[int, list[str]]]:
        for number, fields in enumerate(reader, start=2):
            if any(f.strip() for f in fields):
                yield number, fields

    return header, rows()


def _json_lines(text: str) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    lines = text.splitlines()
    records: list[tuple[int, dict[str, object]]] = []
    for number, line in enumerate(lines, start=2):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            value = {"_invalid_json": line}
        records.append((number, value if isinstance(value, dict) else {"_invalid_json": line}))
    header: list[str] = []
    for _, record in records:
        for k in record:
            if k not in header:
                header.append(k)

    def rows() -> Iterator[tuple[int, list[str]]]:
        for number, record in records:
            yield number, ["" if record.get(h) is None else str(record.get(h)) for h in header]

    return header, rows()
