"""The write-offs table (schema `payments`): each write-off with its reason, its source and the operator's note."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from recaudo_common.db import sql


async def insert_write_off(s: AsyncSession, *, write_off_id: uuid.UUID, client: str, account_ref: str,
                           amount: Decimal, reason: str, note: str | None, source: str, now: dt.datetime) -> None:
    await s.execute(sql(
        "INSERT INTO payments.write_offs (id, client_slug, account_ref, amount, reason, note, source, "
        "written_off_at) VALUES (:id, :c, :r, :a, :why, :note, :src, :now)"),
        {"id": write_off_id, "c": client, "r": account_ref, "a": amount, "why": reason, "note": note, "src": source,
         "now": now})


async def mark_reversed(s: AsyncSession, *, client: str, account_ref: str, reason: str, now: dt.datetime) -> None:
    """The account's write-offs not reversed yet are, from now, with the operator's reason."""
    await s.execute(sql(
        "UPDATE payments.write_offs SET reversed_at = :now, reversal_reason = :why "
        "WHERE client_slug = :c AND account_ref = :r AND reversed_at IS NULL"),
        {"c": client, "r": account_ref, "now": now, "why": reason})


async def forget_not_pursued(s: AsyncSession, *, client: str, account_ref: str) -> None:
    """An operator reversed the write-off: the strategy's earlier do_not_pursue no longer counts (its next such
    decision starts the rules' days again)."""
    await s.execute(sql("DELETE FROM payments.not_pursued WHERE client_slug = :c AND account_ref = :r"),
                    {"c": client, "r": account_ref})
