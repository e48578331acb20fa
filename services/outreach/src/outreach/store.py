"""Outreach's tables and queries (schema `outreach`)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

SCHEMA = "outreach"


async def upsert_account(s: AsyncSession, *, client: str, account_ref: str, debtor_id: str, phones: list[str],
                         email: str | None, region: str | None, balance: Decimal, currency: str,
                         channels: list[str], now: dt.datetime) -> None:
    await s.execute(text(
        """INSERT INTO outreach.accounts (client_slug, account_ref, debtor_id, phones, email, region, balance,
               currency, authorised_channels, updated_at)
           VALUES (:c, :r, :d, :p, :e, :rg, :b, :cur, :ch, :now)
           ON CONFLICT (client_slug, account_ref) DO UPDATE SET debtor_id = excluded.debtor_id,
               phones = excluded.phones, email = excluded.email, region = excluded.region,
               balance = excluded.balance, currency = excluded.currency,
               authorised_channels = excluded.authorised_channels, updated_at = excluded.updated_at"""),
        {"c": client, "r": account_ref, "d": debtor_id, "p": phones, "e": email, "rg": region, "b": balance,
         "cur": currency, "ch": channels, "now": now})


async def get_account(s: AsyncSession, client: str, account_ref: str) -> dict[str, Any] | None:
    row = (await s.execute(text(
        "SELECT * FROM outreach.accounts WHERE client_slug = :c AND account_ref = :r"),
        {"c": client, "r": account_ref})).mappings().first()
    return dict(row) if row else None


async def set_status(s: AsyncSession, client: str, account_ref: str, *, status: str,
                     balance: Decimal | None = None, now: dt.datetime) -> None:
    await s.execute(text(
        "UPDATE outreach.accounts SET status = :st, balance = coalesce(:b, balance), updated_at = :now "
        "WHERE client_slug = :c AND account_ref = :r"),
        {"c": client, "r": account_ref, "st": status, "b": balance, "now": now})


async def schedule_attempt(s: AsyncSession, *, client: str, account_ref: str, channel: str, sequence: int,
                           at: dt.datetime, now: dt.datetime) -> bool:
    row = await s.execute(text(
        "INSERT INTO outreach.attempts (id, client_slug, account_ref, channel, sequence, status, scheduled_at, "
        "created_at) VALUES (:id, :c, :r, :ch, :seq, 'scheduled', :at, :now) ON CONFLICT DO NOTHING RETURNING id"),
        {"id": uuid.uuid4(), "c": client, "r": account_ref, "ch": channel, "seq": sequence, "at": at, "now": now})
    return row.first() is not None


async def cancel_scheduled(s: AsyncSession, client: str, account_ref: str, reason: str) -> int:
    result = await s.execute(text(
        "UPDATE outreach.attempts SET status = 'cancelled', cancel_reason = :why WHERE client_slug = :c "
        "AND account_ref = :r AND status = 'scheduled' RETURNING id"),
        {"c": client, "r": account_ref, "why": reason})
    return len(result.all())


async def claim_due(s: AsyncSession, now: dt.datetime, limit: int) -> list[dict[str, Any]]:
    """Due attempts that no other scheduler replica holds (row locks until this transaction ends)."""
    rows = (await s.execute(text(
        """SELECT a.id, a.client_slug, a.account_ref, a.channel, acc.phones, acc.email, acc.region,
                  acc.balance, acc.currency, acc.status AS account_status, c.country, c.timezone, c.name AS creditor
           FROM outreach.attempts a
           JOIN outreach.accounts acc ON acc.client_slug = a.client_slug AND acc.account_ref = a.account_ref
           JOIN outreach.clients c ON c.slug = a.client_slug
           WHERE a.status = 'scheduled' AND a.scheduled_at <= :now
           ORDER BY a.scheduled_at LIMIT :n FOR UPDATE OF a SKIP LOCKED"""),
        {"now": now, "n": limit})).mappings().all()
    return [dict(r) for r in rows]


async def record_decision(s: AsyncSession, *, attempt_id: uuid.UUID, now: dt.datetime, local_time: str,
                          allowed: bool, reasons: list[str], next_allowed_at: dt.datetime | None) -> None:
    await s.execute(text(
        "INSERT INTO outreach.decisions (attempt_id, decided_at, local_time, allowed, reasons, next_allowed_at) "
        "VALUES (:a, :now, :lt, :ok, :rs, :nx)"),
        {"a": attempt_id, "now": now, "lt": local_time, "ok": allowed, "rs": reasons, "nx": next_allowed_at})


async def reschedule(s: AsyncSession, attempt_id: uuid.UUID, at: dt.datetime) -> None:
    await s.execute(text("UPDATE outreach.attempts SET scheduled_at = :at WHERE id = :id"),
                    {"id": attempt_id, "at": at})


async def cancel_attempt(s: AsyncSession, attempt_id: uuid.UUID, reason: str) -> None:
    await s.execute(text("UPDATE outreach.attempts SET status = 'cancelled', cancel_reason = :why WHERE id = :id"),
                    {"id": attempt_id, "why": reason})


async def mark_sent(s: AsyncSession, attempt_id: uuid.UUID, now: dt.datetime) -> None:
    await s.execute(text("UPDATE outreach.attempts SET status = 'sent', sent_at = :now WHERE id = :id"),
                    {"id": attempt_id, "now": now})


async def record_sandbox_message(s: AsyncSession, *, attempt_id: uuid.UUID, channel: str, recipient: str,
                                 body: str, now: dt.datetime) -> None:
    await s.execute(text(
        "INSERT INTO outreach.sandbox_messages (id, attempt_id, channel, recipient, body, sent_at) "
        "VALUES (:id, :a, :ch, :to, :b, :now)"),
        {"id": uuid.uuid4(), "a": attempt_id, "ch": channel, "to": recipient, "b": body, "now": now})


async def contact_history(s: AsyncSession, client: str, account_ref: str) -> list[dict[str, Any]]:
    """Every attempt of an account with the decisions behind it, oldest first (the audit trail)."""
    rows = (await s.execute(text(
        """SELECT a.id, a.channel, a.status, a.scheduled_at, a.sent_at, a.cancel_reason, a.created_at,
                  coalesce(json_agg(json_build_object('decided_at', d.decided_at, 'allowed', d.allowed,
                      'reasons', d.reasons, 'next_allowed_at', d.next_allowed_at, 'local_time', d.local_time)
                      ORDER BY d.id) FILTER (WHERE d.id IS NOT NULL), '[]') AS decisions
           FROM outreach.attempts a LEFT JOIN outreach.decisions d ON d.attempt_id = a.id
           WHERE a.client_slug = :c AND a.account_ref = :r
           GROUP BY a.id ORDER BY a.created_at, a.id"""), {"c": client, "r": account_ref})).mappings().all()
    return [dict(r) for r in rows]
