"""The send path. Due attempts are decided under the contact law and claimed with a lease in one transaction;
their providers are called after it commits (never inside one), each call only while enough of the lease is
left for it; what the providers took is confirmed only if the claim is still ours. A send whose lease expired
(its replica died or stalled between claim and confirmation) is never resent blindly: its provider is asked,
and it is confirmed, decided again under the contact law as any due attempt, or left `unknown` for an operator.

Every provider goes through the same path, simulated or real, and what a provider already knows of a message
when it takes it (simulated receipts) is applied by the receipts' own handler, as its callback would be.
Every status change is a move of the attempt's state machine (domain/attempts.py), and the events it emits
carry the cause of the attempt: its plan's correlation, the plan as their cause."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
import uuid
from dataclasses import dataclass, field, replace

from sqlalchemy.ext.asyncio import AsyncSession

from outreach import confirmations, holds, store
from outreach.best_time.store import attempt_arms
from outreach.debtors import decide_collection, decision_detail, recipient_of
from outreach.domain import attempts
from outreach.domain.attempts import Trigger
from outreach.domain.collection_holds import HOLD_REASONS
from outreach.domain.contact_law import PastContact
from outreach.domain.templates import TemplateError
from outreach.messages import Renderer
from outreach.providers import (
    CHANNEL_NOT_CONFIGURED,
    OutboundMessage,
    Provider,
    Providers,
    Receipt,
    SendError,
    Sent,
    WhatsAppCloud,
)
from outreach.receipts.delivery import apply_statuses
from outreach.receipts.handlers import apply_receipt
from outreach.sending import store as sending
from outreach.sending.events import SENDS, attempted, cause_of, count_message, count_refusals, emit, entry
from outreach.sending.pacing import claim_paced, settle
from outreach.sending.reconcile import reconcile_expired
from outreach.sending.whatsapp import WhatsAppRouting, cloud_message, confirmation_message
from outreach.settings import OutreachSettings
from outreach.store import TrailEntry, outbox
from outreach.unsubscribe.handlers import contact_point_refused
from recaudo_common.db import Database
from recaudo_common.events import ContactBlocked, ContactFailed, Envelope
from recaudo_common.outbox import Cause, caused_by

log = logging.getLogger("recaudo.outreach")
__all__ = ["claim_due", "reconcile_expired", "record_answers", "run_due_attempts", "send_claimed", "unknown_sends"]


@dataclass(frozen=True)
class Outgoing:
    """A claimed message on its way to its provider."""

    message: OutboundMessage
    client: str
    account_ref: str
    provider: str
    template: str
    segments: int | None
    tries: int
    cause: Cause
    scheduled_at: dt.datetime | None = None  # the slot it was due in: how late it went out
    open_until: dt.datetime | None = None  # the end of the hours its decision allowed it in (contact_law)


@dataclass
class Claim:
    """Attempts claimed together: one token fences them all; `until` is the lease's expiry."""

    token: uuid.UUID
    until: dt.datetime
    cause: Cause  # the scheduler's run
    items: list[Outgoing] = field(default_factory=list)
    # The claim's `now`, and the monotonic clock when it was read: how far it is now, however long the claim's
    # transaction waited (for a debtor's lock, a database restarting) before its leases were written.
    decided_at: dt.datetime | None = None
    started: float = field(default_factory=time.monotonic)

    def current(self, fallback: dt.datetime) -> dt.datetime:
        at = self.decided_at or fallback
        return at + dt.timedelta(seconds=time.monotonic() - self.started)


def _due_entry(a: sending.DueAttempt, at: dt.datetime, kind: str, **detail: object) -> TrailEntry:
    return entry(a.debtor.client, a.debtor.account_ref, at, kind, a.attempt_id, a.channel, **detail)


async def run_due_attempts(db: Database, providers: Providers, settings: OutreachSettings, *, now: dt.datetime,
                           limit: int = 200) -> int:
    """Decides every due attempt under the contact law: sends what is allowed, moves what is blocked to its next
    allowed instant (never drops it), and cancels what can never be allowed. Returns how many were claimed.
    While sending is paused, nothing is claimed."""
    if settings.sending_paused:
        return 0
    with caused_by(Cause.command()) as run:
        assert run is not None
        claimed, claim = await claim_due(db, providers, settings, now=now, limit=limit, run=run)
        await send_claimed(db, providers, settings, claim, now=now)
    return claimed


@dataclass
class _Decided:
    """What one claim's decisions write, together."""

    routing: WhatsAppRouting  # which client companies send WhatsApp through the Cloud API
    decisions: list[sending.Decision] = field(default_factory=list)
    reschedules: list[tuple[uuid.UUID, dt.datetime]] = field(default_factory=list)
    # (client, account, until, why): accounts whose plan a collection hold postpones (holds.postpone)
    held: list[tuple[str, str, dt.datetime, str]] = field(default_factory=list)
    cancels: list[tuple[uuid.UUID, Trigger, str]] = field(default_factory=list)
    handovers: list[sending.Handover] = field(default_factory=list)
    trail: list[TrailEntry] = field(default_factory=list)
    events: list[Envelope] = field(default_factory=list)


async def claim_due(db: Database, providers: Providers, settings: OutreachSettings, *, now: dt.datetime,
                    limit: int, run: Cause | None = None) -> tuple[int, Claim]:
    """The decisions, in one transaction: each due attempt is decided by the contact law at `now` (the claim's
    re-check, whatever was decided when it was planned); the allowed ones are rendered and claimed under one
    token and lease. Returns how many attempts were claimed and the claim to send."""
    claim = Claim(uuid.uuid4(), attempts.lease_until(now, settings.sending_timeout_s), run or Cause.command(),
                  decided_at=now)
    async with db.transaction() as s:
        routing = WhatsAppRouting(providers)
        # Each sender within its rate, shared by every replica (sending/pacing.py): what it holds back stays due.
        due, paced = await claim_paced(s, settings, providers, routing, now=now, limit=limit)
        # Each debtor decided by one claim at a time, their contacts read once held (the law's limits).
        fresh = await store.decide_one_at_a_time(s, [a.debtor for a in due], now)
        # And their blocks read again once held, in one statement: a death or an insolvency held on another of the
        # person's accounts touches none of these attempts, and may have committed since they were picked; so may
        # a promise made or an arrangement agreed on the account (the collection hold).
        blocks = await store.blocks_now(s, [a.debtor for a in due])
        due = [replace(a, debtor=store.as_held(store.as_blocked_now(a.debtor, blocks), fresh)) for a in due]
        # Only attempts with no account or client here: pacing holds none of them back.
        orphans = [] if due else await sending.orphan_due(s, now, limit)
        # Placement or client not here yet: look again later rather than guess.
        await sending.reschedule_many(s, [(o, now + dt.timedelta(minutes=5)) for o in orphans])
        renderer = Renderer(s, settings, now)
        decided = _Decided(routing)
        batch: dict[tuple[str, str], tuple[PastContact, ...]] = {}
        for a in due:
            debtor = (a.debtor.client, a.debtor.debtor_id)
            await _decide(s, providers, renderer, claim, decided, a, batch.get(debtor, ()), now)
            if decided.handovers and decided.handovers[-1].due is a:
                batch[debtor] = (*batch.get(debtor, ()), PastContact(now, a.channel, account_ref=a.debtor.account_ref))
        await sending.record_decisions(s, decided.decisions)
        await sending.reschedule_many(s, decided.reschedules)
        await sending.cancel_many(s, decided.cancels)
        await holds.postponed(s, decided.held, now)
        # The lease runs from when it is written, not from `now`: the decisions may have waited for locks.
        claim.until = attempts.lease_until(claim.current(now), settings.sending_timeout_s)
        await sending.mark_sending(s, decided.handovers, now=now, token=claim.token, until=claim.until)
        await settle(s, paced, [sending.Lane(h.due.debtor.client, h.due.channel) for h in decided.handovers])
        await store.trail(s, decided.trail)
        await outbox.add(s, decided.events)
    return len(due) + len(orphans), claim


async def _decide(s: AsyncSession, providers: Providers, renderer: Renderer, claim: Claim, decided: _Decided,
                  a: sending.DueAttempt, earlier: tuple[PastContact, ...], now: dt.datetime) -> None:
    """One due attempt: the contact law's decision now, and the move it makes of the attempt."""
    cause = cause_of(a.plan_id, a.correlation_id, claim.cause)
    # A collection message waits while a promise or an arrangement holds its account; a payment's receipt does not.
    decision = decide_collection(confirmations.as_the_law_sees_it(a.debtor, a.confirmation), a.channel, now, earlier,
                                 held=a.confirmation is None)
    decided.decisions.append(sending.Decision(a.attempt_id, now, decision.local_time.isoformat(), decision.allowed,
                                              tuple(decision.reasons), decision.next_allowed_at))
    if not decision.allowed:
        count_refusals(s, list(decision.reasons))
    decided.trail.append(_due_entry(a, now, "decision", **decision_detail(decision)))
    recipient = recipient_of(a.debtor, a.channel)
    provider = await decided.routing.provider(s, a.debtor.client, a.channel)
    trigger = attempts.decide_due(allowed=decision.allowed, allowed_later=decision.next_allowed_at is not None,
                                  has_address=recipient is not None, has_provider=provider is not None)
    if trigger is Trigger.NO_ADDRESS:
        decided.cancels.append((a.attempt_id, trigger, f"no {a.channel} address on file"))
        decided.trail.append(_due_entry(a, now, "cancelled", reason="no address on file"))
        return
    if trigger in (Trigger.RESCHEDULE, Trigger.BLOCK):
        # Blocked by the law, or (production) no provider for the channel: it is off, nothing stands in.
        reasons = list(decision.reasons) if not decision.allowed else [CHANNEL_NOT_CONFIGURED]
        next_allowed_at = decision.next_allowed_at if trigger is Trigger.RESCHEDULE else None
        if next_allowed_at is not None and reasons[0] in HOLD_REASONS:
            # A promise pending or an arrangement standing: the account's plan waits for its end, spacing kept.
            decided.held.append((a.debtor.client, a.debtor.account_ref, next_allowed_at, reasons[0]))
        elif next_allowed_at is not None:
            decided.reschedules.append((a.attempt_id, next_allowed_at))
            decided.trail.append(_due_entry(a, now, "rescheduled", to=next_allowed_at.isoformat()))
        else:
            decided.cancels.append((a.attempt_id, trigger, "blocked: " + ", ".join(reasons)))
            decided.trail.append(_due_entry(a, now, "cancelled", reason="blocked", reasons=reasons))
        decided.events.append(emit(trigger, ContactBlocked(
            attempt_id=a.attempt_id, account_ref=a.debtor.account_ref, channel=a.channel, decided_at=now,
            reasons=reasons, next_allowed_at=next_allowed_at), client=a.debtor.client, now=now, cause=cause))
        return
    assert provider is not None and recipient is not None
    try:
        if a.confirmation is not None:  # a payment confirmation (confirmations.py): the platform's receipt text
            rendered = confirmations.render(renderer, a.debtor, a.channel, a.confirmation)
            whatsapp = (await confirmation_message(s, a.debtor, recipient, rendered, now)
                        if provider.name == WhatsAppCloud.name else None)
        else:
            rendered = await renderer.render(a.debtor, a.channel)
            # On the Cloud API: the approved template outside the 24-hour window, the message with buttons inside.
            whatsapp = (await cloud_message(s, renderer, a.debtor, recipient, rendered, now)
                        if provider.name == WhatsAppCloud.name else None)
    except TemplateError as e:  # the client's template fails on this account: only this message fails
        await fail_unrendered(s, a, e, now=now, cause=cause)
        return
    kind = a.channel if a.confirmation is None else f"confirmation-{a.confirmation.kind}"
    template = f"{kind}/{a.debtor.locale}"
    message = OutboundMessage(a.attempt_id, a.channel, recipient, rendered.subject, rendered.body,
                              client=a.debtor.client, whatsapp=whatsapp)
    decided.handovers.append(sending.Handover(a, message, provider.name, template, rendered.encoding,
                                              rendered.segments))
    shape = {"whatsapp": whatsapp.kind} if whatsapp else {}
    decided.trail.append(_due_entry(a, now, "sending", provider=provider.name, template=template,
                                    encoding=rendered.encoding, segments=rendered.segments, **shape))
    claim.items.append(Outgoing(message, a.debtor.client, a.debtor.account_ref, provider.name, template,
                                rendered.segments, a.tries + 1, cause, a.scheduled_at, decision.open_until))


async def fail_unrendered(s: AsyncSession, a: sending.DueAttempt, error: TemplateError, *, now: dt.datetime,
                          cause: Cause) -> None:
    """A due attempt whose message the client's template cannot render (over its budget on this account's data,
    or failing): that attempt fails with the reason, which holds none of the account's values."""
    reason = f"{error.code}: {error.reason}"
    log.warning("template failed at send", extra={"fields": {"client": a.debtor.client, "channel": a.channel,
                                                             "code": error.code}})
    if await sending.fail_unrendered(s, a.attempt_id, now, reason):
        count_message(s, a.channel, "failed")
        await store.trail(s, [_due_entry(a, now, "failed", reason=reason)])
        await outbox.add(s, [emit(Trigger.UNRENDERABLE, ContactFailed(
            attempt_id=a.attempt_id, account_ref=a.debtor.account_ref, channel=a.channel, failed_at=now,
            reason=reason), client=a.debtor.client, now=now, cause=cause)])


async def send_claimed(db: Database, providers: Providers, settings: OutreachSettings, claim: Claim, *,
                       now: dt.datetime) -> None:
    """Hands the claim's messages to their providers, batch by batch as each provider takes them, and records
    each batch's answers. A provider is called only while the lease outlasts the call (renewed if need be);
    a call that outlives `provider_timeout_s` is left in doubt, to be looked up."""
    started = time.monotonic()

    def current() -> dt.datetime:
        # The later of this call's clock and the claim's: the claim's transaction may have taken a while after
        # its `now` was read, and a lease judged by an earlier clock than the one that writes it could be taken
        # over (its sends reconciled and sent again by another replica) while this one still calls the provider.
        return max(now + dt.timedelta(seconds=time.monotonic() - started), claim.current(now))

    held = {item.message.attempt_id for item in claim.items}
    by_provider: dict[str, list[Outgoing]] = {}
    for item in claim.items:
        by_provider.setdefault(item.provider, []).append(item)
    for name, items in by_provider.items():
        provider = providers.by_name[name]
        for start in range(0, len(items), provider.max_batch):
            chunk = [i for i in items[start:start + provider.max_batch] if i.message.attempt_id in held]
            if not chunk:
                continue
            if not attempts.may_call_provider(claim.until, current(), settings.provider_timeout_s):
                claim.until = attempts.lease_until(current(), settings.sending_timeout_s)
                async with db.transaction() as s:
                    held = await sending.renew_lease(s, claim.token, claim.until)
                chunk = [i for i in chunk if i.message.attempt_id in held]
                if not chunk:
                    continue
            # A message whose hours ended while the claim's earlier ones were handed over (a slow provider, a
            # large claim) is not sent: it is decided again, and the law moves it to the next window.
            if closed := [i for i in chunk if i.open_until is not None and current() >= i.open_until]:
                await _put_back_closed(db, claim, closed, current())
                chunk = [i for i in chunk if i not in closed]
                if not chunk:
                    continue
            # Recorded at the batch's instant, as its decisions were; only the lease reads the time elapsed.
            answers = await _call(provider, chunk, now, settings.provider_timeout_s)
            await record_answers(db, providers, settings, claim, list(zip(chunk, answers, strict=True)), now=now)


async def _put_back_closed(db: Database, claim: Claim, items: list[Outgoing], at: dt.datetime) -> None:
    """Claimed messages whose hours ended before their provider was called: back to be decided again at `at`,
    their contacts no longer counted, the trail saying why."""
    why = "the contact window closed before it could be handed to the provider"
    async with db.transaction() as s:
        back = [i for i in items if await sending.back_to_scheduled(s, i.message.attempt_id, token=claim.token,
                                                                    at=at, why=why, tried=False)]
        await store.trail(s, [entry(i.client, i.account_ref, at, "not_sent", i.message.attempt_id,
                                    i.message.channel, reason=why) for i in back])


async def _call(provider: Provider, chunk: list[Outgoing], now: dt.datetime,
                timeout_s: float) -> list[Sent | SendError]:
    try:
        async with asyncio.timeout(timeout_s):
            answers = await provider.send([i.message for i in chunk], now)
    except TimeoutError:
        return [SendError("provider call timed out", transient=True, ambiguous=True) for _ in chunk]
    except Exception as e:  # a defect in an adapter: it may have sent, so the look-up decides
        log.exception("provider call failed", extra={"fields": {"provider": provider.name}})
        return [SendError(f"provider call failed: {type(e).__name__}", transient=True, ambiguous=True)
                for _ in chunk]
    if len(answers) != len(chunk):
        return [SendError("provider answered for another number of messages", transient=True, ambiguous=True)
                for _ in chunk]
    return answers


async def record_answers(db: Database, providers: Providers, settings: OutreachSettings, claim: Claim,
                         answered: list[tuple[Outgoing, Sent | SendError]], *, now: dt.datetime) -> None:
    """One transaction for a batch's answers: what was taken is `sent`, and what the provider already knows of it
    (and any receipt that came before) is applied by the receipts' handler; a certain failure is retried later
    or fails, a doubtful one is left for the look-up. Every change is conditioned on the claim still being ours."""
    trail: list[TrailEntry] = []
    events: list[Envelope] = []
    taken = [(item, answer) for item, answer in answered if isinstance(answer, Sent)]
    async with db.transaction() as s:
        confirmed = await sending.confirm_sent(
            s, [(item.message.attempt_id, answer.message_id) for item, answer in taken], token=claim.token, now=now)
        missed = [(item.message.attempt_id, answer.message_id) for item, answer in taken
                  if item.message.attempt_id not in confirmed]
        elsewhere = await sending.confirmed_elsewhere(s, missed)
        arms = await attempt_arms(s, confirmed)
        receipts: list[tuple[Outgoing, Receipt, dt.datetime]] = []
        for item, answer in taken:
            attempt_id = item.message.attempt_id
            if attempt_id not in confirmed:
                # Its status callback recorded it first, or the lease expired and another replica took it over
                # (it will find the message at the provider): either way not ours to record.
                outcome = "confirmed_by_callback" if attempt_id in elsewhere else "lease_lost"
                SENDS.labels(item.provider, outcome).inc()
                if outcome == "lease_lost":
                    log.warning("a send was taken but its claim had expired", extra={"fields": {
                        "attempt_id": str(attempt_id), "provider": item.provider}})
                continue
            SENDS.labels(item.provider, "sent").inc()
            count_message(s, item.message.channel, "sent", provider=item.provider, scheduled_at=item.scheduled_at,
                          now=now)
            trail.append(entry(item.client, item.account_ref, now, "sent", attempt_id, item.message.channel,
                                provider=item.provider, provider_message_id=answer.message_id))
            events.append(emit(Trigger.TAKEN, attempted(
                item.account_ref, attempt_id, item.message.channel, provider=item.provider,
                cost=providers.by_name[item.provider].cost, template=item.template, segments=item.segments, now=now,
                arm=arms.get(attempt_id)),
                client=item.client, now=now, cause=item.cause))
            receipts += [(item, r, now) for r in answer.receipts if r.status != "sent"]
        by_message = {answer.message_id: item for item, answer in taken if item.message.attempt_id in confirmed}
        for provider in {item.provider for item, _ in taken}:
            ids = [m for m, item in by_message.items() if item.provider == provider]
            receipts += [(by_message[e.receipt.message_id], e.receipt, e.received_at)
                         for e in await sending.take_early_receipts_many(s, provider, ids)]
        for item, error in answered:
            if isinstance(error, SendError):
                trail += await _send_failed(s, settings, claim, item, error, now, events)
        await store.trail(s, trail)
        await outbox.add(s, events)
        # What the provider already knows of the messages, as its callbacks would tell it: statuses together,
        # replies one by one (each may opt its debtor out).
        for provider in {item.provider for item, _, _ in receipts}:
            await apply_statuses(s, provider, [(r, at) for item, r, at in receipts
                                               if item.provider == provider and r.status != "reply"])
        for item, receipt, at in receipts:
            if receipt.status == "reply":
                with caused_by(item.cause):
                    await apply_receipt(s, item.provider, receipt, at)


async def _send_failed(s: AsyncSession, settings: OutreachSettings, claim: Claim, item: Outgoing, error: SendError,
                       now: dt.datetime, events: list[Envelope]) -> list[TrailEntry]:
    attempt_id, channel = item.message.attempt_id, item.message.channel
    outcome = attempts.after_send_error(transient=error.transient, ambiguous=error.ambiguous, tries=item.tries,
                                        max_tries=settings.max_send_tries)
    SENDS.labels(item.provider, outcome.value).inc()
    if outcome is attempts.SendOutcome.AMBIGUOUS:
        if not await sending.still_claimed(s, attempt_id, token=claim.token):
            return []  # its provider's callback beat the lost answer (the attempt is `sent`, its trail says so), or
            # another replica took it over when the lease expired: either way no longer this sender's to tell
        return [entry(item.client, item.account_ref, now, "send_in_doubt", attempt_id, channel,
                       reason=error.reason)]
    if outcome is attempts.SendOutcome.RETRY:
        at = attempts.retry_at(now, item.tries, settings.retry_backoff_s)
        if await sending.back_to_scheduled(s, attempt_id, token=claim.token, at=at, why=error.reason):
            return [entry(item.client, item.account_ref, now, "send_retry", attempt_id, channel,
                           reason=error.reason, retry_at=at.isoformat())]
        return []
    if await sending.fail(s, attempt_id, token=claim.token, now=now, failure=error.reason):
        count_message(s, channel, "refused")
        events.append(emit(Trigger.REFUSED, ContactFailed(
            attempt_id=attempt_id, account_ref=item.account_ref, channel=channel, failed_at=now,
            reason=error.reason), client=item.client, now=now, cause=item.cause))
        if error.contact_point_invalid:  # a dead address (a mail server's 550 5.1.1): never used again
            await contact_point_refused(s, client=item.client, account_ref=item.account_ref, attempt_id=attempt_id,
                                        channel=channel, point=item.message.recipient, now=now)
        return [entry(item.client, item.account_ref, now, "failed", attempt_id, channel, reason=error.reason)]
    return []


async def unknown_sends(db: Database, *, client: str, after: tuple[dt.datetime | None, uuid.UUID] | None,
                        limit: int) -> list[sending.UnknownSend]:
    """The client company's sends in doubt, oldest first, those after `after`."""
    async with db.transaction() as s:
        return await sending.unknown_sends(s, client, after=after, limit=limit)
