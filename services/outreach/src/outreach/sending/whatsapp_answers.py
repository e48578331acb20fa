"""The answers the WhatsApp webhook queues for a debtor's message (the payment link for *Pagar*, the debtor page
for *Acordar*), sent as text through the Cloud API inside the 24-hour window that message opened. Each is handed
over at most once: it is claimed (answered_at) before the call, and only an answer Meta certainly did not take
(a rate limit, Meta unavailable) is released for another try after the backoff; the account's trail shows what
became of it, never the words or the number."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from outreach import store
from outreach.domain import attempts
from outreach.domain.whatsapp_window import TextMessage, window_open
from outreach.providers import OutboundMessage, Providers, SendError, Sent
from outreach.sending.pacing import spend_unpaced
from outreach.sending.store import Lane
from outreach.settings import OutreachSettings
from outreach.store import TrailEntry
from recaudo_common.db import Database, sql

log = logging.getLogger("recaudo.outreach")


@dataclass(frozen=True)
class QueuedAnswer:
    inbound_id: uuid.UUID
    client: str
    sender: str
    answer: str
    account_refs: tuple[str, ...]
    received_at: dt.datetime
    tries: int  # this one included


async def claim_answers(s: AsyncSession, now: dt.datetime, limit: int) -> list[QueuedAnswer]:
    """Queued answers due now, claimed (no other replica sends them: rows locked, then marked)."""
    rows = (await s.execute(sql(
        """SELECT id, client_slug, sender, answer, account_refs, received_at, answer_tries
           FROM outreach.whatsapp_inbound
           WHERE answer IS NOT NULL AND answered_at IS NULL AND sender <> ''
             AND (answer_retry_at IS NULL OR answer_retry_at <= :now)
           ORDER BY received_at LIMIT :n FOR UPDATE SKIP LOCKED"""), {"now": now, "n": limit})).all()
    if rows:
        await s.execute(sql("UPDATE outreach.whatsapp_inbound SET answered_at = :now, "
                            "answer_tries = answer_tries + 1 WHERE id = ANY(:ids)"),
                        {"now": now, "ids": [r.id for r in rows]})
    return [QueuedAnswer(r.id, r.client_slug, r.sender, r.answer, tuple(r.account_refs), r.received_at,
                         r.answer_tries + 1) for r in rows]


async def send_answers(db: Database, providers: Providers, settings: OutreachSettings, *, now: dt.datetime,
                       limit: int = 50) -> int:
    """One pass: the queued answers due, each sent once inside its window. Returns how many were claimed."""
    cloud = providers.whatsapp_cloud
    if settings.sending_paused:
        return 0
    async with db.transaction() as s:
        claimed = await claim_answers(s, now, limit)
        # Sent at once (a debtor is waiting), through the number the campaign's sends are paced on: they spend
        # from its bucket, so the claims that follow leave room for them.
        await spend_unpaced(s, settings, providers, cloud, [Lane(a.client, "whatsapp") for a in claimed
                                                            if window_open(a.received_at, now)], now)
    outcomes: list[tuple[QueuedAnswer, Sent | SendError]] = []
    for a in claimed:
        if not window_open(a.received_at, now):
            outcomes.append((a, SendError("the 24-hour window closed before the answer went", transient=False)))
            continue
        message = OutboundMessage(a.inbound_id, "whatsapp", a.sender, None, a.answer, client=a.client,
                                  whatsapp=TextMessage(a.answer))
        try:
            async with asyncio.timeout(settings.provider_timeout_s):
                [outcome] = await cloud.send([message], now)
        except TimeoutError:
            outcome = SendError("provider call timed out", transient=True, ambiguous=True)
        outcomes.append((a, outcome))
    async with db.transaction() as s:
        trail: list[TrailEntry] = []
        for a, outcome in outcomes:
            trail += await _record(s, settings, a, outcome, now)
        await store.trail(s, trail)
    return len(claimed)


async def _record(s: AsyncSession, settings: OutreachSettings, a: QueuedAnswer, outcome: Sent | SendError,
                  now: dt.datetime) -> list[TrailEntry]:
    def entries(kind: str, **detail: object) -> list[TrailEntry]:
        return [TrailEntry(a.client, ref, now, kind, None, "whatsapp", {"inbound_id": str(a.inbound_id), **detail})
                for ref in a.account_refs]

    if isinstance(outcome, Sent):
        return entries("whatsapp_answer_sent", provider_message_id=outcome.message_id)
    retry = attempts.after_send_error(transient=outcome.transient, ambiguous=outcome.ambiguous, tries=a.tries,
                                      max_tries=settings.max_send_tries)
    at = attempts.retry_at(now, a.tries, settings.retry_backoff_s)
    if retry is attempts.SendOutcome.RETRY and window_open(a.received_at, at):
        # Certainly not taken: released, to be claimed again once the backoff is over.
        await s.execute(sql("UPDATE outreach.whatsapp_inbound SET answered_at = NULL, answer_retry_at = :at "
                            "WHERE id = :id"), {"id": a.inbound_id, "at": at})
        return entries("whatsapp_answer_retry", reason=outcome.reason, retry_at=at.isoformat())
    log.warning("a WhatsApp answer was not sent", extra={"fields": {"client": a.client, "in_doubt": outcome.ambiguous}})
    return entries("whatsapp_answer_failed", reason=outcome.reason, in_doubt=outcome.ambiguous)
