"""Reporting's read models and the report queries (schema `reporting`)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

SCHEMA = "reporting"


async def place_account(s: AsyncSession, *, client: str, account_ref: str, balance: Decimal, product: str | None,
                        placed_at: dt.datetime) -> None:
    """A payment may have reached us before its placement (topics are unordered): the ledger's latest word
    on balance and status then wins over the placed balance."""
    await s.execute(text(
        """INSERT INTO reporting.accounts (client_slug, account_ref, placed_balance, placed_at, product, balance,
               status)
           SELECT :c, :r, :b, :t, :p, coalesce(latest.new_balance, :b), coalesce(latest.account_status, 'open')
           FROM (SELECT 1) one LEFT JOIN LATERAL (
               SELECT new_balance, account_status FROM reporting.payments
               WHERE client_slug = :c AND account_ref = :r AND new_balance IS NOT NULL
               ORDER BY applied_at DESC, paid_at DESC LIMIT 1) latest ON true
           ON CONFLICT DO NOTHING"""),
        {"c": client, "r": account_ref, "b": balance, "t": placed_at, "p": product})


async def set_segment(s: AsyncSession, *, client: str, account_ref: str, fields: dict[str, Any],
                      at: dt.datetime) -> None:
    """Keeps segmentation's latest assignment (an older event never overwrites a newer one)."""
    await s.execute(text(
        """UPDATE reporting.accounts SET current_bucket = :bucket, segment = :segment,
               bucket_at_placement = coalesce(bucket_at_placement, :bucket_at_placement),
               days_past_due = :days_past_due, treatment = :treatment, channels = :channels,
               propensity = :propensity, cost_to_collect = :cost_to_collect,
               expected_net_recovery = :expected_net_recovery, value_tier = :value_tier,
               strategy_version = :strategy_version, strategy_arm = :strategy_arm, model_version = :model_version,
               offer = :offer, why = :why, segmented_at = :at
           WHERE client_slug = :c AND account_ref = :r AND (segmented_at IS NULL OR segmented_at <= :at)"""),
        {"c": client, "r": account_ref, "at": at, **fields})


async def account_view(s: AsyncSession, client: str, account_ref: str) -> dict[str, Any] | None:
    row = (await s.execute(text(
        """SELECT a.*, (SELECT coalesce(sum(p.amount - p.reversed_amount), 0) FROM reporting.payments p
                        WHERE p.client_slug = a.client_slug AND p.account_ref = a.account_ref) AS recovered
           FROM reporting.accounts a WHERE a.client_slug = :c AND a.account_ref = :r"""),
        {"c": client, "r": account_ref})).mappings().first()
    return dict(row) if row else None


async def set_recalled(s: AsyncSession, client: str, account_ref: str, at: dt.datetime) -> None:
    await s.execute(text(
        "UPDATE reporting.accounts SET recalled_at = coalesce(recalled_at, :t) WHERE client_slug = :c "
        "AND account_ref = :r"), {"c": client, "r": account_ref, "t": at})


async def record_payment(s: AsyncSession, *, payment_id: uuid.UUID, client: str, account_ref: str, amount: Decimal,
                         paid_at: dt.datetime, new_balance: Decimal, status: str, now: dt.datetime) -> None:
    await s.execute(text(
        "INSERT INTO reporting.payments (payment_id, client_slug, account_ref, amount, paid_at, applied_at, "
        "new_balance, account_status) VALUES (:p, :c, :r, :a, :t, :now, :b, :st) ON CONFLICT DO NOTHING"),
        {"p": payment_id, "c": client, "r": account_ref, "a": amount, "t": paid_at, "now": now, "b": new_balance,
         "st": status})
    await s.execute(text(
        "UPDATE reporting.accounts SET balance = :b, status = :st WHERE client_slug = :c AND account_ref = :r"),
        {"c": client, "r": account_ref, "b": new_balance, "st": status})


async def record_reversal(s: AsyncSession, *, payment_id: uuid.UUID, client: str, account_ref: str,
                          amount: Decimal, new_balance: Decimal, status: str) -> None:
    await s.execute(text(
        "UPDATE reporting.payments SET reversed_amount = reversed_amount + :a WHERE payment_id = :p"),
        {"p": payment_id, "a": amount})
    await s.execute(text(
        "UPDATE reporting.accounts SET balance = :b, status = :st WHERE client_slug = :c AND account_ref = :r"),
        {"c": client, "r": account_ref, "b": new_balance, "st": status})


async def recovery(s: AsyncSession, *, client: str, column: str | None, date_from: dt.datetime | None,
                   date_to: dt.datetime) -> list[dict[str, Any]]:
    """Placed and recovered per group (one row keyed "all" when not grouped).

    placed: accounts placed before `to`; recovered: payments with paid_at in [from, to) net of reversals."""
    key = f"coalesce(a.{column}, 'unassigned')" if column else "'all'"
    pkey = f"coalesce(pa.{column}, 'unassigned')" if column else "'all'"
    rows = (await s.execute(text(f"""
        WITH placed AS (
            SELECT {key} AS key, count(*) AS accounts_placed, coalesce(sum(a.placed_balance), 0) AS placed_balance,
                   count(a.recalled_at) FILTER (WHERE a.recalled_at < :to) AS accounts_recalled
            FROM reporting.accounts a WHERE a.client_slug = :c AND a.placed_at < :to GROUP BY 1),
        recovered AS (
            SELECT {pkey} AS key, coalesce(sum(p.amount - p.reversed_amount), 0) AS recovered,
                   count(*) AS payments
            FROM reporting.payments p
            LEFT JOIN reporting.accounts pa ON pa.client_slug = p.client_slug AND pa.account_ref = p.account_ref
            WHERE p.client_slug = :c AND p.paid_at < :to AND (CAST(:from AS timestamptz) IS NULL OR p.paid_at >= :from)
            GROUP BY 1)
        SELECT coalesce(placed.key, recovered.key) AS key, coalesce(accounts_placed, 0) AS accounts_placed,
               coalesce(placed_balance, 0) AS placed_balance, coalesce(accounts_recalled, 0) AS accounts_recalled,
               coalesce(recovered, 0) AS recovered, coalesce(payments, 0) AS payments
        FROM placed FULL OUTER JOIN recovered ON placed.key = recovered.key
        ORDER BY 1"""), {"c": client, "from": date_from, "to": date_to})).mappings().all()
    return [dict(r) for r in rows]
