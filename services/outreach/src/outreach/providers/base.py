"""What every channel provider is behind: the message handed over, its answers (taken, refused, in doubt), its
receipts, the look-up of a send in doubt, the Provider protocol itself, and each provider's rate limit."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from outreach.domain.whatsapp_window import WhatsAppMessage


@dataclass(frozen=True)
class OutboundMessage:
    attempt_id: uuid.UUID
    channel: str
    recipient: str
    subject: str | None
    body: str
    client: str | None = None  # the client company it is sent for (a provider configured per client needs it)
    # Through the WhatsApp Cloud API: the template or free-form message chosen under the 24-hour window.
    whatsapp: WhatsAppMessage | None = None


@dataclass(frozen=True)
class Receipt:
    """A provider's word on a message: delivered, failed (with why), or a reply from the debtor."""

    message_id: str
    status: str  # "delivered" | "failed" | "sent" | "reply"
    detail: str | None = None
    reply_from: str | None = None
    reply_channel: str | None = None
    attempt_id: uuid.UUID | None = None  # the attempt the callback names (its URL carries it), when it does
    opt_out: bool = False  # the provider itself took the reply as an opt-out (Twilio's STOP keywords)


# Why an attempt on a channel with no provider is blocked (production: no sandbox to fall back on).
CHANNEL_NOT_CONFIGURED = "channel_not_configured"


class SendError(Exception):
    """A send that did not go through. `ambiguous`: the provider may have the message all the same (the
    connection was lost or timed out after the request was written): it must be looked up, never resent.
    `contact_point_invalid`: the provider refused the recipient itself for good (a mail server's 550 "no such
    mailbox"): that contact point is never used again."""

    def __init__(self, reason: str, *, transient: bool, ambiguous: bool = False,
                 contact_point_invalid: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient
        self.ambiguous = ambiguous
        self.contact_point_invalid = contact_point_invalid


@dataclass(frozen=True)
class Sent:
    """The provider took the message: its id, and what it already knows of its fate (the sandbox's outcome)."""

    message_id: str
    receipts: tuple[Receipt, ...] = ()


@dataclass(frozen=True)
class Notification:
    """A provider's callback as it arrived, for the provider to verify (over the raw bytes) and translate: the URL
    it called (query included), its headers, its body, and when it came."""

    url: str
    headers: Mapping[str, str]
    body: bytes
    received_at: dt.datetime


class Notifying(Protocol):
    """A provider that calls back with receipts and replies."""

    name: str

    def notified(self, notification: Notification) -> list[Receipt] | None:
        """The receipts in the notification, or None when its signature does not verify (nothing is applied);
        raises recaudo_common.domain_errors.Invalid when a verified body is not one of the provider's."""
        ...


@dataclass(frozen=True)
class Lookup:
    """The provider's answer to "do you have the message of this attempt?": found (with its id and what it knows
    of it), certainly not (`found=False`), or it cannot tell (`found=None`; `retry` when asking later may help)."""

    found: bool | None
    message_id: str | None = None
    receipts: tuple[Receipt, ...] = ()
    reason: str | None = None
    retry: bool = False


class Provider(Protocol):
    name: str
    channels: frozenset[str]
    cost: Decimal
    max_batch: int  # messages handed over in one `send`

    async def send(self, messages: list[OutboundMessage], now: dt.datetime) -> list[Sent | SendError]:
        """Hands over each message once (no provider here takes an idempotency key: a repeat is a second
        message); one answer per message, in order."""
        ...

    async def look_up(self, message: OutboundMessage, since: dt.datetime) -> Lookup:
        """Whether the provider has this attempt's message, sent at or after `since`. Never sends."""
        ...


class OneByOne:
    """A provider whose API takes one message a call: a batch is sent message by message, each failure its own."""

    async def _send(self, message: OutboundMessage) -> Sent:
        raise NotImplementedError

    async def send(self, messages: list[OutboundMessage], now: dt.datetime) -> list[Sent | SendError]:
        answers: list[Sent | SendError] = []
        for message in messages:
            try:
                answers.append(await self._send(message))
            except SendError as e:
                answers.append(e)
        return answers
