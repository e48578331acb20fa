"""The send path's queries: leases on attempts (a claim token and an expiry), and every state change after the
claim conditioned on the token still being the caller's, so a replica whose lease expired changes nothing."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from recaudo_common.db import unnest_rows


def _rows(result: Any) -> list[dict[str, Any]]:
    return [dict(r) for r in result.mappings().all()]


async def mark_sending(s: AsyncSession, rows: list[dict[str, Any]], *, token: uuid.UUID, until: dt.datetime) -> None:
    """Attempts this transaction holds (FOR UPDATE) become `sending` under the claim; rows: id, now, provider,
    template, encoding, segments."""
    if rows:
        await s.execute(text(
            """UPDATE outreach.attempts SET status = 'sending', sending_since = :now, provider = :provider,
                   template = :template, encoding = :encoding, segments = :segments, tries = tries + 1,
                   claim_token = :token, lease_until = :until, lookups = 0
               WHERE id = :id"""), [{**r, "token": token, "until": until} for r in rows])


async def renew_lease(s: AsyncSession, token: uuid.UUID, until: dt.datetime) -> set[uuid.UUID]:
    """Extends the claim's lease on its attempts still `sending`; the ids still held."""
    result = await s.execute(text(
        "UPDATE outreach.attempts SET lease_until = :until WHERE claim_token = :token AND status = 'sending' "
        "RETURNING id"), {"token": token, "until": until})
    return {row[0] for row in result.all()}


async def confirm_sent(s: AsyncSession, sent: list[tuple[uuid.UUID, str]], *, token: uuid.UUID,
                       now: dt.datetime) -> list[dict[str, Any]]:
    """(attempt id, provider message id) pairs the provider took: `sent`, for the attempts still under this
    claim. Returns the confirmed attempts."""
    if not sent:
        return []
    source, params = unnest_rows({"id": "uuid", "message_id": "text"}, sent, alias="x")
    result = await s.execute(text(
        f"""UPDATE outreach.attempts a SET status = 'sent', sent_at = :now, provider_message_id = x.message_id,
                claim_token = NULL, lease_until = NULL
            FROM {source}
            WHERE a.id = x.id AND a.claim_token = :token AND a.status = 'sending'
            RETURNING a.id, a.client_slug, a.account_ref, a.channel, a.provider, a.template, a.segments,
                      a.provider_message_id"""), {**params, "token": token, "now": now})
    return _rows(result)


async def settle_many(s: AsyncSession, outcomes: list[tuple[uuid.UUID, str, str | None]],
                      now: dt.datetime) -> list[dict[str, Any]]:
    """A provider's immediate word on sent messages: (attempt id, "delivered" | "failed", failure)."""
    if not outcomes:
        return []
    source, params = unnest_rows({"id": "uuid", "status": "text", "failure": "text"}, outcomes, alias="x")
    result = await s.execute(text(
        f"""UPDATE outreach.attempts a SET status = x.status, failure = x.failure,
                delivered_at = CASE WHEN x.status = 'delivered' THEN CAST(:now AS timestamptz) END,
                failed_at = CASE WHEN x.status = 'failed' THEN CAST(:now AS timestamptz) END
            FROM {source}
            WHERE a.id = x.id AND a.status = 'sent'
            RETURNING a.id, a.client_slug, a.account_ref, a.channel, a.status, a.failure"""),
        {**params, "now": now})
    return _rows(result)


async def back_to_scheduled(s: AsyncSession, attempt_id: uuid.UUID, *, token: uuid.UUID, at: dt.datetime,
                            why: str) -> bool:
    """The message certainly did not reach the provider: the attempt waits to be decided again at `at`, and
    its contact no longer counts."""
    result = await s.execute(text(
        """UPDATE outreach.attempts SET status = 'scheduled', scheduled_at = :at, sending_since = NULL,
               claim_token = NULL, lease_until = NULL, failure = :why
           WHERE id = :id AND claim_token = :token AND status = 'sending' RETURNING 1"""),
        {"id": attempt_id, "token": token, "at": at, "why": why})
    if result.first() is None:
        return False
    await s.execute(text("DELETE FROM outreach.contacts WHERE attempt_id = :id"), {"id": attempt_id})
    return True


async def fail(s: AsyncSession, attempt_id: uuid.UUID, *, token: uuid.UUID, now: dt.datetime,
               failure: str) -> dict[str, Any] | None:
    result = await s.execute(text(
        """UPDATE outreach.attempts SET status = 'failed', failed_at = :now, failure = :f, claim_token = NULL,
               lease_until = NULL
           WHERE id = :id AND claim_token = :token AND status = 'sending'
           RETURNING id, client_slug, account_ref, channel"""),
        {"id": attempt_id, "token": token, "now": now, "f": failure})
    row = result.mappings().first()
    return dict(row) if row else None


async def take_expired(s: AsyncSession, *, now: dt.datetime, token: uuid.UUID, until: dt.datetime,
                       limit: int) -> list[dict[str, Any]]:
    """Sends whose lease expired, now under this claim (a new token, so their former holder is fenced off),
    with the message as it was handed over."""
    result = await s.execute(text(
        """WITH expired AS (
               SELECT id FROM outreach.attempts WHERE status = 'sending' AND lease_until < :now
               ORDER BY lease_until LIMIT :n FOR UPDATE SKIP LOCKED),
           taken AS (
               UPDATE outreach.attempts a SET claim_token = :token, lease_until = :until
               FROM expired WHERE a.id = expired.id
               RETURNING a.id, a.client_slug, a.account_ref, a.channel, a.provider, a.template, a.segments,
                         a.tries, a.lookups, a.sending_since)
           SELECT taken.*, m.recipient, m.subject, m.body
           FROM taken LEFT JOIN outreach.outgoing m ON m.attempt_id = taken.id"""),
        {"now": now, "n": limit, "token": token, "until": until})
    return _rows(result)


async def look_again(s: AsyncSession, attempt_id: uuid.UUID, *, token: uuid.UUID) -> bool:
    result = await s.execute(text(
        "UPDATE outreach.attempts SET lookups = lookups + 1 WHERE id = :id AND claim_token = :token "
        "AND status = 'sending' RETURNING 1"), {"id": attempt_id, "token": token})
    return result.first() is not None


async def mark_unknown(s: AsyncSession, attempt_id: uuid.UUID, *, token: uuid.UUID, reason: str,
                       message_id: str | None) -> bool:
    """Nobody can tell whether the provider has the message: an operator decides; it is never resent."""
    result = await s.execute(text(
        """UPDATE outreach.attempts SET status = 'unknown', failure = :why, claim_token = NULL, lease_until = NULL,
               provider_message_id = coalesce(provider_message_id, :m)
           WHERE id = :id AND claim_token = :token AND status = 'sending' RETURNING 1"""),
        {"id": attempt_id, "token": token, "why": reason, "m": message_id})
    return result.first() is not None


async def confirm_from_callback(s: AsyncSession, provider: str, attempt_id: uuid.UUID, message_id: str,
                                now: dt.datetime) -> dict[str, Any] | None:
    """The provider's status callback names the attempt (its URL carries the id): whoever holds the claim, the
    provider has the message, so a send in doubt (`sending` or `unknown`) is `sent` with that message id."""
    row = (await s.execute(text(
        """UPDATE outreach.attempts a SET status = 'sent', sent_at = coalesce(a.sent_at, :now),
               provider_message_id = :m, claim_token = NULL, lease_until = NULL, failure = NULL
           FROM outreach.accounts acc
           WHERE a.id = :id AND a.provider = :p AND a.status IN ('sending', 'unknown')
             AND acc.client_slug = a.client_slug AND acc.account_ref = a.account_ref
           RETURNING a.id, a.client_slug, a.account_ref, a.channel, a.provider, a.template, a.segments,
                     acc.debtor_id"""),
        {"id": attempt_id, "p": provider, "m": message_id, "now": now})).mappings().first()
    return dict(row) if row else None


async def confirmed_elsewhere(s: AsyncSession, sent: list[tuple[uuid.UUID, str]]) -> set[uuid.UUID]:
    """Of these (attempt, message id) pairs, those already recorded with that message id (by its callback)."""
    if not sent:
        return set()
    source, params = unnest_rows({"id": "uuid", "message_id": "text"}, sent, alias="x")
    result = await s.execute(text(
        f"SELECT a.id FROM outreach.attempts a JOIN {source} ON a.id = x.id "
        "AND a.provider_message_id = x.message_id"), params)
    return {row[0] for row in result.all()}


async def take_early_receipts_many(s: AsyncSession, provider: str, message_ids: list[str]) -> list[dict[str, Any]]:
    """take_early_receipts for many message ids in one statement, oldest first."""
    if not message_ids:
        return []
    rows = _rows(await s.execute(text(
        "DELETE FROM outreach.early_receipts WHERE provider = :p AND provider_message_id = ANY(:m) "
        "RETURNING provider_message_id, status, detail, received_at"), {"p": provider, "m": message_ids}))
    order = {"sent": 0, "delivered": 1, "failed": 1}
    return sorted(rows, key=lambda r: (r["received_at"], order.get(r["status"], 2)))


@dataclass(frozen=True)
class UnknownSend:
    """A send nobody could confirm or rule out: for an operator to decide."""

    attempt_id: uuid.UUID
    account_ref: str
    channel: str
    provider: str | None
    provider_message_id: str | None
    sending_since: dt.datetime | None
    reason: str | None
    tries: int


async def unknown_sends(s: AsyncSession, client: str, limit: int) -> list[UnknownSend]:
    """The client company's sends nobody could confirm or rule out, oldest first, for an operator."""
    result = await s.execute(text(
        """SELECT id, account_ref, channel, provider, provider_message_id, sending_since, failure, tries
           FROM outreach.attempts WHERE client_slug = :c AND status = 'unknown'
           ORDER BY sending_since LIMIT :n"""), {"c": client, "n": limit})
    return [UnknownSend(*row) for row in result.all()]


async def count_unknown(s: AsyncSession) -> int:
    row = (await s.execute(text("SELECT count(*) FROM outreach.attempts WHERE status = 'unknown'"))).first()
    return int(row[0]) if row else 0
