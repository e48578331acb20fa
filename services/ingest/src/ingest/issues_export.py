"""An upload's rejections or warnings as a CSV download, streamed a page at a time with every cell neutralised.

A portfolio of a million rows may have as many rejections: the export reads them in pages by id (a keyset
cursor, each page its own short transaction) and sends each page as it is written, so memory stays one page
whatever the upload. The columns are the fixed ones and then the file's own headers, in the order they first
appear; a header is the client's text as much as a value is, so it is neutralised too.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

from ingest import store
from ingest.domain.issue_labels import meaning_of, spanish_detail
from ingest.records import RowIssue
from recaudo_common.db import Database, sql
from recaudo_common.exports import BOM, CsvStyle, csv_line

PAGE_ROWS = 1000
FIXED_COLUMNS = ("row", "field", "code", "message")
# For a Spanish-speaking client company (es-*): the columns in Spanish, each code's meaning beside it, and the
# detail in Spanish (the API's `message` is English).
SPANISH_COLUMNS = ("fila", "campo", "código", "significado", "detalle")

# Each raw header once, in the order of the row it first appears in, then its place in that row.
_RAW_HEADERS = sql(
    """SELECT header FROM (
         SELECT DISTINCT ON (o.header) o.header, i.id, o.n
         FROM ingest.row_issues i, jsonb_object_keys(i.raw) WITH ORDINALITY AS o(header, n)
         WHERE i.portfolio_id = :p AND i.kind = :k AND NOT i.raw @> '{"erased": true}'
         ORDER BY o.header, i.id, o.n) first_seen
       ORDER BY id, n""")


def _said(issue: RowIssue, spanish: bool) -> list[str]:
    """The issue's message: in English as the API says it, or for an es-* client company its code's meaning and its
    detail in Spanish."""
    if spanish:
        return [meaning_of(issue.code), spanish_detail(issue.code, issue.field, issue.params)]
    return [issue.message]


async def raw_headers(db: Database, portfolio_id: uuid.UUID, kind: str) -> list[str]:
    async with db.transaction() as s:
        return list((await s.scalars(_RAW_HEADERS, {"p": portfolio_id, "k": kind})).all())


async def issues_csv(db: Database, portfolio_id: uuid.UUID, kind: str, style: CsvStyle, *,
                     spanish: bool = False) -> AsyncIterator[bytes]:
    """The CSV as chunks of bytes in the upload's locale style: the header line, then one chunk per page of
    issues. Always with a BOM, so Excel opens the accents of the raw cells right whatever the locale. `spanish`
    (an es-* client company): Spanish column names, each code's meaning beside the code, the detail in Spanish."""
    headers = await raw_headers(db, portfolio_id, kind)
    yield (BOM + csv_line([*(SPANISH_COLUMNS if spanish else FIXED_COLUMNS), *headers], style)).encode()
    after = 0
    while True:
        async with db.transaction() as s:
            page = await store.list_issues(s, portfolio_id, kind, after=after, limit=PAGE_ROWS)
        if not page:
            return
        yield "".join(csv_line([r.row, r.field, r.code, *_said(r, spanish), *[r.raw.get(h, "") for h in headers]],
                               style) for r in page).encode()
        if len(page) < PAGE_ROWS:
            return
        after = page[-1].id
