"""A debtor's keypad choice on a Twilio call (the <Gather> action): 1 sends the payment link by SMS, 2 reaches
the agent desk; either is the debtor's answer, recorded once on the call's attempt (replied) and in the trail."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from outreach import store
from outreach.domain import cadence
from outreach.messages import payment_link
from outreach.providers.base import SendError
from outreach.providers.twilio import Twilio
from outreach.receipts import store as receipts
from outreach.receipts.handlers import move_to_replied
from outreach.receipts.store import SentAttempt
from outreach.settings import OutreachSettings
from outreach.store import TrailEntry
from recaudo_common.db import Database, sql

log = logging.getLogger("recaudo.outreach")

CHOICES = {"1": "pay", "2": "agent"}


@dataclass(frozen=True)
class Called:
    """The attempt a call belongs to, and the number it rang (never logged, never in the trail)."""

    attempt: SentAttempt
    number: str


async def _called(s: AsyncSession, attempt_id: uuid.UUID) -> Called | None:
    row = (await s.execute(sql(
        """SELECT a.id, a.client_slug, a.account_ref, a.channel, acc.debtor_id, m.recipient
           FROM outreach.attempts a JOIN outreach.outgoing m ON m.attempt_id = a.id
           JOIN outreach.accounts acc ON acc.client_slug = a.client_slug AND acc.account_ref = a.account_ref
           WHERE a.id = :id AND a.channel = 'voice' AND a.provider = 'twilio'"""), {"id": attempt_id})).first()
    if row is None:
        return None
    return Called(SentAttempt(row.id, row.client_slug, row.account_ref, row.channel, row.debtor_id), row.recipient)


async def _schedule_agent_callback(s: AsyncSession, attempt_id: uuid.UUID, now: dt.datetime) -> uuid.UUID | None:
    """An agent attempt of the call's plan, due now: the agent desk hands it out under the contact law. It takes a
    sequence of its plan above any the cadence gives its own touches (cadence.EXTRA_SEQUENCES_FROM)."""
    row = (await s.execute(sql(
        """INSERT INTO outreach.attempts (id, client_slug, account_ref, plan_id, channel, sequence, status,
               scheduled_at, created_at, correlation_id, why)
           SELECT gen_random_uuid(), a.client_slug, a.account_ref, a.plan_id, 'agent',
                  greatest(:floor, (SELECT max(sequence) FROM outreach.attempts WHERE plan_id = a.plan_id)) + 1,
                  'scheduled', :now, :now, a.correlation_id, 'the debtor asked for an agent on a call'
           FROM outreach.attempts a WHERE a.id = :id AND a.plan_id IS NOT NULL
           ON CONFLICT DO NOTHING RETURNING id"""), {"id": attempt_id, "now": now,
                                                    "floor": cadence.EXTRA_SEQUENCES_FROM})).first()
    return row[0] if row else None


async def keypad_choice(db: Database, twilio: Twilio, settings: OutreachSettings, *, attempt_id: uuid.UUID | None,
                        call_sid: str, digits: str, now: dt.datetime) -> str:
    """The TwiML that answers the debtor's key; the choice applied once (Twilio asking again gets the answer
    without a second effect)."""
    voice = twilio.voice
    choice = CHOICES.get(digits)
    if attempt_id is None:
        return voice.goodbye()
    if choice is None:
        return voice.repeat(str(attempt_id))
    text_to: str | None = None
    async with db.transaction() as s:
        called = await _called(s, attempt_id)
        if called is None:
            return voice.goodbye()
        a = called.attempt
        if not await receipts.save_reply(s, provider=twilio.name, provider_message_id=f"{call_sid}:gather",
                                         attempt_id=a.attempt_id, channel="voice", body=digits, opt_out=False,
                                         at=now):
            return voice.goodbye()  # already answered on this call
        entries = [TrailEntry(a.client, a.account_ref, now, "reply", a.attempt_id, "voice", {"choice": choice})]
        await move_to_replied(s, a, now)
        if choice == "agent":
            # Put through to the agents' line when there is one; otherwise an agent calls back from the desk.
            put_through = bool(settings.twilio_agent_number)
            callback = None if put_through else await _schedule_agent_callback(s, a.attempt_id, now)
            entries.append(TrailEntry(a.client, a.account_ref, now, "agent_requested", callback, "agent",
                                      {"from_attempt": str(a.attempt_id), "put_through": put_through}))
        else:
            debtor = await store.contact_context(s, a.client, a.account_ref, now)
            # The debtor asked for it, yet a text still needs the channel open to them.
            if debtor is not None and debtor.account_status == "open" and "sms" not in debtor.opted_out \
                    and not debtor.do_not_contact and debtor.legal_hold is None:
                link, _ = payment_link(settings, now, a.client, a.account_ref)
                text_to, body = called.number, f"{debtor.creditor}: pague su obligación {a.account_ref} aquí: {link}"
        await store.trail(s, entries)
    if choice == "agent":
        return voice.to_agent(settings.twilio_agent_number or None)
    if text_to is None:
        return voice.link_not_sent()
    try:
        await voice.text(text_to, body)
    except SendError as e:
        log.warning("payment link text not sent", extra={"fields": {"reason": e.reason[:200]}})
        return voice.link_not_sent()
    async with db.transaction() as s:
        await store.trail(s, [TrailEntry(a.client, a.account_ref, now, "payment_link_sent", a.attempt_id, "sms",
                                         {"asked_on": "voice"})])
    return voice.link_sent()
