"""A file's encoding is detected from its first bytes; a Windows-1252 file whose first accented letter comes after
them (a portfolio sorted by account, a Muñoz on row 3,000) is still read as Windows-1252, not refused."""

from __future__ import annotations

import pytest

from recaudo_common.files import FileFormatError, csv_rows, jsonl_rows, sniff

pytestmark = pytest.mark.unit

HEAD = 64 * 1024  # what ingest and payments sniff


def chunked(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)]


def portfolio(last_name: str, *, rows: int = 3000) -> str:
    plain = "".join(f"A-{i};{i};Ana Perez;1.000;5\n" for i in range(rows))
    return f"Obligacion;Cedula;Nombre;Saldo;Mora\n{plain}B-1;9;{last_name};1.000;5\n"


@pytest.mark.parametrize("chunk", [1024 * 1024, 4096, 7])
def test_a_windows_1252_file_accented_only_after_the_sniffed_bytes_is_read_as_windows_1252(chunk: int) -> None:
    data = portfolio("Muñoz Peña").encode("cp1252")
    assert len(data) > HEAD and data[:HEAD].isascii()
    sniffed = sniff(data[:HEAD], filename="cartera.csv", encoding=None, delimiter=None)
    header, rows = csv_rows(chunked(data, chunk), sniffed)
    read = list(rows)
    assert header == ["Obligacion", "Cedula", "Nombre", "Saldo", "Mora"]
    assert len(read) == 3001 and read[-1] == (3002, ["B-1", "9", "Muñoz Peña", "1.000", "5"])


def test_a_json_lines_file_in_windows_1252_is_read_so_too() -> None:
    lines = "".join(f'{{"cuenta": "A-{i}", "nombre": "Ana"}}\n' for i in range(3000)) \
        + '{"cuenta": "B", "nombre": "Ñandú"}\n'
    data = lines.encode("cp1252")
    sniffed = sniff(data[:HEAD], filename="cartera.jsonl", encoding=None, delimiter=None)
    _, rows = jsonl_rows(chunked(data, 4096), sniffed)
    assert list(rows)[-1] == (3002, ["B", "Ñandú"])


def test_a_mixed_file_is_refused() -> None:
    # A UTF-8 letter read first names the file UTF-8: a Windows-1252 byte after it is a mixed file, not a switch.
    data = ("Obligacion;Cedula;Nombre;Saldo;Mora\nB-0;9;Muñoz;1.000;5\n".encode()
            + portfolio("Peña").split("\n", 1)[1].encode("cp1252"))
    sniffed = sniff(data[:HEAD], filename="cartera.csv", encoding=None, delimiter=None)
    _, rows = csv_rows(chunked(data, 4096), sniffed)
    with pytest.raises(FileFormatError) as refused:
        list(rows)
    assert refused.value.code == "invalid_encoding"


def test_an_encoding_the_client_declared_is_kept_to() -> None:
    data = portfolio("Muñoz").encode("cp1252")
    sniffed = sniff(data[:HEAD], filename="cartera.csv", encoding="utf-8", delimiter=None)
    _, rows = csv_rows(chunked(data, 4096), sniffed)
    with pytest.raises(FileFormatError) as refused:
        list(rows)
    assert refused.value.code == "invalid_encoding"


def test_a_utf8_file_with_a_byte_order_mark_is_not_switched() -> None:
    data = "\ufeff".encode() + portfolio("Muñoz").encode("cp1252")
    sniffed = sniff(data[:HEAD], filename="cartera.csv", encoding=None, delimiter=None)
    _, rows = csv_rows(chunked(data, 4096), sniffed)
    with pytest.raises(FileFormatError) as refused:
        list(rows)
    assert refused.value.code == "invalid_encoding"
