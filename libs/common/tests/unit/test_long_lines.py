"""CSV records and JSON lines of extreme length are refused in linear time and bounded memory, and the line
splitter still splits exactly where str.splitlines would, however the file is cut into chunks."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recaudo_common.files import FileFormatError, Sniffed, csv_rows, decode_lines, jsonl_rows

pytestmark = pytest.mark.unit
CSV = Sniffed("csv", "utf-8", ";")
JSONL = Sniffed("jsonl", "utf-8", "")
MiB = 1024 * 1024


def stream(*parts: tuple[bytes, int]) -> Iterator[bytes]:
    """The file as 1 MiB chunks, each part repeated: 200 MB is streamed without being held."""
    for block, times in parts:
        for _ in range(times):
            yield block


def refused_quickly(read: Callable[[], object]) -> tuple[FileFormatError, float, int]:
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(FileFormatError) as refused:
            read()
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return refused.value, elapsed, peak


def drain(header_and_rows: tuple[list[str], Iterator[object]]) -> None:
    for _ in header_and_rows[1]:
        pass


@pytest.mark.parametrize("where", ["unquoted", "quoted field of short lines", "unclosed quote"])
def test_a_200_megabyte_record_is_refused_in_linear_time_and_bounded_memory(where: str) -> None:
    header = (b"Cuenta;Cedula;Nombre;Saldo;Mora\nA-1;1;Ana;1.000;5\n", 1)
    body = {"unquoted": [(b"A-2;2;", 1), (b"x" * MiB, 200)],
            "quoted field of short lines": [(b'A-2;2;"', 1), (b"xxxxxxxxxxxxxxx\n" * 65536, 200)],
            "unclosed quote": [(b'A-2;2;"Ana;1.000;5\n', 1), (b"A-3;3;Luis;2.000;6\n" * 55188, 200)]}[where]
    error, elapsed, peak = refused_quickly(lambda: drain(csv_rows(stream(header, *body), CSV)))
    assert error.code == "line_too_long" and "1048576 characters" in error.detail
    assert elapsed < 5, elapsed  # it stops within the first few MB: nothing like 200 MB is read, let alone twice
    assert peak < 16 * MiB, peak


def test_the_cap_is_linear_a_record_just_under_it_is_read() -> None:
    line = "A-1;1;" + "x" * (MiB - 100) + ";1.000;5\n"
    _, rows = csv_rows(stream((b"Cuenta;Cedula;Nombre;Saldo;Mora\n", 1), (line.encode(), 30)), CSV)
    started = time.monotonic()
    assert sum(1 for _ in rows) == 30
    assert time.monotonic() - started < 5  # 30 MB of long lines: each character looked at a few times


def test_a_header_line_too_long_is_an_invalid_header() -> None:
    error, _, _ = refused_quickly(lambda: csv_rows(stream((b"x" * MiB, 20), (b"\n", 1)), CSV))
    assert error.code == "invalid_header"
    error, _, _ = refused_quickly(lambda: jsonl_rows(stream((b'{"' + b"x" * MiB, 20), (b'": 1}\n', 1)), JSONL))
    assert error.code == "invalid_header"
    # A header past the cap that already holds more than 500 columns is too wide rather than invalid.
    wide = ";".join(f"c{i}" for i in range(300_000)).encode() + b"\n"
    assert refused_quickly(lambda: csv_rows(iter([wide]), CSV))[0].code == "too_many_columns"
    keys = b"{" + b", ".join(b'"k%d": %d' % (i, i) for i in range(100_000)) + b"}\n"
    assert refused_quickly(lambda: jsonl_rows(iter([keys]), JSONL))[0].code == "too_many_columns"


def test_a_row_of_too_many_fields_is_refused_and_trailing_empty_fields_are_not_columns() -> None:
    header = b"Cuenta;Cedula;Nombre;Saldo;Mora\n"
    _, rows = csv_rows(iter([header + b"A-1;1;Ana;1.000;5" + b";" * 5000 + b"\n"]), CSV)
    assert [len(cells) for _, cells in rows] == [5]
    _, rows = csv_rows(iter([header + b"A-1;1;Ana;1.000;5" + b";1" * 5000 + b"\n"]), CSV)
    with pytest.raises(FileFormatError) as refused:
        list(rows)
    assert refused.value.code == "too_many_columns"


def test_a_long_json_line_is_refused_and_hostile_values_are_text_not_crashes() -> None:
    first = b'{"account_ref": "J-1", "balance": 1234567.89, "days_past_due": 3}\n'
    error, elapsed, peak = refused_quickly(  # the header is sampled from the first records: refused right there
        lambda: drain(jsonl_rows(stream((first, 1), (b'{"account_ref": "', 1), (b"x" * MiB, 200)), JSONL)))
    assert error.code == "line_too_long" and elapsed < 5 and peak < 16 * MiB
    hostile = [b'{"account_ref": "J-2", "balance": Infinity}', b'{"account_ref": "J-3", "balance": NaN}',
               b'{"account_ref": "J-4", "balance": 1e999999999}', b'{"account_ref": "J-5", "balance": ' +
               b"9" * 5000 + b"}", b"[" * 100_000 + b"]" * 100_000, b'{"account_ref": "J-6", "balance": -0.5}']
    _, rows = jsonl_rows(iter([first + b"\n".join(hostile) + b"\n"]), JSONL)
    cells = {row[0]: row for _, row in rows if row[0]}
    assert cells["J-1"][1] == Decimal("1234567.89")  # exact: no float on the way
    assert (cells["J-2"][1], cells["J-3"][1], cells["J-4"][1]) == ("Infinity", "NaN", "1E+999999999")
    assert cells["J-6"][1] == Decimal("-0.5")
    assert len(list(jsonl_rows(iter([first + b"\n".join(hostile)]), JSONL)[1])) == 7  # J-5, the nest: unparseable


line_text = st.text(alphabet=st.sampled_from(list("ab;\"\r\n\x0b\x0c\x1c\x85\u2028é")), max_size=200)


def records_of(text: str) -> list[str]:
    """The lines a CSV reader sees, one character at a time: each ends at \n, \r\n or \r, nowhere else."""
    out, current, i = [], "", 0
    while i < len(text):
        current += text[i]
        if text[i] in "\r\n":
            if text[i] == "\r" and text[i + 1:i + 2] == "\n":
                current, i = current + "\n", i + 1
            out.append(current)
            current = ""
        i += 1
    return [*out, current] if current else out


@given(text=line_text, cuts=st.lists(st.integers(0, 400), max_size=8), encoding=st.sampled_from(["utf-8", "cp1252"]))
def test_lines_end_at_cr_and_lf_alone_whatever_the_chunks(text: str, cuts: list[int], encoding: str) -> None:
    data = text.encode(encoding, errors="replace")
    points = sorted({c % (len(data) + 1) for c in cuts})
    chunks = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    assert list(decode_lines(iter(chunks), encoding)) == records_of(data.decode(encoding))
