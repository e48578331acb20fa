"""Receipts' tables: providers' word on the messages sent (kept early when it comes before the send is
recorded) and the debtors' replies."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from outreach.domain.attempts import Status, Trigger, move
from outreach.sending.store import moved_from, moved_to
from recaudo_common.db import sql, unnest_rows


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
    await s.execute(sql(
        "INSERT INTO outreach.early_receipts (provider, provider_message_id, status, detail, received_at) "
        "VALUES (:p, :m, :st, :d, :now) ON CONFLICT DO NOTHING"),
        {"p": provider, "m": message_id, "st": status, "d": detail, "now": now})


async def expire_early_receipts(s: AsyncSession, before: dt.datetime) -> int:
    """Discards early receipts received before `before` whose message id no send ever recorded."""
    result = await s.execute(sql("DELETE FROM outreach.early_receipts WHERE received_at < :t"), {"t": before})
    return int(getattr(result, "rowcount", 0) or 0)


async def save_reply(s: AsyncSession, *, provider: str, provider_message_id: str, attempt_id: uuid.UUID | None,
                     channel: str, body: str, opt_out: bool, at: dt.datetime, reply_id: uuid.UUID | None = None
                     ) -> bool:
    result = await s.execute(sql(
        """INSERT INTO outreach.replies (id, provider, provider_message_id, attempt_id, channel, body, opt_out,
               received_at) VALUES (:id, :p, :m, :a, :ch, :b, :o, :at) ON CONFLICT DO NOTHING RETURNING 1"""),
        {"id": reply_id or uuid.uuid4(), "p": provider, "m": provider_message_id, "a": attempt_id, "ch": channel,
         "b": body, "o": opt_out, "at": at})
    return result.first() is not None


async def latest_attempt_to(s: AsyncSession, channel: str, recipient: str) -> SentAttempt | None:
    """The last message sent to this phone or address on this channel (an inbound reply answers it)."""
    row = (await s.execute(sql(
        """SELECT a.id, a.client_slug, a.account_ref, a.channel, acc.debtor_id FROM outreach.outgoing m
           JOIN outreach.attempts a ON a.id = m.attempt_id
           JOIN outreach.accounts acc ON acc.client_slug = a.client_slug AND acc.account_ref = a.account_ref
           WHERE m.recipient = :to AND a.channel = :ch AND a.sent_at IS NOT NULL
           ORDER BY a.sent_at DESC LIMIT 1"""), {"to": recipient, "ch": channel})).first()
    return SentAttempt(row.id, row.client_slug, row.account_ref, row.channel, row.debtor_id) if row else None


async def debtors_reached_at(s: AsyncSession, phone: str) -> list[tuple[str, str]]:
    """(client company, debtor) of every account whose phones include this number: whom an opt-out from a number
    that was never written to concerns. Containment (@>), so the phones' GIN index (migration 0017) finds them."""
    rows = await s.execute(sql(
        "SELECT DISTINCT client_slug, debtor_id FROM outreach.accounts WHERE phones @> ARRAY[CAST(:p AS text)] "
        "AND debtor_id <> '' ORDER BY client_slug, debtor_id"), {"p": phone})
    return [(r.client_slug, r.debtor_id) for r in rows]


@dataclass(frozen=True)
class Settling:
    """An attempt a receipt settles, with the plan its events are caused by."""

    attempt: SentAttempt
    plan_id: uuid.UUID | None
    correlation_id: uuid.UUID | None


async def attempts_by_provider_ids(s: AsyncSession, provider: str, message_ids: list[str]) -> dict[str, Settling]:
    """The attempts the provider knows by these message ids, locked for the transaction (in one order, so two
    transactions never wait on each other), by message id."""
    if not message_ids:
        return {}
    rows = (await s.execute(sql(
        """SELECT a.provider_message_id, a.id, a.client_slug, a.account_ref, a.channel, acc.debtor_id, a.plan_id,
                  a.correlation_id
           FROM outreach.attempts a
           JOIN outreach.accounts acc ON acc.client_slug = a.client_slug AND acc.account_ref = a.account_ref
           WHERE a.provider = :p AND a.provider_message_id = ANY(:m) ORDER BY a.id FOR UPDATE OF a"""),
        {"p": provider, "m": message_ids})).all()
    return {r.provider_message_id: Settling(SentAttempt(r.id, r.client_slug, r.account_ref, r.channel, r.debtor_id),
                                            r.plan_id, r.correlation_id) for r in rows}


async def settle_many(s: AsyncSession, trigger: Trigger, settled: list[tuple[uuid.UUID, dt.datetime, str | None]]
                      ) -> set[uuid.UUID]:
    """(attempt, when, failure): the attempts the state machine lets `trigger` (DELIVERED, UNDELIVERED) move,
    moved, in one statement; returns those moved (an attempt already settled stays as it is)."""
    if not settled:
        return set()
    m = move(trigger)
    at = "delivered_at = x.at" if m.target is Status.DELIVERED else "failed_at = x.at, failure = x.failure"
    source, params = unnest_rows({"id": "uuid", "at": "timestamptz", "failure": "text"}, settled, alias="x")
    result = await s.execute(sql(
        f"""UPDATE outreach.attempts a SET status = {moved_to(m)}, {at}
            FROM {source} WHERE a.id = x.id AND {moved_from(m, "a.status")} RETURNING a.id"""), params)
    return {row[0] for row in result.all()}


@dataclass(frozen=True)
class Answered:
    """A message the debtor answered, as its attempt stands (locked for the transaction)."""

    status: str
    delivered: bool
    plan_id: uuid.UUID | None
    correlation_id: uuid.UUID | None


async def lock_answered(s: AsyncSession, attempt_id: uuid.UUID) -> Answered | None:
    row = (await s.execute(sql(
        "SELECT status, delivered_at IS NOT NULL AS delivered, plan_id, correlation_id FROM outreach.attempts "
        "WHERE id = :id FOR UPDATE"), {"id": attempt_id})).first()
    return Answered(row.status, row.delivered, row.plan_id, row.correlation_id) if row else None


async def mark_replied(s: AsyncSession, trigger: Trigger, attempt_id: uuid.UUID, at: dt.datetime) -> bool:
    """Moves the attempt as the state machine lets `trigger` (a reply) move it; an answer proves delivery, so
    a message no receipt confirmed yet is dated delivered at the reply."""
    m = move(trigger)
    result = await s.execute(sql(
        f"""UPDATE outreach.attempts SET status = {moved_to(m)}, delivered_at = COALESCE(delivered_at, :at)
            WHERE id = :id AND {moved_from(m)} RETURNING 1"""), {"id": attempt_id, "at": at})
    return result.first() is not None
