"""Segmentation's tables and queries (schema `segmentation`).

Hot statements are built once and return what the handler needs next, so an event costs few round trips.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

SCHEMA = "segmentation"

_UPSERT = text(
    """INSERT INTO segmentation.accounts (client_slug, account_ref, balance, days_past_due_at_as_of, as_of,
           contactable, updated_at)
       VALUES (:c, :r, :b, :d, :a, :ct, :now)
       ON CONFLICT (client_slug, account_ref) DO UPDATE SET balance = excluded.balance,
           days_past_due_at_as_of = excluded.days_past_due_at_as_of, as_of = excluded.as_of,
           contactable = excluded.contactable, updated_at = excluded.updated_at
       RETURNING *""")
_SET = text(
    "UPDATE segmentation.accounts SET balance = coalesce(:b, balance), status = coalesce(:st, status), "
    "updated_at = :now WHERE client_slug = :c AND account_ref = :r RETURNING *")
_ASSIGN = text(
    """WITH account AS (
           UPDATE segmentation.accounts SET bucket = :bk, bucket_at_placement = coalesce(bucket_at_placement, :bk),
               segment = :sg, treatment = :t, propensity = :p, cost_to_collect = :cc, updated_at = :now
           WHERE client_slug = :c AND account_ref = :r RETURNING bucket_at_placement),
       history AS (
           INSERT INTO segmentation.assignments (client_slug, account_ref, assigned_at, trigger, days_past_due,
               bucket, segment, treatment, propensity, cost_to_collect, inputs, why)
           VALUES (:c, :r, :now, :tr, :d, :bk, :sg, :t, :p, :cc, CAST(:in AS jsonb), :why))
       SELECT bucket_at_placement FROM account""")


async def upsert_account(s: AsyncSession, *, client: str, account_ref: str, balance: Decimal,
                         days_past_due: int, as_of: dt.date, contactable: bool, now: dt.datetime) -> dict[str, Any]:
    row = (await s.execute(_UPSERT, {"c": client, "r": account_ref, "b": balance, "d": days_past_due, "a": as_of,
                                     "ct": contactable, "now": now})).mappings().one()
    return dict(row)


async def set_balance_status(s: AsyncSession, client: str, account_ref: str, *, balance: Decimal | None = None,
                             status: str | None = None, now: dt.datetime) -> dict[str, Any] | None:
    """Updates and returns the account (locked for the transaction), or None if it was never placed."""
    row = (await s.execute(_SET, {"c": client, "r": account_ref, "b": balance, "st": status,
                                  "now": now})).mappings().first()
    return dict(row) if row else None


async def record_assignment(s: AsyncSession, *, client: str, account_ref: str, now: dt.datetime, trigger: str,
                            days_past_due: int, bucket: str, segment: str, treatment: str, propensity: Decimal,
                            cost_to_collect: Decimal, inputs: dict[str, Any], why: str) -> str:
    """Stores the assignment and its history row; returns the bucket at placement (the first ever)."""
    value = await s.scalar(_ASSIGN, {
        "c": client, "r": account_ref, "bk": bucket, "sg": segment, "t": treatment, "p": propensity,
        "cc": cost_to_collect, "now": now, "tr": trigger, "d": days_past_due, "in": json.dumps(inputs, default=str),
        "why": why})
    return str(value)


async def unsegmented_accounts(s: AsyncSession, client: str) -> list[dict[str, Any]]:
    rows = (await s.execute(text(
        "SELECT * FROM segmentation.accounts WHERE client_slug = :c AND bucket IS NULL ORDER BY account_ref "
        "FOR UPDATE"), {"c": client})).mappings().all()
    return [dict(r) for r in rows]
