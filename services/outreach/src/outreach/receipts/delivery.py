"""A provider's word on the fate of messages it took (delivered, undelivered), applied once through the attempt's
state machine, many receipts in a few statements: the one way a receipt settles an attempt, whether it came in a
provider's callback or with the provider's answer to the send (a simulated provider's receipts)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncSession

from outreach import store
from outreach.domain.attempts import Trigger
from outreach.providers import Receipt
from outreach.receipts import store as receipts
from outreach.receipts.store import SentAttempt, Settling
from outreach.sending.callbacks import confirm_by_callback
from outreach.sending.events import cause_of, emit
from outreach.store import TrailEntry, outbox
from recaudo_common.events import ContactDelivered, ContactFailed, Envelope
from recaudo_common.outbox import Cause, current_cause
from recaudo_common.redaction import mask_text

SETTLING = {"delivered": Trigger.DELIVERED, "failed": Trigger.UNDELIVERED}


async def apply_statuses(s: AsyncSession, provider: str, received: Sequence[tuple[Receipt, dt.datetime]]
                         ) -> list[str]:
    """Each status receipt's outcome, in order: "applied", "duplicate" (already settled, or a status that settles
    nothing), or "unknown" (no attempt of ours is known by its message id yet: kept for the send to apply)."""
    if not received:
        return []
    # A provider's failure text may quote the number or address it failed on: kept (on the attempt, an early
    # receipt, the trail, contact.failed) with those masked.
    received = [(replace(r, detail=mask_text(r.detail)) if r.detail else r, at) for r, at in received]
    found = await receipts.attempts_by_provider_ids(s, provider, [r.message_id for r, _ in received])
    outcomes: list[str] = []
    first: dict[uuid.UUID, int] = {}  # an attempt's first settling receipt here; the later ones are duplicates
    for i, (r, at) in enumerate(received):
        settling = found.get(r.message_id)
        if settling is None and r.attempt_id is not None:
            send = await confirm_by_callback(s, provider, r.attempt_id, r.message_id, at)
            if send is not None:
                settling = found[r.message_id] = Settling(SentAttempt(
                    send.attempt_id, send.client, send.account_ref, send.channel, send.debtor_id),
                    send.plan_id, send.correlation_id)
        if settling is None:
            # The provider may call back before the send's own transaction commits the message id: keep the
            # receipt; the send applies it when it records the id.
            await receipts.keep_early_receipt(s, provider, r.message_id, r.status, r.detail, at)
            outcomes.append("unknown")
        elif r.status in SETTLING and settling.attempt.attempt_id not in first:
            first[settling.attempt.attempt_id] = i
            outcomes.append("pending")
        else:
            outcomes.append("duplicate")
    pending = [(received[i], found[received[i][0].message_id].attempt) for i in first.values()]
    moved: set[uuid.UUID] = set()
    for status, trigger in SETTLING.items():
        moved |= await receipts.settle_many(s, trigger, [
            (a.attempt_id, at, r.detail or "failed") for (r, at), a in pending if r.status == status])
    trail: list[TrailEntry] = []
    events: list[Envelope] = []
    command = current_cause() or Cause.command()
    for i in first.values():
        (r, at), settling = received[i], found[received[i][0].message_id]
        a, cause = settling.attempt, cause_of(settling.plan_id, settling.correlation_id, command)
        if a.attempt_id not in moved:
            outcomes[i] = "duplicate"
            continue
        outcomes[i] = "applied"
        if r.status == "delivered":
            trail.append(TrailEntry(a.client, a.account_ref, at, "delivered", a.attempt_id, a.channel))
            events.append(emit(Trigger.DELIVERED, ContactDelivered(
                attempt_id=a.attempt_id, account_ref=a.account_ref, channel=a.channel, delivered_at=at),
                client=a.client, now=at, cause=cause))
        else:
            trail.append(TrailEntry(a.client, a.account_ref, at, "failed", a.attempt_id, a.channel,
                                    {"reason": r.detail}))
            events.append(emit(Trigger.UNDELIVERED, ContactFailed(
                attempt_id=a.attempt_id, account_ref=a.account_ref, channel=a.channel, failed_at=at,
                reason=r.detail or "failed"), client=a.client, now=at, cause=cause))
    await store.trail(s, trail)
    await outbox.add(s, events)
    return outcomes
