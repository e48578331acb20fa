"""Sends whose lease expired: their replica died or stalled between the claim and the confirmation, so the
provider may or may not have the message. It is never sent again blindly: its provider is asked, and the send
is confirmed, decided again under the contact law like any due attempt, or left `unknown` for an operator."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from outreach import store
from outreach.best_time.store import attempt_arms
from outreach.domain import attempts
from outreach.domain.attempts import Trigger
from outreach.providers import Lookup, Providers
from outreach.receipts.delivery import apply_statuses
from outreach.receipts.handlers import apply_receipt
from outreach.sending import store as sending
from outreach.sending.events import SENDS, attempted, cause_of, count_message, emit, entry
from outreach.settings import OutreachSettings
from outreach.store import TrailEntry, outbox
from recaudo_common.db import Database
from recaudo_common.events import ContactFailed, Envelope
from recaudo_common.outbox import Cause, caused_by

log = logging.getLogger("recaudo.outreach")


async def reconcile_expired(db: Database, providers: Providers, settings: OutreachSettings, *, now: dt.datetime,
                            limit: int = 100) -> int:
    """Takes over the sends whose lease expired (fencing their former holder off) and asks each one's provider
    whether it has the message: found, it is confirmed `sent`; certainly absent, the attempt goes back to
    `scheduled` and the next claim decides it again under the contact law at that moment; otherwise it is
    `unknown` for an operator. Nothing is sent here. While sending is paused this waits too. Returns how many
    sends were taken over."""
    if settings.sending_paused:
        return 0
    token = uuid.uuid4()
    with caused_by(Cause.command()) as run:
        assert run is not None
        async with db.transaction() as s:
            taken = await sending.take_expired(
                s, now=now, token=token, until=attempts.lease_until(now, settings.sending_timeout_s), limit=limit)
        looked = [(send, await _look_up(providers, settings, send)) for send in taken]
        trail: list[TrailEntry] = []
        events: list[Envelope] = []
        async with db.transaction() as s:
            for send, lookup in looked:
                trail += await _reconcile_one(s, providers, settings, token, send, lookup, now, events,
                                              cause_of(send.plan_id, send.correlation_id, run))
            await store.trail(s, trail)
            await outbox.add(s, events)
    return len(taken)


async def _look_up(providers: Providers, settings: OutreachSettings, send: sending.ExpiredSend) -> Lookup:
    provider = providers.by_name.get(send.provider or "")
    if provider is None:
        return Lookup(None, reason=f"provider {send.provider!r} is not configured here")
    if send.message is None:
        return Lookup(None, reason="the message handed over was not kept")
    try:
        async with asyncio.timeout(settings.provider_timeout_s):
            return await provider.look_up(send.message, send.sending_since)
    except TimeoutError:
        return Lookup(None, reason="look-up timed out", retry=True)
    except Exception as e:
        log.exception("provider look-up failed", extra={"fields": {"provider": provider.name}})
        return Lookup(None, reason=f"look-up failed: {type(e).__name__}", retry=True)


async def _reconcile_one(s: AsyncSession, providers: Providers, settings: OutreachSettings, token: uuid.UUID,
                         send: sending.ExpiredSend, lookup: Lookup, now: dt.datetime, events: list[Envelope],
                         cause: Cause) -> list[TrailEntry]:
    attempt_id, channel, name = send.attempt_id, send.channel, send.provider or "none"

    def trail(kind: str, **detail: object) -> TrailEntry:
        return entry(send.client, send.account_ref, now, kind, attempt_id, channel, **detail)

    action = attempts.reconcile(attempts.LookupAnswer(lookup.found, lookup.retry), lookups=send.lookups,
                                max_lookups=settings.max_send_tries)
    SENDS.labels(name, f"reconciled_{action.value}").inc()
    if action is attempts.Reconciliation.CONFIRM and lookup.message_id is not None:
        if not await sending.confirm_sent(s, [(attempt_id, lookup.message_id)], token=token, now=now):
            return []
        count_message(s, channel, "sent", provider=name)
        await store.trail(s, [trail("sent", provider=name, provider_message_id=lookup.message_id,
                                    reconciled="provider look-up")])
        await outbox.add(s, [emit(Trigger.TAKEN, attempted(
            send.account_ref, attempt_id, channel, provider=name, cost=providers.by_name[name].cost,
            template=send.template, segments=send.segments, now=now,
            arm=(await attempt_arms(s, [attempt_id])).get(attempt_id)), client=send.client, now=now, cause=cause)])
        await apply_statuses(s, name, [(r, now) for r in lookup.receipts if r.status != "reply"])
        with caused_by(cause):
            for receipt in lookup.receipts:
                if receipt.status == "reply":
                    await apply_receipt(s, name, receipt, now)
        return []
    if action is attempts.Reconciliation.NOT_SENT:
        if send.tries >= settings.max_send_tries:
            if await sending.fail(s, attempt_id, token=token, now=now, failure="not sent after every try"):
                count_message(s, channel, "failed")
                events.append(emit(Trigger.REFUSED, ContactFailed(
                    attempt_id=attempt_id, account_ref=send.account_ref, channel=channel, failed_at=now,
                    reason="not sent after every try"), client=send.client, now=now, cause=cause))
                return [trail("failed", reason="not sent after every try")]
            return []
        # Sent again only through the claim: decided again under the contact law at that moment.
        at = now if send.tries <= 1 else attempts.retry_at(now, send.tries - 1, settings.retry_backoff_s)
        if await sending.back_to_scheduled(s, attempt_id, token=token, at=at, why="the provider never got it"):
            return [trail("not_sent", provider=name,
                          reason="the provider does not have the message; decided again before any send",
                          scheduled_at=at.isoformat())]
        return []
    if action is attempts.Reconciliation.LOOK_AGAIN:
        await sending.look_again(s, attempt_id, token=token)
        return []
    reason = lookup.reason or "the provider cannot tell whether it has the message"
    if await sending.mark_unknown(s, attempt_id, token=token, reason=reason, message_id=lookup.message_id):
        log.warning("a send is unknown: an operator decides", extra={"fields": {
            "attempt_id": str(attempt_id), "provider": name}})
        return [trail("unknown", provider=name, reason=reason, provider_message_id=lookup.message_id)]
    return []
