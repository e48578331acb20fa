"""UTF-16 portfolio files as Excel's "Texto Unicode (*.txt)" saves them (little-endian, a byte-order mark, tabs):
detected by their mark and read as a stream, a chunk at a time; without the mark they are still refused."""

import codecs

import pytest

from recaudo_common.files import FileFormatError, csv_rows, sniff

pytestmark = pytest.mark.unit
TEXT = "Obligación\tCédula\tNombre\tSaldo\tMora\r\nA-1\t1\tMuñoz Peña\t1.500,50\t5\r\nA-2\t2\t李雷 😀\t2.000\t6\r\n"


@pytest.mark.parametrize(("bom", "codec"), [(codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")])
@pytest.mark.parametrize("chunk", [1, 3, 7, 64 * 1024])
def test_a_utf16_file_with_its_mark_is_read_in_chunks(bom: bytes, codec: str, chunk: int) -> None:
    content = bom + TEXT.encode(codec)
    sniffed = sniff(content[:65536], filename="cartera.txt", encoding=None, delimiter=None)
    assert (sniffed.kind, sniffed.delimiter) == ("csv", "\t")
    # Chunks cut anywhere, inside a two-byte unit or a surrogate pair (the emoji) included.
    header, rows = csv_rows((content[i:i + chunk] for i in range(0, len(content), chunk)), sniffed)
    assert header == ["Obligación", "Cédula", "Nombre", "Saldo", "Mora"]
    assert list(rows) == [(2, ["A-1", "1", "Muñoz Peña", "1.500,50", "5"]), (3, ["A-2", "2", "李雷 😀", "2.000", "6"])]


def test_utf16_without_its_mark_and_utf32_are_still_refused() -> None:
    for content in (TEXT.encode("utf-16-le"), TEXT.encode("utf-16-be"), TEXT.encode("utf-32")):
        with pytest.raises(FileFormatError) as refused:
            sniff(content, filename="cartera.txt", encoding=None, delimiter=None)
        assert refused.value.code == "unsupported_format"


def test_a_utf16_file_cut_inside_a_character_is_an_invalid_encoding() -> None:
    content = codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le")[:-1]
    sniffed = sniff(content, filename="cartera.txt", encoding=None, delimiter=None)
    with pytest.raises(FileFormatError) as refused:
        list(csv_rows(iter([content]), sniffed)[1])
    assert refused.value.code == "invalid_encoding"


def test_utf16_without_its_mark_is_read_when_declared() -> None:
    content = TEXT.encode("utf-16-le")
    sniffed = sniff(content, filename="cartera.txt", encoding="utf-16-le", delimiter=None)
    header, rows = csv_rows(iter([content]), sniffed)
    assert header[0] == "Obligación" and [n for n, _ in rows] == [2, 3]
