"""SMS and WhatsApp through Twilio's Messages API (and voice calls through twilio_voice.py): the send, the look-up
of a send in doubt (listing the messages to the number), and the verification and translation of its signed
status callbacks, inbound messages and call status callbacks.

Formats, as Twilio documents them:
- Create a message: https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource
  (POST /2010-04-01/Accounts/{AccountSid}/Messages.json, HTTP basic auth AccountSid:AuthToken, form fields To,
  From or MessagingServiceSid, Body, StatusCallback; 201 with the resource as JSON: sid, status, error_code...;
  an error as JSON: code, message, more_info, status).
- Status callbacks: https://www.twilio.com/docs/messaging/guides/track-outbound-message-status (MessageSid,
  MessageStatus queued/sending/sent/delivered/undelivered/failed (read for WhatsApp), ErrorCode).
- Inbound messages: https://www.twilio.com/docs/messaging/guides/webhook-request (MessageSid, From, To, Body;
  OptOutType when Advanced Opt-Out recognised a keyword) and the default opt-out keywords
  https://help.twilio.com/articles/223134027 (STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT).
- X-Twilio-Signature: https://www.twilio.com/docs/usage/webhooks/webhooks-security, as twilio-python's
  RequestValidator computes it (twilio/request_validator.py): the full URL, then each POST parameter sorted by
  name (a repeated name: its distinct values sorted), name and value appended, HMAC-SHA1 with the auth token,
  base64; the URL is tried with and without its default port; a JSON body is covered by its SHA-256 in the URL's
  bodySHA256 query parameter instead of parameters.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import uuid
from collections.abc import Iterable, Mapping
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

import httpx

from outreach.providers.base import Lookup, Notification, OneByOne, OutboundMessage, Receipt, SendError, Sent
from outreach.settings import OutreachSettings

Params = Mapping[str, str] | Iterable[tuple[str, str]]


def _pairs(params: Params) -> list[tuple[str, str]]:
    return list(params.items()) if isinstance(params, Mapping) else list(params)


def twilio_signature(auth_token: str, url: str, params: Params = ()) -> str:
    """Twilio's request signature (base64 HMAC-SHA1): the URL, then each parameter name followed by its value,
    names sorted; a name given more than once contributes each of its distinct values, sorted (twilio-python's
    RequestValidator.compute_signature)."""
    values: dict[str, set[str]] = {}
    for name, value in _pairs(params):
        values.setdefault(name, set()).add(value)
    data = url + "".join(name + value for name in sorted(values) for value in sorted(values[name]))
    return base64.b64encode(hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def _with_and_without_port(url: str) -> tuple[str, str]:
    """The URL as Twilio may have signed it: without its port and with the scheme's port written out (Twilio's
    back end is not consistent about it, so its own validators try both)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.username or parts.password:  # credentials in a webhook URL are kept as they are
        return url, url
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts._replace(netloc=host).geturl(), parts._replace(netloc=f"{host}:{port}").geturl()


def signature_verifies(auth_token: str, url: str, signature: str | None, params: Params = (),
                       raw_json: bytes | None = None) -> bool:
    """Whether `signature` (the X-Twilio-Signature header) is Twilio's for this request. A form body's parameters
    are signed; a JSON body (`raw_json`) is signed through the SHA-256 hex digest in the URL's bodySHA256 query
    parameter, which must match the raw bytes. Compared in constant time, as bytes (a header may carry any byte)."""
    if not signature or not auth_token:
        return False
    if raw_json is not None:
        claimed = parse_qs(urlsplit(url).query).get("bodySHA256")
        if not claimed or not hmac.compare_digest(hashlib.sha256(raw_json).hexdigest().encode(),
                                                  claimed[0].encode()):
            return False
        params = ()
    given = signature.encode()
    return any(hmac.compare_digest(twilio_signature(auth_token, u, params).encode(), given)
               for u in _with_and_without_port(url))


# A message listed as created a little before the claim it answers is still that claim's (clocks differ).
LOOKUP_SLACK = dt.timedelta(minutes=1)


def _created(listed: dict[str, Any]) -> dt.datetime:
    """A listed message's date_created (RFC 2822, GMT); the epoch when missing, so it never matches."""
    try:
        created = parsedate_to_datetime(str(listed["date_created"]))
    except (KeyError, TypeError, ValueError):
        return dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return created if created.tzinfo else created.replace(tzinfo=dt.UTC)


def attempt_in(url: str) -> uuid.UUID | None:
    """The attempt a callback URL names (its `attempt` query parameter), if any."""
    values = parse_qs(urlsplit(url).query).get("attempt")
    try:
        return uuid.UUID(values[0]) if values else None
    except ValueError:
        return None


# A message's status as Twilio reports it -> the receipt's. Only delivered and undelivered/failed settle an
# attempt, and only forward (the attempt's state machine): a late "sent" never undoes "delivered".
TWILIO_STATUS = {"delivered": "delivered", "read": "delivered", "undelivered": "failed", "failed": "failed",
                 "canceled": "failed", "sent": "sent", "queued": "sent", "accepted": "sent", "sending": "sent",
                 "scheduled": "sent"}
# A call's status (https://www.twilio.com/docs/voice/api/call-resource#call-status-values): a completed call was
# answered (delivered); busy, no-answer, failed and canceled reached nobody.
CALL_STATUS = {"completed": "delivered", "busy": "failed", "no-answer": "failed", "failed": "failed",
               "canceled": "failed", "queued": "sent", "initiated": "sent", "ringing": "sent",
               "in-progress": "sent", "answered": "sent"}
INBOUND_STATUS = frozenset({"received", "receiving"})
# Twilio's default opt-out keywords (its Advanced Opt-Out recognises the whole message being one of them).
TWILIO_OPT_OUT = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "optout", "revoke"})
# Twilio refuses a message to a number that opted out of the sender (error 21610): the number said STOP.
UNSUBSCRIBED_RECIPIENT = 21610
# "The 'To' number is not a valid phone number" (https://www.twilio.com/docs/api/errors/21211): the number on file
# can never be written to, like a mail server's "no such mailbox": it is never used again (#20).
INVALID_RECIPIENT = 21211


def is_twilio_opt_out(form: Mapping[str, str]) -> bool:
    """An inbound message Twilio treats as an opt-out: its OptOutType says STOP, or the whole body is one of
    Twilio's default opt-out keywords."""
    return form.get("OptOutType", "").upper() == "STOP" or form.get("Body", "").strip().casefold() in TWILIO_OPT_OUT


def _error_code(answer: httpx.Response) -> int | None:
    if not answer.headers.get("content-type", "").startswith("application/json"):
        return None
    try:
        code = answer.json().get("code")
    except ValueError:
        return None
    return code if isinstance(code, int) else None


class Twilio(OneByOne):
    """SMS and WhatsApp through Twilio's Messages API, voice through its Calls API, with status callbacks to our
    receipts webhook.

    The API takes no idempotency key, so a message is never posted twice blindly: the StatusCallback URL carries
    the attempt id (the callback names the attempt even if its MessageSid was never recorded), and a send left
    in doubt is looked up by listing the messages to its number from our sender (newest first) for its body."""

    name = "twilio"
    channels = frozenset({"sms", "whatsapp", "voice"})
    cost = Decimal("0.0079")
    max_batch = 1
    refused_status = 403  # what Twilio's own webhook validators answer a request that does not verify
    LOOKUP_PAGES = 3  # of 50 messages each, newest first; a number that received more since is left `unknown`

    def __init__(self, settings: OutreachSettings, http: httpx.AsyncClient | None = None) -> None:
        from outreach.providers.twilio_voice import TwilioVoice  # it builds on this module

        self.settings = settings
        self.http = http or httpx.AsyncClient(timeout=settings.provider_timeout_s)
        self.callback = settings.public_url.rstrip("/") + "/v1/webhooks/outreach/twilio"
        self.api = f"{settings.twilio_base_url.rstrip('/')}"
        self.account = f"{self.api}/2010-04-01/Accounts/{settings.twilio_account_sid}"
        self.messages = f"{self.account}/Messages.json"
        self.auth = (settings.twilio_account_sid, settings.twilio_auth_token)
        self.voice = TwilioVoice(self)

    def addresses(self, message: OutboundMessage) -> tuple[str, str]:
        """(To, From) as Twilio writes them."""
        if message.channel == "whatsapp":
            return f"whatsapp:{message.recipient}", f"whatsapp:{self.settings.twilio_whatsapp_from}"
        return message.recipient, self.settings.twilio_sms_from

    def sender(self, channel: str) -> str:
        """Who Twilio queues and meters a channel's messages by (per-sender pacing keys its bucket on it): the
        Messaging Service for SMS when one is set, else the From number; for calls, the account (its calls per
        second are an account's: https://www.twilio.com/docs/glossary/cps)."""
        if channel == "voice":
            return f"account:{self.settings.twilio_account_sid}"
        if channel == "sms" and self.settings.twilio_messaging_service_sid:
            return f"service:{self.settings.twilio_messaging_service_sid}"
        return self.settings.twilio_whatsapp_from if channel == "whatsapp" else self.settings.twilio_sms_from

    def callback_for(self, attempt_id: uuid.UUID) -> str:
        return f"{self.callback}?{urlencode({'attempt': str(attempt_id)})}"

    async def post(self, url: str, form: dict[str, str | list[str]]) -> httpx.Response:
        """A create call (a message, a call): nothing written is retried; what happened to it is told apart. A
        list is the same parameter repeated (how Twilio takes several values, e.g. StatusCallbackEvent)."""
        try:
            return await self.http.post(url, data=form, auth=self.auth)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as e:  # nothing was written
            raise SendError(f"provider unreachable: {type(e).__name__}", transient=True) from e
        except httpx.HTTPError as e:  # the request may have reached Twilio: only a look-up can tell
            raise SendError(f"provider answer lost: {type(e).__name__}", transient=True, ambiguous=True) from e

    @staticmethod
    def created(answer: httpx.Response) -> str:
        """The sid of what Twilio created (201), or the SendError its answer means."""
        if answer.status_code in (429, 503):  # too many requests, unavailable: not taken
            raise SendError(f"provider answered {answer.status_code}", transient=True)
        if answer.status_code >= 500:
            raise SendError(f"provider answered {answer.status_code}", transient=True, ambiguous=True)
        if answer.status_code >= 400:
            code = _error_code(answer)
            why = "the recipient opted out at Twilio" if code == UNSUBSCRIBED_RECIPIENT else "refused the message"
            raise SendError(f"provider {why} ({answer.status_code}, code {code})", transient=False,
                            contact_point_invalid=code == INVALID_RECIPIENT)
        try:
            return str(answer.json()["sid"])
        except (ValueError, KeyError, TypeError) as e:  # taken (2xx) but unreadable: look it up, never resend
            raise SendError("provider answer unreadable", transient=True, ambiguous=True) from e

    async def _send(self, message: OutboundMessage) -> Sent:
        if message.channel == "voice":
            return await self.voice.call(message)
        to, sender = self.addresses(message)
        form: dict[str, str | list[str]] = {"To": to}
        if self.settings.twilio_messaging_service_sid and message.channel == "sms":
            # A Messaging Service picks the sender from its pool (and applies its opt-out handling).
            form["MessagingServiceSid"] = self.settings.twilio_messaging_service_sid
        else:
            form["From"] = sender
        form |= {"Body": message.body, "StatusCallback": self.callback_for(message.attempt_id)}
        return Sent(self.created(await self.post(self.messages, form)))

    async def look_up(self, message: OutboundMessage, since: dt.datetime) -> Lookup:
        """Lists the messages to the recipient from our sender (GET .../Messages.json?To=&From=, newest first)
        and finds the one with this body created at or after `since`."""
        if message.channel == "voice":
            return await self.voice.look_up(message, since)
        to, sender = self.addresses(message)
        url: str | None = self.messages
        params: dict[str, str] | None = {"To": to, "PageSize": "50"} | (
            {} if self.settings.twilio_messaging_service_sid and message.channel == "sms"
            else {"From": sender})  # a service's messages come from any number of its pool
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

    def verified_form(self, notification: Notification) -> list[tuple[str, str]] | None:
        """The parameters of a signed callback (a form, or a JSON object covered by bodySHA256), or None when its
        signature does not verify. Verified over the raw bytes before anything is read from them."""
        signature = notification.headers.get("x-twilio-signature")
        if notification.headers.get("content-type", "").startswith("application/json"):
            if not signature_verifies(self.settings.twilio_auth_token, notification.url, signature,
                                      raw_json=notification.body):
                return None
            try:
                loaded = json.loads(notification.body)
            except ValueError:
                return []
            return [(str(k), str(v)) for k, v in loaded.items()] if isinstance(loaded, dict) else []
        form = parse_qsl(notification.body.decode("utf-8", "replace"), keep_blank_values=True)
        if not signature_verifies(self.settings.twilio_auth_token, notification.url, signature, form):
            return None
        return form

    def notified(self, notification: Notification) -> list[Receipt] | None:
        """A message or call status callback, or an inbound message."""
        form = self.verified_form(notification)
        return None if form is None else self.receipts(notification.url, dict(form))

    def receipts(self, url: str, form: dict[str, str]) -> list[Receipt]:
        """The receipts in a verified callback. `url` is the whole URL Twilio called, query included (the
        signature covers it, and so the attempt id in it)."""
        if "CallStatus" in form:
            raw = form["CallStatus"]
            status = CALL_STATUS.get(raw, "sent")
            return [Receipt(form.get("CallSid", ""), status, raw if status == "failed" else None,
                            attempt_id=attempt_in(url))]
        sid = form.get("MessageSid") or form.get("SmsSid") or ""
        raw = form.get("MessageStatus") or form.get("SmsStatus") or ""
        # An inbound message carries SmsStatus too ("received"): it is a message, not a receipt.
        if raw and raw not in INBOUND_STATUS:
            status = TWILIO_STATUS.get(raw, "sent")
            detail = f"{raw} {form.get('ErrorCode', '')}".strip() if status == "failed" else None
            return [Receipt(sid, status, detail, attempt_id=attempt_in(url))]
        sender = form.get("From", "")
        channel = "whatsapp" if sender.startswith("whatsapp:") else "sms"
        return [Receipt(sid, "reply", form.get("Body", ""), reply_from=sender.removeprefix("whatsapp:"),
                        reply_channel=channel, opt_out=is_twilio_opt_out(form))]
