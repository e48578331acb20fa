"""Placed accounts' commands and queries: recall them at the client company's request (account.recalled stops all
contact downstream), read the refs of a recall file, read an account as placed."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import itertools
import uuid

from ingest.accounts import store
from ingest.domain.portfolio import account_ref_column, cell_text
from ingest.records import ClientCompany, Placement, RecallOutcome
from ingest.store import outbox
from recaudo_common.db import Database
from recaudo_common.domain_errors import Invalid, NotFound
from recaudo_common.events import AccountRecalled
from recaudo_common.files import FileFormatError, csv_rows, jsonl_keys, jsonl_rows, sniff
from recaudo_common.xlsx import XlsxLimits, xlsx_rows


async def recall(db: Database, *, client: str, account_refs: list[str], reason: str | None,
                 now: dt.datetime) -> RecallOutcome:
    """Withdraws accounts at the client company's request: account.recalled stops all contact downstream; the
    reason is kept with the recall (ingest.recalls) only."""
    recall_id = uuid.uuid4()
    async with db.transaction() as s:
        fresh, already, unknown = await store.recall_accounts(s, client, account_refs, now)
        await store.insert_recall(s, recall_id=recall_id, client=client, reason=reason, now=now,
                                  recalled=len(fresh), already=len(already), unknown=unknown)
        # The reason is the client company's free text and may name the person: it stays with the recall, never
        # on the account topic, which is kept forever (dead letters too) and which no erasure reaches.
        await outbox.add(s, [AccountRecalled(account_ref=ref, recalled_at=now).envelope(
            client=client, occurred_at=now) for ref in fresh])
    return RecallOutcome(id=recall_id, accounts_recalled=len(fresh), already_recalled=len(already),
                         unknown_account_refs=unknown, requested_at=now)


MAX_RECALLED = 100_000  # accounts one recall names, in a file as in a JSON body
# A recall file is at most RECAUDO_INGEST_MAX_RECALL_FILE_BYTES (16 MiB), read whole in the API's process: a
# workbook of it may expand to far less than a portfolio's.
RECALL_WORKBOOK_LIMITS = XlsxLimits(max_uncompressed=512 * 1024**2, max_cells=5_000_000,
                                    max_shared_strings=2_000_000)


def account_refs_from_file(content: bytes) -> list[str]:
    """Account refs from a recall file (CSV, XLSX or JSON lines): the account column of a file with a recognised
    header, or else the first column of every line (of the first sheet)."""
    sniffed = sniff(content[:65536], filename=None, encoding=None, delimiter=None)
    if sniffed.kind == "xlsx":
        header, rows, _, _ = xlsx_rows(io.BytesIO(content), sheet=None, limits=RECALL_WORKBOOK_LIMITS)
    elif sniffed.kind == "jsonl":
        header, rows = jsonl_rows(iter([content]), sniffed, keys=jsonl_keys(iter([content]), sniffed))
    else:
        header, rows = csv_rows(iter([content]), sniffed)
    index = account_ref_column(header)
    # No header recognised: a CSV's or a sheet's first line is an account too; a JSON line's keys are names.
    first_is_data = index is None and sniffed.kind != "jsonl" and bool(header) and bool(header[0].strip())
    column = index or 0
    named = (cell_text(cells[column]).strip() for _, cells in rows if column < len(cells))
    # One more than a recall may name, at most: reading on would only hold a refused file's refs in memory.
    refs = list(itertools.islice((r for r in itertools.chain([header[0].strip()] if first_is_data else [], named)
                                  if r), MAX_RECALLED + 1))  # blank cells name no account: not counted
    if len(refs) > MAX_RECALLED:
        raise FileFormatError("too_many_accounts", f"a recall names at most {MAX_RECALLED:,} accounts; send the "
                              "rest in another file")
    return refs


async def recall_from_file(db: Database, *, client: str, content: bytes, reason: str | None,
                           now: dt.datetime) -> RecallOutcome:
    """`recall` of the accounts a file names (see account_refs_from_file), read off the event loop."""
    try:
        refs = await asyncio.to_thread(account_refs_from_file, content)
    except FileFormatError as exc:
        raise Invalid(exc.code, exc.detail, title="Unreadable recall file") from exc
    if not refs:
        raise Invalid("empty_file", "the file names no account", title="Empty recall file")
    return await recall(db, client=client, account_refs=refs, reason=reason, now=now)


async def placement(db: Database, client: ClientCompany, account_ref: str) -> Placement:
    """The account as the client company placed and last stated it, or NotFound."""
    async with db.transaction() as s:
        found = await store.get_placement(s, client.slug, account_ref)
    if found is None:
        raise NotFound(f"account {account_ref!r}")
    return found
