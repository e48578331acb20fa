"""Receipts and replies: a provider's delivery receipt moves its attempt to delivered or failed (once), a
receipt that comes before its send is recorded waits for it, and a debtor's STOP/BAJA/NO MAS reply opts them
out of that channel at that client company."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from outreach import store
from outreach.consent.handlers import opt_out_debtor
from outreach.domain.replies import is_opt_out
from outreach.providers import Receipt
from outreach.receipts import store as receipts
from outreach.receipts.store import SentAttempt
from outreach.sending.callbacks import confirm_by_callback
from outreach.settings import OutreachSettings
from outreach.store import TrailEntry, outbox
from recaudo_common.db import Database
from recaudo_common.events import ContactDelivered, ContactFailed

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
    attempt = await receipts.attempt_by_provider_id(s, provider, r.message_id)
    if attempt is None and r.attempt_id is not None:
        attempt = await _confirmed_by_callback(s, provider, r, now)
    if attempt is None:
        # The provider may call back before the send's own transaction commits the message id: keep the
        # receipt; the send applies it when it records the id.
        await receipts.keep_early_receipt(s, provider, r.message_id, r.status, r.detail, now)
        return "unknown"
    if r.status == "delivered" and await receipts.mark_delivered(s, attempt.attempt_id, now):
        await store.trail(s, [_entry(attempt, now, "delivered")])
        await outbox.add(s, [ContactDelivered(attempt_id=attempt.attempt_id, account_ref=attempt.account_ref,
                                              channel=attempt.channel, delivered_at=now).envelope(
            client=attempt.client, occurred_at=now)])
        return "applied"
    if r.status == "failed" and await receipts.mark_failed(s, attempt.attempt_id, now, r.detail or "failed"):
        await store.trail(s, [_entry(attempt, now, "failed", reason=r.detail)])
        await outbox.add(s, [ContactFailed(attempt_id=attempt.attempt_id, account_ref=attempt.account_ref,
                                           channel=attempt.channel, failed_at=now,
                                           reason=r.detail or "failed").envelope(
            client=attempt.client, occurred_at=now)])
        return "applied"
    return "duplicate"


async def _apply_reply(s: AsyncSession, provider: str, r: Receipt, now: dt.datetime) -> str:
    channel = r.reply_channel or "sms"
    answered = await receipts.latest_attempt_to(s, channel, r.reply_from or "")
    opt_out = is_opt_out(r.detail or "")
    if not await receipts.save_reply(s, provider=provider, provider_message_id=r.message_id,
                                     attempt_id=answered.attempt_id if answered else None, channel=channel,
                                     body=r.detail or "", opt_out=opt_out, at=now):
        return "duplicate"
    if answered is None:
        return "unknown"
    await store.trail(s, [TrailEntry(answered.client, answered.account_ref, now, "reply", answered.attempt_id, channel,
                                     {"opt_out": opt_out})])
    if opt_out:
        await opt_out_debtor(s, answered.client, answered.debtor_id, channel, source="reply", now=now)
    return "applied"


async def _confirmed_by_callback(s: AsyncSession, provider: str, r: Receipt, now: dt.datetime
                                 ) -> SentAttempt | None:
    """A status callback names its attempt (the callback URL carries the id): a send in doubt (its answer lost,
    or its replica dead before recording it) is confirmed by the provider's own word, never sent again."""
    assert r.attempt_id is not None
    send = await confirm_by_callback(s, provider, r.attempt_id, r.message_id, now)
    return None if send is None else SentAttempt(send.attempt_id, send.client, send.account_ref, send.channel,
                                                  send.debtor_id)


def _entry(attempt: SentAttempt, now: dt.datetime, kind: str, **detail: object) -> TrailEntry:
    return TrailEntry(attempt.client, attempt.account_ref, now, kind, attempt.attempt_id, attempt.channel, detail)


async def expire_early_receipts(db: Database, settings: OutreachSettings, *, now: dt.datetime) -> int:
    """The retention of early receipts: those no send claimed within the retention are discarded (counted in
    the log; they hold no personal data beyond a provider's message id)."""
    async with db.transaction() as s:
        expired = await receipts.expire_early_receipts(s, now - dt.timedelta(hours=settings.early_receipt_retention_h))
    if expired:
        log.warning("early receipts expired unclaimed", extra={"fields": {"count": expired}})
    return expired
