"""The write-offs table (schema `payments`): each write-off with its reason, its source and the operator's note."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def insert_write_off(s: AsyncSession, *, write_off_id: uuid.UUID, client: str, account_ref: str,
                           amount: Decimal, reason: str, note: str | None, source: str, now: dt.datetime) -> None:
    await s.execute(text(
        "INSERT INTO payments.write_offs (id, client_slug, account_ref, amount, reason, note, source, "
        "written_off_at) VALUES (:id, :c, :r, :a, :why, :note, :src, :now)"),
        {"id": write_off_id, "c": client, "r": account_ref, "a": amount, "why": reason, "note": note, "src": source,
         "now": now})
