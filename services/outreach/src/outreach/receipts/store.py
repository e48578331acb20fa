"""Receipts' tables: providers' word on the messages sent (kept early when it comes before the send is
recorded) and the debtors' replies."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from outreach.domain.attempts import Trigger, move
from outreach.sending.store import moved_from, moved_to


@dataclass(frozen=True)
class SentAttempt:
    """The attempt a receipt or a reply is about."""

    attempt_id: uuid.UUID
    client: str
    account_ref: str
    channel: str
    debtor_id: str


async def keep_early_receipt(s: AsyncSession, provider: str, message_id: str, status: str, detail: str | None,
                             now: dt.datetime) -> None:
    await s.execute(text(
        "INSERT INTO outreach.early_receipts (provider, provider_message_id, status, detail, received_at) "
        "VALUES (:p, :m, :st, :d, :now) ON CONFLICT DO NOTHING"),
        {"p": provider, "m": message_id, "st": status, "d": detail, "now": now})


async def expire_early_receipts(s: AsyncSession, before: dt.datetime) -> int:
    """Discards early receipts received before `before` whose message id no send ever recorded."""
    result = await s.execute(text("DELETE FROM outreach.early_receipts WHERE received_at < :t"), {"t": before})
    return int(getattr(result, "rowcount", 0) or 0)


async def attempt_by_provider_id(s: AsyncSession, provider: str, message_id: str) -> SentAttempt | None:
    """The attempt the provider knows by this message id, locked for the transaction."""
    row = (await s.execute(text(
        """SELECT a.id, a.client_slug, a.account_ref, a.channel, acc.debtor_id FROM outreach.attempts a
           JOIN outreach.accounts acc ON acc.client_slug = a.client_slug AND acc.account_ref = a.account_ref
           WHERE a.provider = :p AND a.provider_message_id = :m FOR UPDATE OF a"""),
        {"p": provider, "m": message_id})).first()
    return SentAttempt(row.id, row.client_slug, row.account_ref, row.channel, row.debtor_id) if row else None


async def mark_delivered(s: AsyncSession, attempt_id: uuid.UUID, at: dt.datetime) -> bool:
    m = move(Trigger.DELIVERED)
    result = await s.execute(text(
        f"UPDATE outreach.attempts SET status = {moved_to(m)}, delivered_at = :at WHERE id = :id "
        f"AND {moved_from(m)} RETURNING 1"), {"id": attempt_id, "at": at})
    return result.first() is not None


async def mark_failed(s: AsyncSession, attempt_id: uuid.UUID, at: dt.datetime, failure: str) -> bool:
    m = move(Trigger.UNDELIVERED)
    result = await s.execute(text(
        f"UPDATE outreach.attempts SET status = {moved_to(m)}, failed_at = :at, failure = :f WHERE id = :id "
        f"AND {moved_from(m)} RETURNING 1"), {"id": attempt_id, "at": at, "f": failure})
    return result.first() is not None


async def save_reply(s: AsyncSession, *, provider: str, provider_message_id: str, attempt_id: uuid.UUID | None,
                     channel: str, body: str, opt_out: bool, at: dt.datetime) -> bool:
    result = await s.execute(text(
        """INSERT INTO outreach.replies (id, provider, provider_message_id, attempt_id, channel, body, opt_out,
               received_at) VALUES (:id, :p, :m, :a, :ch, :b, :o, :at) ON CONFLICT DO NOTHING RETURNING 1"""),
        {"id": uuid.uuid4(), "p": provider, "m": provider_message_id, "a": attempt_id, "ch": channel, "b": body,
         "o": opt_out, "at": at})
    return result.first() is not None


async def latest_attempt_to(s: AsyncSession, channel: str, recipient: str) -> SentAttempt | None:
    """The last message sent to this phone or address on this channel (an inbound reply answers it)."""
    row = (await s.execute(text(
        """SELECT a.id, a.client_slug, a.account_ref, a.channel, acc.debtor_id FROM outreach.outgoing m
           JOIN outreach.attempts a ON a.id = m.attempt_id
           JOIN outreach.accounts acc ON acc.client_slug = a.client_slug AND acc.account_ref = a.account_ref
           WHERE m.recipient = :to AND a.channel = :ch AND a.sent_at IS NOT NULL
           ORDER BY a.sent_at DESC LIMIT 1"""), {"to": recipient, "ch": channel})).first()
    return SentAttempt(row.id, row.client_slug, row.account_ref, row.channel, row.debtor_id) if row else None
