"""Receipts and replies: a provider's delivery receipt moves its attempt to delivered or failed (once), a
receipt that comes before its send is recorded waits for it, and a debtor's STOP/BAJA/NO MAS reply opts them
out of that channel at that client company."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from outreach import store
from outreach.consent.handlers import opt_out_debtor
from outreach.domain import attempts
from outreach.domain.replies import is_opt_out
from outreach.providers import Receipt
from outreach.providers.sandbox import Sandbox
from outreach.receipts import store as receipts
from outreach.receipts.delivery import apply_statuses
from outreach.receipts.store import SentAttempt
from outreach.sending.events import cause_of, emit
from outreach.settings import OutreachSettings
from outreach.store import TrailEntry
from recaudo_common.db import Database
from recaudo_common.events import ContactDelivered, ContactReplied
from recaudo_common.outbox import Cause, caused, current_cause
from recaudo_common.redaction import mask_text

log = logging.getLogger("recaudo.outreach")


@dataclass
class ReceiptCounts:
    """What became of a provider's notification, receipt by receipt."""

    applied: int = 0
    duplicate: int = 0
    unknown: int = 0



async def apply_receipts(db: Database, provider: str, received: list[Receipt], *, now: dt.datetime
                         ) -> ReceiptCounts:
    """Each receipt in its own transaction, applied at most once."""
    counts = ReceiptCounts()
    for r in received:
        async with db.transaction() as s:
            outcome = await apply_receipt(s, provider, r, now)
        setattr(counts, outcome, getattr(counts, outcome) + 1)
    return counts


async def apply_receipt(s: AsyncSession, provider: str, r: Receipt, now: dt.datetime) -> str:
    """One receipt or reply: "applied", "duplicate", or "unknown" (no attempt of ours is known by it yet)."""
    if r.status == "reply":
        return await _apply_reply(s, provider, r, now)
    [outcome] = await apply_statuses(s, provider, [(r, now)])
    return outcome


async def _apply_reply(s: AsyncSession, provider: str, r: Receipt, now: dt.datetime) -> str:
    channel = r.reply_channel or "sms"
    answered = await receipts.latest_attempt_to(s, channel, r.reply_from or "")
    opt_out = r.opt_out or is_opt_out(r.detail or "")
    reply_id = uuid.uuid4()
    if not await receipts.save_reply(s, provider=provider, provider_message_id=r.message_id,
                                     attempt_id=answered.attempt_id if answered else None, channel=channel,
                                     body=mask_text(r.detail or ""), opt_out=opt_out, at=now, reply_id=reply_id):
        return "duplicate"
    if answered is None:
        return await _opt_out_unanswered(s, channel, r.reply_from or "", reply_id, now) if opt_out else "unknown"
    await store.trail(s, [TrailEntry(answered.client, answered.account_ref, now, "reply", answered.attempt_id, channel,
                                     {"opt_out": opt_out})])
    await move_to_replied(s, answered, now, opt_out=opt_out, simulated=provider == Sandbox.name)
    if opt_out:
        await opt_out_debtor(s, answered.client, answered.debtor_id, channel, source="reply",
                             evidence=answered.attempt_id, now=now)
        # The number may have had messages of other client companies from the same sender just before or after
        # the one it answers; a debtor cannot tell whose message the STOP is for, and the provider now refuses
        # that sender to the number: every client company that has the number stops too.
        await _opt_out_unanswered(s, channel, r.reply_from or "", reply_id, now,
                                  besides=(answered.client, answered.debtor_id))
    return "applied"


async def _opt_out_unanswered(s: AsyncSession, channel: str, number: str, reply_id: uuid.UUID, now: dt.datetime,
                              *, besides: tuple[str, str] | None = None) -> str:
    """An opt-out from a number (one no message went to yet on this channel, or beside the message it answers):
    every debtor the number belongs to is opted out of the channel at once, at every client company that has it
    (the provider itself now refuses to send to the number from our sender: Twilio answers 21610 after a STOP),
    the reply as the evidence; `besides`, the (client company, debtor) already opted out by the answer."""
    reached = [r for r in await receipts.debtors_reached_at(s, number) if r != besides] if number else []
    for client, debtor_id in reached:
        await opt_out_debtor(s, client, debtor_id, channel, source="reply", evidence=reply_id, now=now)
    return "applied" if reached else "unknown"


async def move_to_replied(s: AsyncSession, answered: SentAttempt, now: dt.datetime, *, opt_out: bool = False,
                          simulated: bool = False) -> None:
    """The answered attempt becomes `replied` (once: a second answer changes nothing); when no receipt had
    confirmed it, the answer does, and its contact.delivered goes out under the attempt's plan. An answer that
    does not opt out is announced as contact.replied (segmentation counts replies for its propensity model; never
    the text)."""
    found = await receipts.lock_answered(s, answered.attempt_id)
    trigger = attempts.reply_trigger(found.status) if found else None
    if found is None or trigger is None or not await receipts.mark_replied(s, trigger, answered.attempt_id, now):
        return
    cause = cause_of(found.plan_id, found.correlation_id, current_cause() or Cause.command())
    if attempts.transition(found.status, trigger).event == ContactDelivered.type:
        await store.outbox.add(s, [emit(trigger, ContactDelivered(
            attempt_id=answered.attempt_id, account_ref=answered.account_ref, channel=answered.channel,
            delivered_at=now), client=answered.client, now=now, cause=cause)])
    if not opt_out:
        await store.outbox.add(s, [caused(ContactReplied(
            attempt_id=answered.attempt_id, account_ref=answered.account_ref, channel=answered.channel,
            replied_at=now, simulated=simulated).envelope(client=answered.client, occurred_at=now), cause)])


async def expire_early_receipts(db: Database, settings: OutreachSettings, *, now: dt.datetime) -> int:
    """The retention of early receipts: those no send claimed within the retention are discarded (counted in
    the log; they hold no personal data beyond a provider's message id)."""
    async with db.transaction() as s:
        expired = await receipts.expire_early_receipts(s, now - dt.timedelta(hours=settings.early_receipt_retention_h))
    if expired:
        log.warning("early receipts expired unclaimed", extra={"fields": {"count": expired}})
    return expired
