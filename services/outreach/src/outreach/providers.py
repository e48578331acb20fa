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
from email.utils import parsedate_to_datetime
from typing import Any, Protocol
from urllib.parse import parse_qs, urlencode, urlsplit

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
    attempt_id: uuid.UUID | None = None  # the attempt the callback names (its URL carries it), when it does


# Why an attempt on a channel with no provider is blocked (production: no sandbox to fall back on).
CHANNEL_NOT_CONFIGURED = "channel_not_configured"


class SendError(Exception):
    """A send that did not go through. `ambiguous`: the provider may have the message all the same (the
    connection was lost or timed out after the request was written): it must be looked up, never resent."""

    def __init__(self, reason: str, *, transient: bool, ambiguous: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient
        self.ambiguous = ambiguous


@dataclass(frozen=True)
class Sent:
    """The provider took the message: its id, and what it already knows of its fate (the sandbox's outcome)."""

    message_id: str
    receipts: tuple[Receipt, ...] = ()


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
    max_batch = 500  # one short transaction records a whole batch

    def __init__(self, db: Database, settings: OutreachSettings) -> None:
        self.db, self.settings = db, settings  # its rates are read at each send: an operator may change them live

    async def send(self, messages: list[OutboundMessage], now: dt.datetime) -> list[Sent | SendError]:
        async with self.db.transaction() as s:
            await store.record_sandbox_messages(s, [
                {"attempt_id": m.attempt_id, "channel": m.channel, "recipient": m.recipient, "subject": m.subject,
                 "body": m.body, "at": now} for m in messages])
        return [Sent(f"sbx-{m.attempt_id}", tuple(self.simulated(m, f"sbx-{m.attempt_id}"))) for m in messages]

    async def look_up(self, message: OutboundMessage, since: dt.datetime) -> Lookup:
        async with self.db.transaction() as s:
            kept = await store.has_sandbox_message(s, message.attempt_id)
        if not kept:
            return Lookup(False)
        message_id = f"sbx-{message.attempt_id}"
        return Lookup(True, message_id, tuple(self.simulated(message, message_id)))

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


class _SmtpSession(aiosmtplib.SMTP):
    """An SMTP session that notes when the message itself started to go out (DATA): a connection lost after
    that may have left the message with the server, or not."""

    data_started = False

    async def data(self, message: str | bytes, /, **kwargs: Any) -> aiosmtplib.SMTPResponse:
        self.data_started = True
        return await super().data(message, **kwargs)


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


class Smtp(OneByOne):
    """Email through an SMTP server. The Message-ID is made from the attempt id, so the message a lost
    connection left in doubt can be found in the mail server's log; SMTP offers no way to ask."""

    name = "smtp"
    channels = frozenset({"email"})
    cost = Decimal("0.001")
    max_batch = 1

    def __init__(self, settings: OutreachSettings) -> None:
        self.settings = settings
        self.domain = settings.smtp_from.rpartition("@")[2] or "recaudo"

    def message_id(self, message: OutboundMessage) -> str:
        return f"{message.attempt_id}@{self.domain}"

    async def _send(self, message: OutboundMessage) -> Sent:
        email = EmailMessage()
        email["From"] = self.settings.smtp_from
        email["To"] = message.recipient
        email["Subject"] = message.subject or ""
        email["Message-ID"] = f"<{self.message_id(message)}>"
        email["X-Recaudo-Attempt"] = str(message.attempt_id)
        email.set_content(message.body, charset="utf-8")
        session = _SmtpSession(hostname=self.settings.smtp_host, port=self.settings.smtp_port,
                               username=self.settings.smtp_username, password=self.settings.smtp_password,
                               start_tls=self.settings.smtp_starttls, timeout=self.settings.provider_timeout_s)
        accepted = False
        try:
            async with session:
                await session.send_message(email)
                accepted = True  # the server said 250 to the DATA: a failure after this (QUIT) changes nothing
        except aiosmtplib.SMTPRecipientsRefused as e:
            raise SendError("recipient refused by the mail server", transient=False) from e
        except aiosmtplib.SMTPResponseException as e:  # the server answered: it did not take the message
            if not accepted:
                raise SendError(f"SMTP {e.code}", transient=e.code < 500) from e
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as e:
            if accepted:
                pass
            elif session.data_started:
                raise SendError(f"SMTP connection lost during DATA: {type(e).__name__}", transient=True,
                                ambiguous=True) from e
            else:
                raise SendError(f"SMTP unavailable: {type(e).__name__}", transient=True) from e
        return Sent(self.message_id(message))

    async def look_up(self, message: OutboundMessage, since: dt.datetime) -> Lookup:
        return Lookup(None, self.message_id(message),
                      reason="SMTP cannot be asked: look for the Message-ID in the mail server's log")


def twilio_signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    """Twilio's request signature: base64 HMAC-SHA1 of the URL followed by each POST parameter, sorted."""
    data = url + "".join(f"{k}{params[k]}" for k in sorted(params))
    return base64.b64encode(hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()).decode()


# A message listed as created a little before the claim it answers is still that claim's (clocks differ).
LOOKUP_SLACK = dt.timedelta(minutes=1)


def _created(listed: dict[str, Any]) -> dt.datetime:
    """A listed message's date_created (RFC 2822, GMT); the epoch when missing, so it never matches."""
    try:
        created = parsedate_to_datetime(str(listed["date_created"]))
    except (KeyError, TypeError, ValueError):
        return dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return created if created.tzinfo else created.replace(tzinfo=dt.UTC)


def _attempt_in(url: str) -> uuid.UUID | None:
    values = parse_qs(urlsplit(url).query).get("attempt")
    try:
        return uuid.UUID(values[0]) if values else None
    except ValueError:
        return None


TWILIO_STATUS = {"delivered": "delivered", "read": "delivered", "undelivered": "failed", "failed": "failed",
                 "sent": "sent", "queued": "sent", "accepted": "sent", "sending": "sent"}


class Twilio(OneByOne):
    """SMS and WhatsApp through Twilio's Messages API, with status callbacks to our receipts webhook.

    The API takes no idempotency key, so a message is never posted twice blindly: the StatusCallback URL carries
    the attempt id (the callback names the attempt even if its MessageSid was never recorded), and a send left
    in doubt is looked up by listing the messages to its number from our sender (newest first) for its body."""

    name = "twilio"
    channels = frozenset({"sms", "whatsapp"})
    cost = Decimal("0.0079")
    max_batch = 1
    LOOKUP_PAGES = 3  # of 50 messages each, newest first; a number that received more since is left `unknown`

    def __init__(self, settings: OutreachSettings, http: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        self.http = http or httpx.AsyncClient(timeout=settings.provider_timeout_s)
        self.callback = settings.public_url.rstrip("/") + "/v1/webhooks/outreach/twilio"
        self.api = f"{settings.twilio_base_url.rstrip('/')}"
        self.messages = f"{self.api}/2010-04-01/Accounts/{settings.twilio_account_sid}/Messages.json"
        self.auth = (settings.twilio_account_sid, settings.twilio_auth_token)

    def addresses(self, message: OutboundMessage) -> tuple[str, str]:
        """(To, From) as Twilio writes them."""
        if message.channel == "whatsapp":
            return f"whatsapp:{message.recipient}", f"whatsapp:{self.settings.twilio_whatsapp_from}"
        return message.recipient, self.settings.twilio_sms_from

    async def _send(self, message: OutboundMessage) -> Sent:
        to, sender = self.addresses(message)
        callback = f"{self.callback}?{urlencode({'attempt': str(message.attempt_id)})}"
        form = {"To": to, "From": sender, "Body": message.body, "StatusCallback": callback}
        try:
            answer = await self.http.post(self.messages, data=form, auth=self.auth)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as e:  # nothing was written
            raise SendError(f"provider unreachable: {type(e).__name__}", transient=True) from e
        except httpx.HTTPError as e:  # the request may have reached Twilio: only a look-up can tell
            raise SendError(f"provider answer lost: {type(e).__name__}", transient=True, ambiguous=True) from e
        if answer.status_code in (429, 503):  # too many requests, unavailable: not taken
            raise SendError(f"provider answered {answer.status_code}", transient=True)
        if answer.status_code >= 500:
            raise SendError(f"provider answered {answer.status_code}", transient=True, ambiguous=True)
        if answer.status_code >= 400:
            code = answer.json().get("code") if answer.headers.get("content-type", "").startswith(
                "application/json") else None
            raise SendError(f"provider refused the message ({answer.status_code}, code {code})", transient=False)
        return Sent(str(answer.json()["sid"]))

    async def look_up(self, message: OutboundMessage, since: dt.datetime) -> Lookup:
        """Lists the messages to the recipient from our sender (GET .../Messages.json?To=&From=, newest first)
        and finds the one with this body created at or after `since`."""
        to, sender = self.addresses(message)
        url: str | None = self.messages
        params: dict[str, str] | None = {"To": to, "From": sender, "PageSize": "50"}
        for _ in range(self.LOOKUP_PAGES):
            assert url is not None
            try:
                answer = await self.http.get(url, params=params, auth=self.auth)
            except httpx.HTTPError as e:
                return Lookup(None, reason=f"look-up failed: {type(e).__name__}", retry=True)
            if answer.status_code == 429 or answer.status_code >= 500:
                return Lookup(None, reason=f"look-up answered {answer.status_code}", retry=True)
            if answer.status_code >= 400:
                return Lookup(None, reason=f"look-up refused ({answer.status_code})")
            page = answer.json()
            listed = page.get("messages") or []
            for m in listed:
                if m.get("body") == message.body and _created(m) >= since - LOOKUP_SLACK:
                    sid = str(m["sid"])
                    raw = str(m.get("status") or "")
                    status = TWILIO_STATUS.get(raw, "sent")
                    detail = f"{raw} {m.get('error_code') or ''}".strip() if status == "failed" else None
                    return Lookup(True, sid, (Receipt(sid, status, detail),) if status != "sent" else ())
            if not page.get("next_page_uri") or not listed or _created(listed[-1]) < since - LOOKUP_SLACK:
                return Lookup(False)
            url, params = self.api + str(page["next_page_uri"]), None
        return Lookup(None, reason="too many messages to this number since the send to be sure")

    def receipts(self, url: str, signature: str | None, form: dict[str, str]) -> list[Receipt] | None:
        """The receipts in a callback, or None when its signature does not verify. `url` is the whole URL
        Twilio called, query included (the signature covers it, and so the attempt id in it)."""
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
            return [Receipt(sid, status, detail, attempt_id=_attempt_in(url))]
        sender = form.get("From", "")
        channel = "whatsapp" if sender.startswith("whatsapp:") else "sms"
        return [Receipt(sid, "reply", form.get("Body", ""), reply_from=sender.removeprefix("whatsapp:"),
                        reply_channel=channel)]


PROVIDER_COSTS = {"sandbox": Sandbox.cost, "smtp": Smtp.cost, "twilio": Twilio.cost}


class Providers:
    """The provider of each channel and each provider's rate limiter, built from settings.

    A channel set "off" has no provider: its attempts are blocked as `channel_not_configured`. Outside production
    a channel not mentioned falls back to the sandbox; in production the sandbox serves nothing, and a channel
    missing or (against the start-up check) "sandbox" is off too."""

    def __init__(self, db: Database, settings: OutreachSettings) -> None:
        self.sandbox = Sandbox(db, settings)
        self.sandbox_on = not settings.production
        built: dict[str, Provider] = {"sandbox": self.sandbox}
        if "smtp" in settings.providers.values():
            built["smtp"] = Smtp(settings)
        self.twilio = Twilio(settings) if "twilio" in settings.providers.values() else None
        if self.twilio is not None:
            built["twilio"] = self.twilio
        self.by_name = built
        self.by_channel: dict[str, Provider] = {}
        self.off = {channel for channel, name in settings.providers.items() if name == "off"}
        for channel, name in settings.providers.items():
            if name == "off" or (name == "sandbox" and not self.sandbox_on):
                continue
            provider = built.get(name)
            if provider is None or channel not in provider.channels:
                raise ValueError(f"provider {name!r} cannot serve channel {channel!r}")
            self.by_channel[channel] = provider
        self.limiters = {name: RateLimiter(settings.provider_rate_per_s.get(name, 10.0)) for name in built}

    def for_channel(self, channel: str) -> Provider | None:
        """The channel's provider; None when the channel is not configured (in production only)."""
        if channel in self.off:
            return None
        return self.by_channel.get(channel, self.sandbox if self.sandbox_on else None)


class SandboxGateway:
    """The debtor page's sandbox payment gateway: it moves no money, and notifies payments exactly as a real
    gateway would, with a signed webhook over HTTP."""

    def __init__(self, settings: OutreachSettings, http: httpx.AsyncClient | None = None) -> None:
        self.url = settings.sandbox_gateway_webhook_url or (
            settings.public_url.rstrip("/") + "/v1/webhooks/payments/sandbox")
        self.secret = settings.sandbox_gateway_secret
        self.enabled = settings.sandbox_gateway_on  # never in production: it moves no money
        self.http = http or httpx.AsyncClient(timeout=30)

    async def charge(self, *, payment_id: str, client: str, link_token: str, amount: Decimal, currency: str,
                     now: dt.datetime) -> str:
        if not self.enabled:
            raise SendError("no payment gateway is configured", transient=False)
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
