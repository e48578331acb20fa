"""Placed accounts as the recall and the placement record read them (ingest.accounts, ingest.recalls)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from ingest.records import Placement
from recaudo_common.db import sql


async def recall_accounts(s: AsyncSession, client: str, refs: list[str], now: dt.datetime
                          ) -> tuple[list[str], list[str], list[str]]:
    """(newly recalled, already recalled, unknown) account refs."""
    rows = (await s.execute(sql(
        "SELECT account_ref, status FROM ingest.accounts WHERE client_slug = :c AND account_ref = ANY(:refs) "
        "FOR UPDATE"), {"c": client, "refs": refs})).all()
    status = {r[0]: r[1] for r in rows}
    fresh = [r for r in dict.fromkeys(refs) if status.get(r) == "active"]
    already = [r for r in dict.fromkeys(refs) if status.get(r) == "recalled"]
    unknown = [r for r in dict.fromkeys(refs) if r not in status]
    if fresh:
        await s.execute(sql(
            "UPDATE ingest.accounts SET status = 'recalled', recalled_at = :now, updated_at = :now "
            "WHERE client_slug = :c AND account_ref = ANY(:refs)"), {"c": client, "refs": fresh, "now": now})
    return fresh, already, unknown


async def insert_recall(s: AsyncSession, *, recall_id: uuid.UUID, client: str, reason: str | None,
                        now: dt.datetime, recalled: int, already: int, unknown: list[str]) -> None:
    await s.execute(sql(
        "INSERT INTO ingest.recalls (id, client_slug, reason, requested_at, accounts_recalled, "
        "unknown_account_refs, already_recalled) VALUES (:id, :c, :r, :now, :n, :u, :a)"),
        {"id": recall_id, "c": client, "r": reason, "now": now, "n": recalled, "u": unknown, "a": already})


async def get_placement(s: AsyncSession, client: str, account_ref: str) -> Placement | None:
    row = (await s.execute(sql(
        "SELECT account_ref, status, balance, days_past_due, as_of, placed_at, updated_at, recalled_at, "
        "placed_portfolio_id, last_portfolio_id FROM ingest.accounts WHERE client_slug = :c AND account_ref = :r"),
        {"c": client, "r": account_ref})).mappings().first()
    return Placement(**row) if row else None
