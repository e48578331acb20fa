"""A send confirmed by its provider's own word: a status callback names its attempt (the callback URL carries
the id), so a send in doubt (its answer lost, or its replica dead before recording it) is `sent`, never sent
again. The receipts' handler asks this before it applies the callback's receipt."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from outreach import store
from outreach.best_time.store import attempt_arms
from outreach.domain.attempts import Trigger
from outreach.providers import PROVIDER_COSTS
from outreach.sending import store as sending
from outreach.sending.events import attempted, cause_of, emit, entry
from outreach.store import outbox
from recaudo_common.outbox import Cause, current_cause


async def confirm_by_callback(s: AsyncSession, provider: str, attempt_id: uuid.UUID, message_id: str,
                              now: dt.datetime) -> sending.ConfirmedSend | None:
    """The attempt confirmed `sent` with the provider's message id (and contact.attempted emitted), or None when
    it is not a send of this provider's in doubt."""
    send = await sending.confirm_from_callback(s, provider, attempt_id, message_id, now)
    if send is None:
        return None
    cause = cause_of(send.plan_id, send.correlation_id, current_cause() or Cause.command())
    await store.trail(s, [entry(send.client, send.account_ref, now, "sent", send.attempt_id, send.channel,
                                provider=provider, provider_message_id=message_id, reconciled="status callback")])
    await outbox.add(s, [emit(Trigger.TAKEN, attempted(
        send.account_ref, send.attempt_id, send.channel, provider=provider,
        cost=PROVIDER_COSTS.get(provider, Decimal("0")), template=send.template, segments=send.segments, now=now,
        arm=(await attempt_arms(s, [send.attempt_id])).get(send.attempt_id)),
        client=send.client, now=now, cause=cause)])
    return send
