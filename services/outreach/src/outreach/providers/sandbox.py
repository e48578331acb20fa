"""The sandbox provider: records every message it is handed in outreach.sandbox_messages (its "provider side")
and simulates what becomes of it (delivered, undelivered, a reply, an opt-out) at the rates in the settings,
deterministically per attempt. It is a provider like any other: the send path has no branch of its own for it,
and its simulated receipts are applied by the same receipt handling as a real provider's callbacks."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from outreach.providers.base import Lookup, Notification, OutboundMessage, Receipt, SendError, Sent
from outreach.settings import OutreachSettings
from recaudo_common.db import Database, sql
from recaudo_common.domain_errors import Invalid
from recaudo_common.webhook_signatures import signature_problem


def _fraction(attempt_id: uuid.UUID, salt: str) -> float:
    digest = hashlib.sha256(f"{salt}:{attempt_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


class SandboxReceiptIn(BaseModel):
    """v1: what the sandbox provider reports: a status for a message, or a debtor's reply."""

    model_config = ConfigDict(extra="forbid")
    message_id: str = Field(min_length=1, max_length=200)
    status: Literal["delivered", "failed", "reply"]
    detail: str | None = Field(None, max_length=2000)
    reply_from: str | None = Field(None, max_length=320)
    channel: Literal["sms", "whatsapp", "email"] | None = None


class Sandbox:
    """Records every message in outreach.sandbox_messages; outcomes are simulated at configurable rates,
    deterministically per attempt so a replay simulates the same thing."""

    name = "sandbox"
    channels = frozenset({"sms", "email", "whatsapp", "voice", "letter"})
    cost = Decimal("0.01")
    max_batch = 500  # one short transaction records a whole batch

    def __init__(self, db: Database, settings: OutreachSettings) -> None:
        self.db, self.settings = db, settings  # its rates are read at each send: an operator may change them live

    async def send(self, messages: list[OutboundMessage], now: dt.datetime) -> list[Sent | SendError]:
        async with self.db.transaction() as s:
            await _record(s, messages, now)
        return [Sent(f"sbx-{m.attempt_id}", tuple(self.simulated(m, f"sbx-{m.attempt_id}"))) for m in messages]

    async def look_up(self, message: OutboundMessage, since: dt.datetime) -> Lookup:
        async with self.db.transaction() as s:
            kept = await _kept(s, message.attempt_id)
        if not kept:
            return Lookup(False)
        message_id = f"sbx-{message.attempt_id}"
        return Lookup(True, message_id, tuple(self.simulated(message, message_id)))

    def notified(self, notification: Notification) -> list[Receipt] | None:
        """A receipt or reply posted as JSON, signed like the platform's own webhooks (Recaudo-Signature, with the
        sandbox gateway's secret)."""
        if signature_problem(notification.headers.get("recaudo-signature"), notification.body,
                             [self.settings.sandbox_gateway_secret], now=notification.received_at):
            return None
        try:
            body = SandboxReceiptIn.model_validate_json(notification.body)
        except ValueError as e:
            raise Invalid("invalid_receipt", str(e)[:500], title="Invalid receipt") from e
        return [Receipt(body.message_id, body.status, body.detail, body.reply_from, body.channel)]

    def simulated(self, message: OutboundMessage, message_id: str) -> list[Receipt]:
        if _fraction(message.attempt_id, "delivery") >= self.settings.sandbox_delivery_rate:
            return [Receipt(message_id, "failed", "undelivered (simulated)")]
        receipts = [Receipt(message_id, "delivered")]
        replies = _fraction(message.attempt_id, "reply") < self.settings.sandbox_reply_rate
        if message.channel in {"sms", "whatsapp", "email"} and replies:
            opt_out = _fraction(message.attempt_id, "opt-out") < self.settings.sandbox_opt_out_share
            receipts.append(Receipt(f"{message_id}-reply", "reply", "BAJA" if opt_out else "Ya pagué, gracias",
                                    reply_from=message.recipient, reply_channel=message.channel))
        return receipts


async def _record(s: AsyncSession, messages: list[OutboundMessage], now: dt.datetime) -> None:
    """The sandbox's own record of the messages handed to it, one per attempt."""
    if messages:
        await s.execute(sql(
            "INSERT INTO outreach.sandbox_messages (id, attempt_id, channel, recipient, subject, body, sent_at) "
            "VALUES (gen_random_uuid(), :attempt_id, :channel, :recipient, :subject, :body, :at) "
            "ON CONFLICT (attempt_id) DO NOTHING"),
            [{"attempt_id": m.attempt_id, "channel": m.channel, "recipient": m.recipient, "subject": m.subject,
              "body": m.body, "at": now} for m in messages])


async def _kept(s: AsyncSession, attempt_id: uuid.UUID) -> bool:
    row = (await s.execute(sql("SELECT 1 FROM outreach.sandbox_messages WHERE attempt_id = :a"),
                           {"a": attempt_id})).first()
    return row is not None
