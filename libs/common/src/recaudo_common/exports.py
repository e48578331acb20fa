"""Safe spreadsheet exports: text that a spreadsheet would run as a formula is neutralised, and CSV is written the
way Excel opens it in the client company's locale."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import xlsxwriter
from fastapi.responses import Response

from recaudo_common.money import MARKS

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?\d+(?:[.,]\d+)*$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def neutralise(value: str) -> str:
    """Prefixes a quote to a cell that starts like a formula, unless it is a plain number or E.164 phone
    (OWASP's CSV injection guidance: cells starting with = + - @ tab or carriage return)."""
    if value.startswith(_FORMULA_START) and not (_PLAIN_NUMBER.match(value) or _E164.match(value)):
        return "'" + value
    return value


@dataclass(frozen=True)
class CsvStyle:
    """How a CSV is written for a locale. Excel in a Spanish locale splits on `;` (its list separator where `,` is
    the decimal mark, and the one Spanish-speaking teams expect), reads UTF-8 only after a byte-order mark, and
    takes a number only with the locale's decimal mark."""

    delimiter: str = ","
    decimal: str = "."
    bom: bool = False


def csv_style(locale: str | None) -> CsvStyle:
    """The CSV style for a client company's locale: es-* → `;`, the locale's decimal mark and a BOM; others as
    RFC 4180 writes it."""
    if locale and locale.startswith("es-"):
        return CsvStyle(delimiter=";", decimal=MARKS.get(locale, (".", ","))[1], bom=True)
    return CsvStyle()


BOM = "\ufeff"


def csv_line(cells: Sequence[object], style: CsvStyle = CsvStyle()) -> str:
    """One CSV record, every cell neutralised (a header's as much as a value's): for exports written as a
    stream, a line at a time (the caller writes `BOM` first when `style.bom`)."""
    out = io.StringIO()
    csv.writer(out, delimiter=style.delimiter).writerow([_csv_cell(cell, style) for cell in cells])
    return out.getvalue()


def csv_text(header: Sequence[object], rows: Sequence[Sequence[object]], style: CsvStyle) -> str:
    """A whole CSV document in `style`: BOM, header and rows, every cell neutralised."""
    return (BOM if style.bom else "") + "".join(csv_line(r, style) for r in (header, *rows))


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
WHOLE_UNITS = frozenset({"COP", "CLP", "PYG"})  # shown without decimals


def table_response(filename: str, fmt: str, columns: list[str], headers: list[str], rows: list[dict[str, Any]],
                   *, money_columns: frozenset[str] = frozenset(), currency: str = "",
                   locale: str | None = None) -> Response:
    """A report as CSV or XLSX: numbers stay numbers (amounts with the currency's format in XLSX, the locale's
    decimal mark in CSV), text is neutralised against formula injection and stays text: an XLSX text cell, so a
    bucket such as 1-30 is never a date there; in CSV written as it is, since a CSV cannot tell Excel a cell is
    text without changing what every other reader gets (docs/kpis.md, Exports). The headers are the caller's
    (Spanish for es-* clients)."""
    if fmt == "csv":
        body = csv_text(headers, [[row.get(c) for c in columns] for row in rows], csv_style(locale))
        return Response(body, media_type="text/csv; charset=utf-8",
                        headers={"content-disposition": f'attachment; filename="{filename}.csv"'})
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    sheet = book.add_worksheet("Reporte" if headers != columns else "Report")
    bold = book.add_format({"bold": True})
    money = book.add_format({"num_format": ("#,##0" if currency in WHOLE_UNITS else "#,##0.00") +
                                           (f' "{currency}"' if currency else "")})
    sheet.write_row(0, 0, [neutralise(h) for h in headers], bold)
    for r, row in enumerate(rows, start=1):
        for c, column in enumerate(columns):
            value = row.get(column)
            if isinstance(value, bool) or value is None:
                sheet.write_blank(r, c, None) if value is None else sheet.write_boolean(r, c, value)
            elif isinstance(value, (int, float, Decimal)):
                sheet.write_number(r, c, float(value), money if column in money_columns else None)
            else:
                sheet.write_string(r, c, neutralise(str(value)))
    sheet.set_column(0, len(columns) - 1, 16)
    book.close()
    return Response(buffer.getvalue(), media_type=XLSX,
                    headers={"content-disposition": f'attachment; filename="{filename}.xlsx"'})


def _csv_cell(value: object, style: CsvStyle = CsvStyle()) -> str:
    if value is None:
        return ""
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        # No grouping mark: Excel reads "1234567,89" as a number in es-CO, while a grouped one can become text.
        if isinstance(value, int):
            return str(value)
        return (format(value, "f") if isinstance(value, Decimal) else str(value)).replace(".", style.decimal)
    return neutralise(str(value))
