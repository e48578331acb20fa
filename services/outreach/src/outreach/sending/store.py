"""The send path's queries: due attempts claimed with their debtor, leases on attempts (a claim token and an
expiry), and every state change after the claim conditioned on the token still being the caller's, so a replica
whose lease expired changes nothing. Each status change is the attempt state machine's move (domain/attempts.py):
the statuses an update leaves from and goes to are read from its table, never written here."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from outreach.debtors import DebtorContext
from outreach.domain.attempts import Move, Status, Trigger, move
from outreach.domain.confirmations import Confirmation
from outreach.providers import OutboundMessage, Receipt
from outreach.store import DEBTOR_JOINS, HELD_DEBTOR_COLUMNS
from recaudo_common.db import sql, unnest_rows


def moved_from(m: Move, column: str = "status") -> str:
    """The move's source statuses as a literal condition (literal, so the partial indexes on status apply)."""
    return f"{column} IN ({', '.join(repr(s.value) for s in m.sources)})"


def moved_to(m: Move) -> str:
    """The move's target status as a literal."""
    return repr(m.target.value)


UNKNOWN = repr(Status.UNKNOWN.value)


# ------------------------------------------------------------------ the claim

@dataclass(frozen=True)
class DueAttempt:
    """A due attempt with everything the contact law and its message need about its debtor."""

    attempt_id: uuid.UUID
    channel: str
    tries: int
    plan_id: uuid.UUID | None  # the plan (segmentation's account.segmented) that scheduled it
    correlation_id: uuid.UUID | None  # that plan's correlation; None for attempts planned before it was kept
    debtor: DebtorContext
    scheduled_at: dt.datetime | None = None
    confirmation: Confirmation | None = None  # a payment's confirmation (confirmations.py), not the treatment's


@dataclass(frozen=True)
class Lane:
    """A client company's attempts on one channel: they all go out through one sender (sending/pacing.py)."""

    client: str
    channel: str


DUE = "a.status = 'scheduled' AND a.scheduled_at <= :at AND a.channel <> 'agent'"
IN_LANE = "a.client_slug = :client AND a.channel = :channel"
# An attempt whose account is not here yet is an orphan (orphan_due): it takes no place in a lane's claim.
HAS_ACCOUNT = ("EXISTS (SELECT 1 FROM outreach.accounts acc WHERE acc.client_slug = a.client_slug "
               "AND acc.account_ref = a.account_ref)")


async def claim_due(s: AsyncSession, now: dt.datetime, limit: int, lane: Lane) -> list[DueAttempt]:
    """The lane's due attempts that no other scheduler replica holds (row locks until this transaction ends),
    oldest first. Agent attempts wait in the agent queue instead."""
    result = await s.execute(sql(
        f"""WITH due AS (
                SELECT a.id FROM outreach.attempts a
                WHERE {DUE} AND {IN_LANE} AND {HAS_ACCOUNT}
                ORDER BY a.scheduled_at LIMIT :n FOR UPDATE SKIP LOCKED)
            SELECT a.id, a.client_slug, a.account_ref, a.channel, a.tries, a.plan_id, a.correlation_id,
                   a.scheduled_at, a.confirmation, {HELD_DEBTOR_COLUMNS}, NULL AS history
            FROM due JOIN outreach.attempts a ON a.id = due.id
            JOIN outreach.accounts acc ON acc.client_slug = a.client_slug AND acc.account_ref = a.account_ref
            {DEBTOR_JOINS}
            ORDER BY a.scheduled_at"""),
        {"at": now, "n": limit, "client": lane.client, "channel": lane.channel})
    return [DueAttempt(row["id"], row["channel"], row["tries"], row["plan_id"], row["correlation_id"],
                       DebtorContext.of(row), row["scheduled_at"],
                       Confirmation.from_document(row["confirmation"]) if row["confirmation"] else None)
            for row in result.mappings().all()]


async def due_lanes(s: AsyncSession, now: dt.datetime, channels: tuple[str, ...]) -> list[Lane]:
    """The lanes with attempts due now, the one whose oldest due attempt is oldest first: one index probe each
    (client companies times channels, a few hundred at most), never a scan of the due attempts however many."""
    result = await s.execute(sql(
        f"""SELECT slug, channel FROM (
                SELECT c.slug, ch.channel,
                       (SELECT min(a.scheduled_at) FROM outreach.attempts a
                        WHERE a.client_slug = c.slug AND a.channel = ch.channel AND {DUE}) AS oldest
                FROM outreach.clients c CROSS JOIN unnest(CAST(:channels AS text[])) ch(channel)) lanes
            WHERE oldest IS NOT NULL ORDER BY oldest, slug, channel"""), {"at": now, "channels": list(channels)})
    return [Lane(row[0], row[1]) for row in result.all()]


async def count_due(s: AsyncSession, now: dt.datetime, lane: Lane, at_most: int) -> int:
    """How many of the lane's attempts are due now, counting at most `at_most` (a bounded read)."""
    found = await s.scalar(sql(
        f"SELECT count(*) FROM (SELECT 1 FROM outreach.attempts a WHERE {DUE} AND {IN_LANE} AND {HAS_ACCOUNT} "
        "LIMIT :n) due"),
        {"at": now, "client": lane.client, "channel": lane.channel, "n": at_most})
    return int(found or 0)


async def orphan_due(s: AsyncSession, now: dt.datetime, limit: int) -> list[uuid.UUID]:
    """Due attempts whose account or client is not known here (yet); claimed so they can be moved on."""
    result = await s.execute(sql(
        """SELECT a.id FROM outreach.attempts a
           WHERE a.status = 'scheduled' AND a.scheduled_at <= :at AND a.channel <> 'agent'
             AND NOT EXISTS (SELECT 1 FROM outreach.accounts acc JOIN outreach.clients c ON c.slug = acc.client_slug
                             WHERE acc.client_slug = a.client_slug AND acc.account_ref = a.account_ref)
           LIMIT :n FOR UPDATE SKIP LOCKED"""), {"at": now, "n": limit})
    return [row[0] for row in result.all()]


@dataclass(frozen=True)
class Decision:
    """The contact law's answer on one attempt, as the audit of decisions keeps it."""

    attempt_id: uuid.UUID
    decided_at: dt.datetime
    local_time: str
    allowed: bool
    reasons: tuple[str, ...]
    next_allowed_at: dt.datetime | None


async def record_decisions(s: AsyncSession, decisions: list[Decision]) -> None:
    if decisions:
        await s.execute(sql(
            "INSERT INTO outreach.decisions (attempt_id, decided_at, local_time, allowed, reasons, next_allowed_at) "
            "VALUES (:attempt_id, :decided_at, :local_time, :allowed, :reasons, :next_allowed_at)"),
            [{"attempt_id": d.attempt_id, "decided_at": d.decided_at, "local_time": d.local_time,
              "allowed": d.allowed, "reasons": list(d.reasons), "next_allowed_at": d.next_allowed_at}
             for d in decisions])


async def reschedule_many(s: AsyncSession, moves: list[tuple[uuid.UUID, dt.datetime]]) -> None:
    """(attempt, when): due attempts the law blocks now but allows later, or whose placement is not here yet."""
    m = move(Trigger.RESCHEDULE)
    if moves:
        await s.execute(sql(f"UPDATE outreach.attempts SET status = {moved_to(m)}, scheduled_at = :at, "
                            f"sending_since = NULL WHERE id = :id AND {moved_from(m)}"),
                        [{"id": i, "at": at} for i, at in moves])


async def cancel_many(s: AsyncSession, cancels: list[tuple[uuid.UUID, Trigger, str]]) -> None:
    """(attempt, BLOCK or NO_ADDRESS, why): due attempts that can never go out."""
    for trigger in dict.fromkeys(t for _, t, _ in cancels):
        m = move(trigger)
        await s.execute(sql(f"UPDATE outreach.attempts SET status = {moved_to(m)}, cancel_reason = :why "
                            f"WHERE id = :id AND {moved_from(m)}"),
                        [{"id": i, "why": why} for i, t, why in cancels if t is trigger])


@dataclass(frozen=True)
class Handover:
    """A claimed attempt's message as it is handed to its provider."""

    due: DueAttempt
    message: OutboundMessage
    provider: str
    template: str
    encoding: str | None
    segments: int | None


async def mark_sending(s: AsyncSession, handovers: list[Handover], *, now: dt.datetime, token: uuid.UUID,
                       until: dt.datetime) -> None:
    """Attempts this transaction holds (FOR UPDATE) are claimed under the token and its lease, with their message
    kept (to be looked up if the send is left in doubt) and their contact counted from now on."""
    if not handovers:
        return
    m = move(Trigger.CLAIM)
    await s.execute(sql(
        f"""UPDATE outreach.attempts SET status = {moved_to(m)}, sending_since = :now, provider = :provider,
               template = :template, encoding = :encoding, segments = :segments, tries = tries + 1,
               claim_token = :token, lease_until = :until, lookups = 0
           WHERE id = :id AND {moved_from(m)}"""),
        [{"id": h.message.attempt_id, "now": now, "provider": h.provider, "template": h.template,
          "encoding": h.encoding, "segments": h.segments, "token": token, "until": until} for h in handovers])
    await s.execute(sql(
        """INSERT INTO outreach.outgoing (attempt_id, recipient, subject, body)
           VALUES (:attempt_id, :recipient, :subject, :body)
           ON CONFLICT (attempt_id) DO UPDATE SET recipient = excluded.recipient, subject = excluded.subject,
               body = excluded.body"""),
        [{"attempt_id": h.message.attempt_id, "recipient": h.message.recipient, "subject": h.message.subject,
          "body": h.message.body} for h in handovers])
    await s.execute(sql(
        """INSERT INTO outreach.contacts (id, client_slug, debtor_id, account_ref, channel, at, source, attempt_id)
           VALUES (gen_random_uuid(), :client, :debtor_id, :account_ref, :channel, :at, 'attempt', :attempt_id)
           ON CONFLICT (attempt_id) DO NOTHING"""),
        [{"client": h.due.debtor.client, "debtor_id": h.due.debtor.debtor_id, "account_ref": h.due.debtor.account_ref,
          "channel": h.due.channel, "at": now, "attempt_id": h.message.attempt_id} for h in handovers])


async def fail_unrendered(s: AsyncSession, attempt_id: uuid.UUID, at: dt.datetime, failure: str) -> bool:
    """A due attempt whose message could not be rendered: failed before any provider saw it."""
    m = move(Trigger.UNRENDERABLE)
    result = await s.execute(sql(
        f"UPDATE outreach.attempts SET status = {moved_to(m)}, failed_at = :at, failure = :f WHERE id = :id "
        f"AND {moved_from(m)} RETURNING 1"),
        {"id": attempt_id, "at": at, "f": failure})
    return result.first() is not None


# ------------------------------------------------------------------ after the provider's answer

async def renew_lease(s: AsyncSession, token: uuid.UUID, until: dt.datetime) -> set[uuid.UUID]:
    """Extends the claim's lease on its attempts still claimed; the ids still held."""
    m = move(Trigger.RENEW)
    result = await s.execute(sql(
        f"UPDATE outreach.attempts SET lease_until = :until WHERE claim_token = :token AND {moved_from(m)} "
        "RETURNING id"), {"token": token, "until": until})
    return {row[0] for row in result.all()}


async def confirm_sent(s: AsyncSession, sent: list[tuple[uuid.UUID, str]], *, token: uuid.UUID,
                       now: dt.datetime) -> set[uuid.UUID]:
    """(attempt id, provider message id) pairs the provider took: `sent`, for the attempts still under this
    claim. Returns the attempts confirmed."""
    if not sent:
        return set()
    m = move(Trigger.TAKEN, only_from=(Status.SENDING,))
    source, params = unnest_rows({"id": "uuid", "message_id": "text"}, sent, alias="x")
    result = await s.execute(sql(
        f"""UPDATE outreach.attempts a SET status = {moved_to(m)}, sent_at = :now, provider_message_id = x.message_id,
                claim_token = NULL, lease_until = NULL
            FROM {source}
            WHERE a.id = x.id AND a.claim_token = :token AND {moved_from(m, "a.status")}
            RETURNING a.id"""), {**params, "token": token, "now": now})
    return {row[0] for row in result.all()}


async def back_to_scheduled(s: AsyncSession, attempt_id: uuid.UUID, *, token: uuid.UUID, at: dt.datetime,
                            why: str, tried: bool = True) -> bool:
    """The message certainly did not reach the provider: the attempt waits to be decided again at `at`, and
    its contact no longer counts. `tried` False: no provider was called at all (its hours ended first), so the
    claim's try is given back and cannot use up the attempt's tries."""
    m = move(Trigger.RETRY)
    result = await s.execute(sql(
        f"""UPDATE outreach.attempts SET status = {moved_to(m)}, scheduled_at = :at, sending_since = NULL,
               claim_token = NULL, lease_until = NULL, failure = :why,
               tries = CASE WHEN :tried THEN tries ELSE greatest(tries - 1, 0) END
           WHERE id = :id AND claim_token = :token AND {moved_from(m)} RETURNING 1"""),
        {"id": attempt_id, "token": token, "at": at, "why": why, "tried": tried})
    if result.first() is None:
        return False
    await s.execute(sql("DELETE FROM outreach.contacts WHERE attempt_id = :id"), {"id": attempt_id})
    return True


async def fail(s: AsyncSession, attempt_id: uuid.UUID, *, token: uuid.UUID, now: dt.datetime, failure: str) -> bool:
    """The provider refused the message for good (or every try is spent): the attempt fails."""
    m = move(Trigger.REFUSED)
    result = await s.execute(sql(
        f"""UPDATE outreach.attempts SET status = {moved_to(m)}, failed_at = :now, failure = :f, claim_token = NULL,
               lease_until = NULL
           WHERE id = :id AND claim_token = :token AND {moved_from(m)} RETURNING 1"""),
        {"id": attempt_id, "token": token, "now": now, "f": failure})
    return result.first() is not None


@dataclass(frozen=True)
class ExpiredSend:
    """A send whose lease expired, now under a new claim, with the message as it was handed over (None when it
    was not kept)."""

    attempt_id: uuid.UUID
    client: str
    account_ref: str
    channel: str
    provider: str | None
    template: str | None
    segments: int | None
    tries: int
    lookups: int
    sending_since: dt.datetime
    plan_id: uuid.UUID | None
    correlation_id: uuid.UUID | None
    message: OutboundMessage | None


async def take_expired(s: AsyncSession, *, now: dt.datetime, token: uuid.UUID, until: dt.datetime,
                       limit: int) -> list[ExpiredSend]:
    """Sends whose lease expired, now under this claim (a new token, so their former holder is fenced off)."""
    m = move(Trigger.TAKE_OVER)
    result = await s.execute(sql(
        f"""WITH expired AS (
               SELECT id FROM outreach.attempts WHERE {moved_from(m)} AND lease_until < :now
               ORDER BY lease_until LIMIT :n FOR UPDATE SKIP LOCKED),
           taken AS (
               UPDATE outreach.attempts a SET claim_token = :token, lease_until = :until
               FROM expired WHERE a.id = expired.id
               RETURNING a.id, a.client_slug, a.account_ref, a.channel, a.provider, a.template, a.segments,
                         a.tries, a.lookups, a.sending_since, a.plan_id, a.correlation_id)
           SELECT taken.*, m.recipient, m.subject, m.body
           FROM taken LEFT JOIN outreach.outgoing m ON m.attempt_id = taken.id"""),
        {"now": now, "n": limit, "token": token, "until": until})
    return [ExpiredSend(
        r.id, r.client_slug, r.account_ref, r.channel, r.provider, r.template, r.segments, r.tries, r.lookups,
        r.sending_since, r.plan_id, r.correlation_id,
        OutboundMessage(r.id, r.channel, r.recipient, r.subject, r.body) if r.body is not None else None)
        for r in result.all()]


async def still_claimed(s: AsyncSession, attempt_id: uuid.UUID, *, token: uuid.UUID) -> bool:
    """Whether this claim still holds the attempt, locked for the transaction so that a status callback arriving
    now waits for it (a callback that names the attempt confirms it `sent` and ends the claim:
    confirm_from_callback; an expired lease another replica took over ends it too)."""
    found = await s.scalar(sql("SELECT 1 FROM outreach.attempts WHERE id = :id AND claim_token = :token "
                               "FOR UPDATE"), {"id": attempt_id, "token": token})
    return found is not None


async def look_again(s: AsyncSession, attempt_id: uuid.UUID, *, token: uuid.UUID) -> bool:
    m = move(Trigger.LOOK_AGAIN)
    result = await s.execute(sql(
        "UPDATE outreach.attempts SET lookups = lookups + 1 WHERE id = :id AND claim_token = :token "
        f"AND {moved_from(m)} RETURNING 1"), {"id": attempt_id, "token": token})
    return result.first() is not None


async def mark_unknown(s: AsyncSession, attempt_id: uuid.UUID, *, token: uuid.UUID, reason: str,
                       message_id: str | None) -> bool:
    """Nobody can tell whether the provider has the message: an operator decides; it is never resent."""
    m = move(Trigger.IN_DOUBT)
    result = await s.execute(sql(
        f"""UPDATE outreach.attempts SET status = {moved_to(m)}, failure = :why, claim_token = NULL, lease_until = NULL,
               provider_message_id = coalesce(provider_message_id, :m)
           WHERE id = :id AND claim_token = :token AND {moved_from(m)} RETURNING 1"""),
        {"id": attempt_id, "token": token, "why": reason, "m": message_id})
    return result.first() is not None


@dataclass(frozen=True)
class ConfirmedSend:
    """A send in doubt its provider's status callback confirmed."""

    attempt_id: uuid.UUID
    client: str
    account_ref: str
    channel: str
    provider: str
    template: str | None
    segments: int | None
    debtor_id: str
    plan_id: uuid.UUID | None
    correlation_id: uuid.UUID | None


async def confirm_from_callback(s: AsyncSession, provider: str, attempt_id: uuid.UUID, message_id: str,
                                now: dt.datetime) -> ConfirmedSend | None:
    """The provider's status callback names the attempt (its URL carries the id): whoever holds the claim, the
    provider has the message, so a send in doubt (claimed or `unknown`) is `sent` with that message id."""
    m = move(Trigger.TAKEN)
    row = (await s.execute(sql(
        f"""UPDATE outreach.attempts a SET status = {moved_to(m)}, sent_at = coalesce(a.sent_at, :now),
               provider_message_id = :m, claim_token = NULL, lease_until = NULL, failure = NULL
           FROM outreach.accounts acc
           WHERE a.id = :id AND a.provider = :p AND {moved_from(m, "a.status")}
             AND acc.client_slug = a.client_slug AND acc.account_ref = a.account_ref
           RETURNING a.id, a.client_slug, a.account_ref, a.channel, a.provider, a.template, a.segments,
                     acc.debtor_id, a.plan_id, a.correlation_id"""),
        {"id": attempt_id, "p": provider, "m": message_id, "now": now})).first()
    return ConfirmedSend(*row) if row else None


async def confirmed_elsewhere(s: AsyncSession, sent: list[tuple[uuid.UUID, str]]) -> set[uuid.UUID]:
    """Of these (attempt, message id) pairs, those already recorded with that message id (by its callback)."""
    if not sent:
        return set()
    source, params = unnest_rows({"id": "uuid", "message_id": "text"}, sent, alias="x")
    result = await s.execute(sql(
        f"SELECT a.id FROM outreach.attempts a JOIN {source} ON a.id = x.id "
        "AND a.provider_message_id = x.message_id"), params)
    return {row[0] for row in result.all()}


@dataclass(frozen=True)
class EarlyReceipt:
    """A provider's receipt that came before its send recorded the message id, and when it came."""

    receipt: Receipt
    received_at: dt.datetime


async def take_early_receipts_many(s: AsyncSession, provider: str, message_ids: list[str]) -> list[EarlyReceipt]:
    """The receipts kept early for these message ids, taken (deleted) in one statement, oldest first."""
    if not message_ids:
        return []
    rows = (await s.execute(sql(
        "DELETE FROM outreach.early_receipts WHERE provider = :p AND provider_message_id = ANY(:m) "
        "RETURNING provider_message_id, status, detail, received_at"), {"p": provider, "m": message_ids})).all()
    order = {"sent": 0, "delivered": 1, "failed": 1}
    return [EarlyReceipt(Receipt(r.provider_message_id, r.status, r.detail), r.received_at)
            for r in sorted(rows, key=lambda r: (r.received_at, order.get(r.status, 2)))]


# ------------------------------------------------------------------ sends in doubt, for an operator

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


async def unknown_sends(s: AsyncSession, client: str, *, after: tuple[dt.datetime | None, uuid.UUID] | None,
                        limit: int) -> list[UnknownSend]:
    """The client company's sends nobody could confirm or rule out, oldest first (those never claimed last), those
    after `after` (the last one of the previous page), for an operator."""
    since = "coalesce(sending_since, 'infinity')"
    result = await s.execute(sql(
        f"""SELECT id, account_ref, channel, provider, provider_message_id, sending_since, failure, tries
            FROM outreach.attempts WHERE client_slug = :c AND status = {UNKNOWN}
            {f"AND ({since}, id) > (coalesce(CAST(:t AS timestamptz), 'infinity'), :id)" if after else ""}
            ORDER BY {since}, id LIMIT :n"""),
        {"c": client, "n": limit, **({"t": after[0], "id": after[1]} if after else {})})
    return [UnknownSend(*row) for row in result.all()]


async def count_unknown(s: AsyncSession) -> int:
    row = (await s.execute(sql(f"SELECT count(*) FROM outreach.attempts WHERE status = {UNKNOWN}"))).first()
    return int(row[0]) if row else 0
