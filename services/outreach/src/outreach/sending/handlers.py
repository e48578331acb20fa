"""The send path. Due attempts are decided under the contact law and claimed with a lease in one transaction;
their providers are called after it commits (never inside one), each call only while enough of the lease is
left for it; what the providers took is confirmed only if the claim is still ours. A send whose lease expired
(its replica died or stalled between claim and confirmation) is never resent blindly: its provider is asked,
and it is confirmed, decided again under the contact law as any due attempt, or left `unknown` for an operator.
The sandbox goes through the same path as every provider."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import Counter

from outreach import store
from outreach.domain import attempts
from outreach.domain.contact_law import PastContact, decide_contact
from outreach.domain.templates import TemplateError
from outreach.handlers import (
    Renderer,
    _apply_receipt,
    _decision_detail,
    _trail,
    contact_request,
    fail_unrendered,
    outbox,
    recipient_of,
)
from outreach.providers import Lookup, OutboundMessage, Provider, Providers, Receipt, SendError, Sent
from outreach.sending import store as sending_store
from outreach.settings import OutreachSettings
from recaudo_common.db import Database
from recaudo_common.events import ContactAttempted, ContactBlocked, ContactDelivered, ContactFailed, Envelope

log = logging.getLogger("recaudo.outreach")
SENDS = Counter("recaudo_outreach_sends_total",
                "Outcomes of sends and of sends reconciled after their lease expired", ["provider", "outcome"])
CHANNEL_NOT_CONFIGURED = "channel_not_configured"  # the reason providers.py gives the same block


@dataclass(frozen=True)
class Outgoing:
    message: OutboundMessage
    client: str
    account_ref: str
    provider: str
    template: str
    segments: int | None
    tries: int


@dataclass
class Claim:
    """Attempts claimed together: one token fences them all; `until` is the lease's expiry."""

    token: uuid.UUID
    until: dt.datetime
    items: list[Outgoing] = field(default_factory=list)


async def run_due_attempts(db: Database, providers: Providers, settings: OutreachSettings, *, now: dt.datetime,
                           limit: int = 200) -> int:
    """Decides every due attempt under the contact law: sends what is allowed, moves what is blocked to its next
    allowed instant (never drops it), and cancels what can never be allowed. Returns how many were claimed.
    While sending is paused, nothing is claimed."""
    if settings.sending_paused:
        return 0
    claimed, claim = await claim_due(db, providers, settings, now=now, limit=limit)
    await send_claimed(db, providers, settings, claim, now=now)
    return claimed


async def claim_due(db: Database, providers: Providers, settings: OutreachSettings, *, now: dt.datetime,
                    limit: int) -> tuple[int, Claim]:
    """The decisions, in one transaction: each due attempt is decided by the contact law at `now`; the allowed
    ones are rendered and become `sending` under one claim (a token and a lease). Returns how many attempts
    were claimed and the claim to send."""
    claim = Claim(uuid.uuid4(), attempts.lease_until(now, settings.sending_timeout_s))
    async with db.transaction() as s:
        due = await store.claim_due(s, now, limit)
        orphans = [] if due else await store.orphan_due(s, now, limit)
        # Placement or client not here yet: look again later rather than guess.
        await store.reschedule_many(s, [{"id": o["id"], "at": now + dt.timedelta(minutes=5)} for o in orphans])
        renderer = Renderer(s, settings, now)
        trail: list[dict[str, Any]] = []
        events: list[Envelope] = []
        decisions, reschedules, cancels, sending, messages, contacts = [], [], [], [], [], []
        batch: dict[tuple[str, str], tuple[PastContact, ...]] = {}
        for a in due:
            debtor = (a["client_slug"], a["debtor_id"])
            decision = decide_contact(contact_request(a, a["channel"], now, batch.get(debtor, ())))
            decisions.append({"attempt_id": a["id"], "decided_at": now, "local_time": decision.local_time.isoformat(),
                              "allowed": decision.allowed, "reasons": list(decision.reasons),
                              "next_allowed_at": decision.next_allowed_at})
            trail.append(_trail(a, now, "decision", attempt_id=a["id"], channel=a["channel"],
                                **_decision_detail(decision)))
            recipient = recipient_of(a, a["channel"])
            provider = providers.for_channel(a["channel"])
            if decision.allowed and recipient is None:
                cancels.append({"id": a["id"], "why": f"no {a['channel']} address on file"})
                trail.append(_trail(a, now, "cancelled", attempt_id=a["id"], channel=a["channel"],
                                    reason="no address on file"))
                continue
            if not decision.allowed or provider is None or recipient is None:
                # Blocked by the law, or (production) no provider for the channel: off, never the sandbox.
                reasons = list(decision.reasons) if not decision.allowed else [CHANNEL_NOT_CONFIGURED]
                next_allowed_at = decision.next_allowed_at if not decision.allowed else None
                if next_allowed_at is not None:
                    reschedules.append({"id": a["id"], "at": next_allowed_at})
                    trail.append(_trail(a, now, "rescheduled", attempt_id=a["id"], channel=a["channel"],
                                        to=next_allowed_at.isoformat()))
                else:
                    cancels.append({"id": a["id"], "why": "blocked: " + ", ".join(reasons)})
                    trail.append(_trail(a, now, "cancelled", attempt_id=a["id"], channel=a["channel"],
                                        reason="blocked", reasons=reasons))
                events.append(ContactBlocked(
                    attempt_id=a["id"], account_ref=a["account_ref"], channel=a["channel"], decided_at=now,
                    reasons=reasons, next_allowed_at=next_allowed_at,
                ).envelope(client=a["client_slug"], occurred_at=now))
                continue
            try:
                rendered = await renderer.render(a, a["channel"])
            except TemplateError as e:  # the client's template fails on this account: only this message fails
                await fail_unrendered(s, a, e, now=now)
                continue
            template = f"{a['channel']}/{a['locale']}"
            sending.append({"id": a["id"], "now": now, "provider": provider.name, "template": template,
                            "encoding": rendered.encoding, "segments": rendered.segments})
            messages.append({"attempt_id": a["id"], "recipient": recipient, "subject": rendered.subject,
                             "body": rendered.body})
            contacts.append({"client": a["client_slug"], "debtor_id": a["debtor_id"], "account_ref": a["account_ref"],
                             "channel": a["channel"], "at": now, "attempt_id": a["id"]})
            batch[debtor] = (*batch.get(debtor, ()), PastContact(now, a["channel"], account_ref=a["account_ref"]))
            trail.append(_trail(a, now, "sending", attempt_id=a["id"], channel=a["channel"], provider=provider.name,
                                template=template, encoding=rendered.encoding, segments=rendered.segments))
            claim.items.append(Outgoing(
                OutboundMessage(a["id"], a["channel"], recipient, rendered.subject, rendered.body),
                a["client_slug"], a["account_ref"], provider.name, template, rendered.segments, a["tries"] + 1))
        await store.record_decisions(s, decisions)
        await store.reschedule_many(s, reschedules)
        await store.cancel_many(s, cancels)
        await sending_store.mark_sending(s, sending, token=claim.token, until=claim.until)
        await store.save_outgoing_many(s, messages)
        await store.add_attempt_contacts(s, contacts)
        await store.trail(s, trail)
        await outbox.add(s, events)
    return len(due) + len(orphans), claim


async def send_claimed(db: Database, providers: Providers, settings: OutreachSettings, claim: Claim, *,
                       now: dt.datetime) -> None:
    """Hands the claim's messages to their providers, batch by batch as each provider takes them, and records
    each batch's answers. A provider is called only while the lease outlasts the call (renewed if need be);
    a call that outlives `provider_timeout_s` is left in doubt, to be looked up."""
    started = time.monotonic()

    def current() -> dt.datetime:
        return now + dt.timedelta(seconds=time.monotonic() - started)

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
            for _ in chunk:
                await providers.limiters[name].take()
            if not attempts.may_call_provider(claim.until, current(), settings.provider_timeout_s):
                claim.until = attempts.lease_until(current(), settings.sending_timeout_s)
                async with db.transaction() as s:
                    held = await sending_store.renew_lease(s, claim.token, claim.until)
                chunk = [i for i in chunk if i.message.attempt_id in held]
                if not chunk:
                    continue
            # Recorded at the batch's instant, as its decisions were; only the lease reads the time elapsed.
            answers = await _call(provider, chunk, now, settings.provider_timeout_s)
            await record_answers(db, providers, settings, claim, list(zip(chunk, answers, strict=True)), now=now)


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
    """One transaction for a batch's answers: what was taken is `sent` (and what the provider already knows of
    it applied), a certain failure is retried later or fails, a doubtful one is left for the look-up. Every
    change is conditioned on the claim still being ours."""
    trail: list[dict[str, Any]] = []
    events: list[Envelope] = []
    taken = [(item, answer) for item, answer in answered if isinstance(answer, Sent)]
    async with db.transaction() as s:
        confirmed = {row["id"]: row for row in await sending_store.confirm_sent(
            s, [(item.message.attempt_id, answer.message_id) for item, answer in taken], token=claim.token, now=now)}
        missed = [(item.message.attempt_id, answer.message_id) for item, answer in taken
                  if item.message.attempt_id not in confirmed]
        elsewhere = await sending_store.confirmed_elsewhere(s, missed)
        outcomes: list[tuple[uuid.UUID, str, str | None]] = []
        later: list[tuple[str, Receipt, dt.datetime]] = []
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
            row = {"client_slug": item.client, "account_ref": item.account_ref}
            trail.append(_trail(row, now, "sent", attempt_id=attempt_id, channel=item.message.channel,
                                provider=item.provider, provider_message_id=answer.message_id))
            events.append(_attempted(item.client, item.account_ref, attempt_id, item.message.channel,
                                     providers.by_name[item.provider], item.template, item.segments, now))
            for r in answer.receipts:
                if r.status in ("delivered", "failed"):
                    outcomes.append((attempt_id, r.status, r.detail if r.status == "failed" else None))
                elif r.status != "sent":
                    later.append((item.provider, r, now))
        for provider in {item.provider for item, _ in taken}:
            ids = [a.message_id for i, a in taken if i.provider == provider and i.message.attempt_id in confirmed]
            later += [(provider, Receipt(e["provider_message_id"], e["status"], e["detail"]), e["received_at"])
                      for e in await sending_store.take_early_receipts_many(s, provider, ids)]
        for settled in await sending_store.settle_many(s, outcomes, now):
            trail.append(_trail(settled, now, settled["status"], attempt_id=settled["id"], channel=settled["channel"],
                                **({"reason": settled["failure"]} if settled["failure"] else {})))
            events.append(_settled_event(settled, now))
        for item, error in answered:
            if isinstance(error, SendError):
                trail += await _send_failed(s, settings, claim, item, error, now, events)
        await store.trail(s, trail)
        await outbox.add(s, events)
        for provider_name, receipt, at in later:
            await _apply_receipt(s, provider_name, receipt, at)


async def _send_failed(s: Any, settings: OutreachSettings, claim: Claim, item: Outgoing, error: SendError,
                       now: dt.datetime, events: list[Envelope]) -> list[dict[str, Any]]:
    attempt_id, channel = item.message.attempt_id, item.message.channel
    row = {"client_slug": item.client, "account_ref": item.account_ref}
    outcome = attempts.after_send_error(transient=error.transient, ambiguous=error.ambiguous, tries=item.tries,
                                        max_tries=settings.max_send_tries)
    SENDS.labels(item.provider, outcome.value).inc()
    if outcome is attempts.SendOutcome.AMBIGUOUS:
        return [_trail(row, now, "send_in_doubt", attempt_id=attempt_id, channel=channel, reason=error.reason)]
    if outcome is attempts.SendOutcome.RETRY:
        at = attempts.retry_at(now, item.tries, settings.retry_backoff_s)
        if await sending_store.back_to_scheduled(s, attempt_id, token=claim.token, at=at, why=error.reason):
            return [_trail(row, now, "send_retry", attempt_id=attempt_id, channel=channel, reason=error.reason,
                           retry_at=at.isoformat())]
        return []
    if await sending_store.fail(s, attempt_id, token=claim.token, now=now, failure=error.reason):
        events.append(ContactFailed(attempt_id=attempt_id, account_ref=item.account_ref, channel=channel,
                                    failed_at=now, reason=error.reason).envelope(client=item.client, occurred_at=now))
        return [_trail(row, now, "failed", attempt_id=attempt_id, channel=channel, reason=error.reason)]
    return []


def _attempted(client: str, account_ref: str, attempt_id: uuid.UUID, channel: str, provider: Provider,
               template: str, segments: int | None, now: dt.datetime) -> Envelope:
    return ContactAttempted(attempt_id=attempt_id, account_ref=account_ref, channel=channel, provider=provider.name,
                            attempted_at=now, cost=provider.cost * (segments or 1),
                            template=template).envelope(client=client, occurred_at=now)


def _settled_event(row: dict[str, Any], now: dt.datetime) -> Envelope:
    if row["status"] == "delivered":
        return ContactDelivered(attempt_id=row["id"], account_ref=row["account_ref"], channel=row["channel"],
                                delivered_at=now).envelope(client=row["client_slug"], occurred_at=now)
    return ContactFailed(attempt_id=row["id"], account_ref=row["account_ref"], channel=row["channel"],
                         failed_at=now, reason=row["failure"] or "failed").envelope(client=row["client_slug"],
                                                                                    occurred_at=now)


# ------------------------------------------------------------------ sends whose lease expired

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
    async with db.transaction() as s:
        taken = await sending_store.take_expired(
            s, now=now, token=token, until=attempts.lease_until(now, settings.sending_timeout_s), limit=limit)
    looked: list[tuple[dict[str, Any], Lookup]] = []
    for row in taken:
        looked.append((row, await _look_up(providers, settings, row)))
    trail: list[dict[str, Any]] = []
    events: list[Envelope] = []
    async with db.transaction() as s:
        for row, lookup in looked:
            trail += await _reconcile_one(s, providers, settings, token, row, lookup, now, events)
        await store.trail(s, trail)
        await outbox.add(s, events)
    return len(taken)


async def _look_up(providers: Providers, settings: OutreachSettings, row: dict[str, Any]) -> Lookup:
    provider = providers.by_name.get(row["provider"] or "")
    if provider is None:
        return Lookup(None, reason=f"provider {row['provider']!r} is not configured here")
    if row["body"] is None:
        return Lookup(None, reason="the message handed over was not kept")
    message = OutboundMessage(row["id"], row["channel"], row["recipient"], row["subject"], row["body"])
    try:
        async with asyncio.timeout(settings.provider_timeout_s):
            return await provider.look_up(message, row["sending_since"])
    except TimeoutError:
        return Lookup(None, reason="look-up timed out", retry=True)
    except Exception as e:
        log.exception("provider look-up failed", extra={"fields": {"provider": provider.name}})
        return Lookup(None, reason=f"look-up failed: {type(e).__name__}", retry=True)


async def _reconcile_one(s: Any, providers: Providers, settings: OutreachSettings, token: uuid.UUID,
                         row: dict[str, Any], lookup: Lookup, now: dt.datetime,
                         events: list[Envelope]) -> list[dict[str, Any]]:
    attempt_id, channel, name = row["id"], row["channel"], row["provider"] or "none"
    action = attempts.reconcile(attempts.LookupAnswer(lookup.found, lookup.retry), lookups=row["lookups"],
                                max_lookups=settings.max_send_tries)
    SENDS.labels(name, f"reconciled_{action.value}").inc()
    if action is attempts.Reconciliation.CONFIRM and lookup.message_id is not None:
        confirmed = await sending_store.confirm_sent(s, [(attempt_id, lookup.message_id)], token=token, now=now)
        if not confirmed:
            return []
        events.append(_attempted(row["client_slug"], row["account_ref"], attempt_id, channel,
                                 providers.by_name[name], row["template"], row["segments"], now))
        trail = [_trail(row, now, "sent", attempt_id=attempt_id, channel=channel, provider=name,
                        provider_message_id=lookup.message_id, reconciled="provider look-up")]
        await store.trail(s, trail)
        for receipt in lookup.receipts:
            await _apply_receipt(s, name, receipt, now)
        return []
    if action is attempts.Reconciliation.NOT_SENT:
        if row["tries"] >= settings.max_send_tries:
            if await sending_store.fail(s, attempt_id, token=token, now=now, failure="not sent after every try"):
                events.append(ContactFailed(attempt_id=attempt_id, account_ref=row["account_ref"], channel=channel,
                                            failed_at=now, reason="not sent after every try").envelope(
                    client=row["client_slug"], occurred_at=now))
                return [_trail(row, now, "failed", attempt_id=attempt_id, channel=channel,
                               reason="not sent after every try")]
            return []
        # Sent again only through the claim: decided again under the contact law at that moment.
        at = now if row["tries"] <= 1 else attempts.retry_at(now, row["tries"] - 1, settings.retry_backoff_s)
        if await sending_store.back_to_scheduled(s, attempt_id, token=token, at=at,
                                                 why="the provider never got it"):
            return [_trail(row, now, "not_sent", attempt_id=attempt_id, channel=channel, provider=name,
                           reason="the provider does not have the message; decided again before any send",
                           scheduled_at=at.isoformat())]
        return []
    if action is attempts.Reconciliation.LOOK_AGAIN:
        await sending_store.look_again(s, attempt_id, token=token)
        return []
    reason = lookup.reason or "the provider cannot tell whether it has the message"
    if await sending_store.mark_unknown(s, attempt_id, token=token, reason=reason, message_id=lookup.message_id):
        log.warning("a send is unknown: an operator decides", extra={"fields": {
            "attempt_id": str(attempt_id), "provider": name}})
        return [_trail(row, now, "unknown", attempt_id=attempt_id, channel=channel, provider=name, reason=reason,
                       provider_message_id=lookup.message_id)]
    return []


async def unknown_sends(db: Database, *, client: str, limit: int) -> list[sending_store.UnknownSend]:
    """The client company's sends in doubt, oldest first."""
    async with db.transaction() as s:
        return await sending_store.unknown_sends(s, client, limit)
