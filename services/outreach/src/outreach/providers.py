"""Channel providers behind one interface: the sandbox (records every message, simulates receipts and
replies), SMTP email, and a Twilio-style HTTP API for SMS and WhatsApp; plus their rate limits and receipts."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Protocol

import aiosmtplib
import httpx

from outreach import store
from outreach.settings import OutreachSettings
from recaudo_common.db import Database
from recaudo_common.webhook_signatures import sign


@dataclass(frozen=True)
class OutboundMessage:
    attempt_id: uuid.UUID
    channel: str
    recipient: str
    subject: str | None
    body: str


@dataclass(frozen=True)
class Receipt:
    """A provider's word on a message: delivered, failed (with why), or a reply from the debtor."""

    message_id: str
    status: str  # "delivered" | "failed" | "sent" | "reply"
    detail: str | None = None
    reply_from: str | None = None
    reply_channel: str | None = None


class SendError(Exception):
    def __init__(self, reason: str, *, transient: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient


class Provider(Protocol):
    name: str
    channels: frozenset[str]
    cost: Decimal

    async def send(self, message: OutboundMessage, now: dt.datetime) -> str:
        """Sends once per attempt (the attempt id is the idempotency key); returns the provider's message id.
        Raises SendError."""
        ...


class RateLimiter:
    """A token bucket: at most `rate` sends a second on average, bursts up to one second's worth."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.tokens = rate
        self.updated = time.monotonic()
        self.lock = asyncio.Lock()

    async def take(self) -> None:
        async with self.lock:
            while True:
                now = time.monotonic()
                self.tokens = min(self.rate, self.tokens + (now - self.updated) * self.rate)
                self.updated = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                await asyncio.sleep((1 - self.tokens) / self.rate)


def _fraction(attempt_id: uuid.UUID, salt: str) -> float:
    digest = hashlib.sha256(f"{salt}:{attempt_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


class Sandbox:
    """Records every message in outreach.sandbox_messages; outcomes are simulated at configurable rates,
    deterministically per attempt so a replay simulates the same thing."""

    name = "sandbox"
    channels = frozenset({"sms", "email", "whatsapp", "voice", "letter"})
    cost = Decimal("0.01")

    def __init__(self, db: Database, settings: OutreachSettings) -> None:
        self.db = db
        self.delivery_rate = settings.sandbox_delivery_rate
        self.reply_rate = settings.sandbox_reply_rate
        self.opt_out_share = settings.sandbox_opt_out_share

    async def send(self, message: OutboundMessage, now: dt.datetime) -> str:
        async with self.db.transaction() as s:
            await store.record_sandbox_message(s, attempt_id=message.attempt_id, channel=message.channel,
                                               recipient=message.recipient, subject=message.subject,
                                               body=message.body, now=now)
        return f"sbx-{message.attempt_id}"

    def simulated(self, message: OutboundMessage, message_id: str) -> list[Receipt]:
        if _fraction(message.attempt_id, "delivery") >= self.delivery_rate:
            return [Receipt(message_id, "failed", "undelivered (simulated)")]
        receipts = [Receipt(message_id, "delivered")]
        if message.channel in {"sms", "whatsapp", "email"} and _fraction(message.attempt_id, "reply") < self.reply_rate:
            opt_out = _fraction(message.attempt_id, "opt-out") < self.opt_out_share
            receipts.append(Receipt(f"{message_id}-reply", "reply", "BAJA" if opt_out else "Ya pagué, gracias",
                                    reply_from=message.recipient, reply_channel=message.channel))
        return receipts


class Smtp:
    """Email through an SMTP server; the attempt id is in the Message-ID so a repeated send can be recognised."""

    name = "smtp"
    channels = frozenset({"email"})
    cost = Decimal("0.001")

    def __init__(self, settings: OutreachSettings) -> None:
        self.settings = settings

    async def send(self, message: OutboundMessage, now: dt.datetime) -> str:
        email = EmailMessage()
        email["From"] = self.settings.smtp_from
        email["To"] = message.recipient
        email["Subject"] = message.subject or ""
        message_id = make_msgid(idstring=str(message.attempt_id), domain="recaudo")
        email["Message-ID"] = message_id
        email["X-Recaudo-Attempt"] = str(message.attempt_id)
        email.set_content(message.body, charset="utf-8")
        try:
            await aiosmtplib.send(email, hostname=self.settings.smtp_host, port=self.settings.smtp_port,
                                  username=self.settings.smtp_username, password=self.settings.smtp_password,
                                  start_tls=self.settings.smtp_starttls, timeout=30)
        except aiosmtplib.SMTPRecipientsRefused as e:
            raise SendError("recipient refused by the mail server", transient=False) from e
        except aiosmtplib.SMTPResponseException as e:
            raise SendError(f"SMTP {e.code}", transient=e.code < 500) from e
        except (aiosmtplib.SMTPException, OSError) as e:
            raise SendError(f"SMTP unavailable: {type(e).__name__}", transient=True) from e
        return message_id.strip("<>")


def twilio_signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    """Twilio's request signature: base64 HMAC-SHA1 of the URL followed by each POST parameter, sorted."""
    data = url + "".join(f"{k}{params[k]}" for k in sorted(params))
    return base64.b64encode(hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()).decode()


TWILIO_STATUS = {"delivered": "delivered", "read": "delivered", "undelivered": "failed", "failed": "failed",
                 "sent": "sent", "queued": "sent", "accepted": "sent", "sending": "sent"}


class Twilio:
    """SMS and WhatsApp through a Twilio-style Messages API, with status callbacks to our receipts webhook."""

    name = "twilio"
    channels = frozenset({"sms", "whatsapp"})
    cost = Decimal("0.0079")

    def __init__(self, settings: OutreachSettings, http: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        self.http = http or httpx.AsyncClient(timeout=30)
        self.callback = settings.public_url.rstrip("/") + "/v1/webhooks/outreach/twilio"

    async def send(self, message: OutboundMessage, now: dt.datetime) -> str:
        whatsapp = message.channel == "whatsapp"
        sender = self.settings.twilio_whatsapp_from if whatsapp else self.settings.twilio_sms_from
        form = {"To": f"whatsapp:{message.recipient}" if whatsapp else message.recipient,
                "From": f"whatsapp:{sender}" if whatsapp else sender,
                "Body": message.body, "StatusCallback": self.callback}
        url = (f"{self.settings.twilio_base_url.rstrip('/')}/2010-04-01/Accounts/"
               f"{self.settings.twilio_account_sid}/Messages.json")
        try:
            answer = await self.http.post(url, data=form, headers={"Idempotency-Key": str(message.attempt_id)},
                                          auth=(self.settings.twilio_account_sid, self.settings.twilio_auth_token))
        except httpx.HTTPError as e:
            raise SendError(f"provider unreachable: {type(e).__name__}", transient=True) from e
        if answer.status_code == 429 or answer.status_code >= 500:
            raise SendError(f"provider answered {answer.status_code}", transient=True)
        if answer.status_code >= 400:
            code = answer.json().get("code") if answer.headers.get("content-type", "").startswith(
                "application/json") else None
            raise SendError(f"provider refused the message ({answer.status_code}, code {code})", transient=False)
        return str(answer.json()["sid"])

    def receipts(self, url: str, signature: str | None, form: dict[str, str]) -> list[Receipt] | None:
        """The receipts in a callback, or None when its signature does not verify."""
        expected = twilio_signature(self.settings.twilio_auth_token, url, form)
        # Bytes, not str: compare_digest refuses a str that is not ASCII, and a header may carry any byte.
        if not signature or not self.settings.twilio_auth_token or not hmac.compare_digest(
                expected.encode(), signature.encode()):
            return None
        sid = form.get("MessageSid") or form.get("SmsSid") or ""
        if "MessageStatus" in form or "SmsStatus" in form:
            raw = form.get("MessageStatus") or form.get("SmsStatus") or ""
            status = TWILIO_STATUS.get(raw, "sent")
            detail = f"{raw} {form.get('ErrorCode', '')}".strip() if status == "failed" else None
            return [Receipt(sid, status, detail)]
        sender = form.get("From", "")
        channel = "whatsapp" if sender.startswith("whatsapp:") else "sms"
        return [Receipt(sid, "reply", form.get("Body", ""), reply_from=sender.removeprefix("whatsapp:"),
                        reply_channel=channel)]


class Providers:
    """The provider of each channel and each provider's rate limiter, built from settings."""

    def __init__(self, db: Database, settings: OutreachSettings) -> None:
        self.sandbox = Sandbox(db, settings)
        built: dict[str, Provider] = {"sandbox": self.sandbox}
        if "smtp" in settings.providers.values():
            built["smtp"] = Smtp(settings)
        self.twilio = Twilio(settings) if "twilio" in settings.providers.values() else None
        if self.twilio is not None:
            built["twilio"] = self.twilio
        self.by_name = built
        self.by_channel: dict[str, Provider] = {}
        for channel, name in settings.providers.items():
            provider = built.get(name)
            if provider is None or channel not in provider.channels:
                raise ValueError(f"provider {name!r} cannot serve channel {channel!r}")
            self.by_channel[channel] = provider
        self.limiters = {name: RateLimiter(settings.provider_rate_per_s.get(name, 10.0)) for name in built}

    def for_channel(self, channel: str) -> Provider:
        return self.by_channel.get(channel, self.sandbox)


class SandboxGateway:
    """The debtor page's sandbox payment gateway: it moves no money, and notifies payments exactly as a real
    gateway would, with a signed webhook over HTTP."""

    def __init__(self, settings: OutreachSettings, http: httpx.AsyncClient | None = None) -> None:
        self.url = settings.sandbox_gateway_webhook_url or (
            settings.public_url.rstrip("/") + "/v1/webhooks/payments/sandbox")
        self.secret = settings.sandbox_gateway_secret
        self.http = http or httpx.AsyncClient(timeout=30)

    async def charge(self, *, payment_id: str, client: str, link_token: str, amount: Decimal, currency: str,
                     now: dt.datetime) -> str:
        body = json.dumps({"type": "payment", "payment_id": payment_id, "client": client, "link_token": link_token,
                           "amount": str(amount), "currency": currency, "paid_at": now.isoformat(),
                           "method": "sandbox"}).encode()
        try:
            answer = await self.http.post(self.url, content=body, headers={
                "content-type": "application/json", "Recaudo-Signature": sign(body, self.secret, now)})
        except httpx.HTTPError as e:
            raise SendError(f"gateway could not reach payments: {type(e).__name__}", transient=True) from e
        if answer.status_code >= 400:
            raise SendError(f"payments refused the payment ({answer.status_code})", transient=False)
        return str(answer.json().get("status", "accepted"))
