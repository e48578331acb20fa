"""WhatsApp's handlers: an operator configures a client company's channel; Meta verifies the webhook; a signed
notification's statuses settle the attempts that sent those messages (forward only, through the receipts' one
path) and each debtor's message is recorded and acted on in the same transaction: an opt-out at once, a payment
link queued as the answer, a dispute hold, or the agent desk."""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy.ext.asyncio import AsyncSession

from outreach import store
from outreach.consent.handlers import hold_account, opt_out_debtor
from outreach.domain.whatsapp import (
    InboundMessage,
    Meaning,
    StatusUpdate,
    answer_text,
    meaning,
    signature_verifies,
    verification_answer,
)
from outreach.messages import payment_link
from outreach.providers import Receipt
from outreach.receipts.delivery import apply_statuses
from outreach.receipts.handlers import move_to_replied  # the one way an answer moves its attempt
from outreach.receipts.store import save_reply
from outreach.settings import OutreachSettings
from outreach.store import TrailEntry
from outreach.whatsapp import store as whatsapp
from outreach.whatsapp.schemas import InboundCounts, MetaNotification, NotificationOut, StatusCounts
from recaudo_common.db import Database
from recaudo_common.domain_errors import Invalid, NotFound
from recaudo_common.ids import SLUG, WEBHOOK_ID
from recaudo_common.personal_data import MasterKeyring
from recaudo_common.redaction import mask_text


def webhook_url(settings: OutreachSettings, client: str, webhook_id: str) -> str:
    """The callback URL to give Meta: the platform's public URL, the client company and an id nobody guesses (the
    app secret's signature is what authenticates a notification; the id keeps strangers from even reaching it)."""
    return f"{settings.public_url.rstrip('/')}/v1/webhooks/whatsapp/{client}/{webhook_id}"


async def configure(db: Database, keyring: MasterKeyring, *, client: str, given: whatsapp.ChannelSettings,
                    now: dt.datetime) -> tuple[bool, whatsapp.WhatsAppChannel]:
    """Creates or replaces the client company's channel; (created, the channel as stored)."""
    async with db.transaction() as s:
        created, _ = await whatsapp.put_channel(s, keyring, client, given, secrets.token_urlsafe(18), now)
        channel = await whatsapp.channel_of(s, keyring, client)
    assert channel is not None
    return created, channel


async def configuration(db: Database, keyring: MasterKeyring, *, client: str) -> whatsapp.WhatsAppChannel:
    async with db.transaction() as s:
        channel = await whatsapp.channel_of(s, keyring, client)
    if channel is None:
        raise NotFound(f"WhatsApp channel of {client!r}")
    return channel


async def _channel_of_webhook(db: Database, keyring: MasterKeyring, client: str, webhook_id: str,
                              channels: whatsapp.WhatsAppChannels | None) -> whatsapp.WhatsAppChannel:
    """The client company's channel, when the webhook id is its own (404 otherwise), through `channels`. A slug
    or an id of another shape than the platform issues is refused before it is looked up (or kept in the cache of
    `channels`: anyone may call this path)."""
    if not SLUG.match(client) or not WEBHOOK_ID.fullmatch(webhook_id):
        raise NotFound("webhook")

    async def read() -> whatsapp.WhatsAppChannel | None:
        async with db.transaction() as s:
            return await whatsapp.channel_of(s, keyring, client)

    channel = await (read() if channels is None else channels.get(client, read))
    if channel is None or not secrets.compare_digest(channel.webhook_id.encode(), webhook_id.encode()):
        raise NotFound("webhook")
    return channel


async def verify_subscription(db: Database, keyring: MasterKeyring, *, client: str, webhook_id: str,
                              mode: str | None, token: str | None, challenge: str | None,
                              channels: whatsapp.WhatsAppChannels | None = None) -> str | None:
    """The challenge to echo when Meta's verification request carries this channel's verify token, else None."""
    channel = await _channel_of_webhook(db, keyring, client, webhook_id, channels)
    return verification_answer(mode=mode, token=token, challenge=challenge, verify_token=channel.verify_token)


async def receive(db: Database, keyring: MasterKeyring, settings: OutreachSettings, *, client: str,
                  webhook_id: str, raw: bytes, signature: str | None, now: dt.datetime,
                  channels: whatsapp.WhatsAppChannels | None = None) -> NotificationOut | None:
    """A notification, verified over its raw bytes before anything is parsed; None when the signature does not
    verify (nothing is recorded). Everything in it is applied in one transaction, so Meta's retry of a
    notification that failed half-way finds nothing done."""
    channel = await _channel_of_webhook(db, keyring, client, webhook_id, channels)
    if not signature_verifies(channel.app_secret, raw, signature):
        return None
    try:
        notification = MetaNotification.model_validate_json(raw)
    except ValueError as e:
        raise Invalid("invalid_notification", "not a WhatsApp Business Account notification",
                      title="Invalid notification") from e
    messages, statuses, ignored = notification.read(channel.phone_number_id)
    async with db.transaction() as s:
        status_counts = await _apply_statuses(s, client, statuses, now)
        inbound_counts = InboundCounts()
        for message in messages:
            outcome = await _receive_message(s, settings, client, message, now)
            setattr(inbound_counts, outcome, getattr(inbound_counts, outcome) + 1)
    return NotificationOut(messages=inbound_counts, statuses=status_counts, ignored=ignored)


async def _apply_statuses(s: AsyncSession, client: str, updates: list[StatusUpdate], now: dt.datetime
                          ) -> StatusCounts:
    """Through the receipts' one path (the attempts' state machine moves only forward: a `sent` or `read` after
    `delivered` changes nothing); a message another client company sent is never settled from this webhook."""
    counts = StatusCounts()
    foreign = await whatsapp.foreign_message_ids(s, client, [u.message_id for u in updates])
    kept = [u for u in updates if u.message_id not in foreign]
    counts.unknown += len(updates) - len(kept)
    # A status naming its attempt (the send's callback data) settles a send whose answer was lost, `sent` under
    # this message id: only an attempt of this client company's, whichever attempt another number's data names.
    own = await whatsapp.attempts_of_client(s, client, [u.attempt_id for u in kept if u.attempt_id is not None])
    outcomes = await apply_statuses(s, whatsapp.PROVIDER, [
        (Receipt(u.message_id, u.status, u.detail, attempt_id=u.attempt_id if u.attempt_id in own else None), now)
        for u in kept])
    for outcome in outcomes:
        setattr(counts, outcome, getattr(counts, outcome) + 1)
    return counts


async def _receive_message(s: AsyncSession, settings: OutreachSettings, client: str, message: InboundMessage,
                           now: dt.datetime) -> str:
    """Records one debtor's message and acts on it: "recorded", "duplicate" or "unmatched"."""
    answered = (await whatsapp.attempt_of_message(s, client, message.context_id) if message.context_id else None)
    debtors = await whatsapp.accounts_with_phone(s, client, message.sender)
    # The account the message answers, when it answers one of ours; every account of the number's debtor else.
    refs = [answered.account_ref] if answered else [d.account_ref for d in debtors]
    asked = meaning(message)
    inbound_id = await whatsapp.record_inbound(s, client=client, message=message, account_refs=refs,
                                               attempt_id=answered.attempt_id if answered else None, meaning=asked,
                                               now=now)
    if inbound_id is None:
        return "duplicate"
    if not refs:
        return "unmatched"
    if answered is not None:
        # An answer to one of our messages is a reply like any other: kept beside its attempt (where the best-time
        # learner counts it), proof that the message arrived, and its attempt `replied` (once).
        await save_reply(s, provider=whatsapp.PROVIDER, provider_message_id=message.message_id,
                         attempt_id=answered.attempt_id, channel="whatsapp", body=mask_text(message.text),
                         opt_out=asked is Meaning.OPT_OUT, at=now)
        await move_to_replied(s, answered, now, opt_out=asked is Meaning.OPT_OUT)
    await store.trail(s, [TrailEntry(client, ref, now, "whatsapp_inbound", answered.attempt_id if answered else None,
                                     "whatsapp", {"meaning": asked.value, "message_type": message.kind,
                                                  "inbound_id": str(inbound_id)}) for ref in refs])
    if asked is Meaning.OPT_OUT:
        # Every debtor the number belongs to at this client company, at once, even if nothing was ever sent to it,
        # and the debtor of the message it answers (whose number on file may have changed since).
        owners = {d.debtor_id for d in debtors} | ({answered.debtor_id} if answered else set())
        for debtor_id in sorted(owner for owner in owners if owner):
            await opt_out_debtor(s, client, debtor_id, "whatsapp", source="reply", evidence=inbound_id, now=now)
    elif asked is Meaning.DISPUTE:
        for ref in refs:
            await hold_account(s, client=client, account_ref=ref, hold="dispute", note=None, by=None, now=now)
    elif asked in (Meaning.PAY, Meaning.ARRANGE):
        # A link only for what may be paid: not a paid, settled or recalled account, nor one under a legal hold.
        payable = await whatsapp.payable(s, client, refs)
        text = answer_text(asked, [(ref, payment_link(settings, now, client, ref)[0]) for ref in payable])
        if text is None:
            return "recorded"
        await whatsapp.queue_answer(s, inbound_id, text)
        await store.trail(s, [TrailEntry(client, ref, now, "whatsapp_answer_queued", channel="whatsapp",
                                         detail={"meaning": asked.value, "inbound_id": str(inbound_id)})
                              for ref in payable])
    return "recorded"
