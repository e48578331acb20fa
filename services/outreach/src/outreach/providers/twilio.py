"""SMS and WhatsApp through Twilio's Messages API: the send, the look-up of a send in doubt (listing the messages
to the number), and the verification and translation of its signed status callbacks and inbound replies."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import uuid
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

import httpx

from outreach.providers.base import Lookup, Notification, OneByOne, OutboundMessage, Receipt, SendError, Sent
from outreach.settings import OutreachSettings


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

    def notified(self, notification: Notification) -> list[Receipt] | None:
        """A status callback or an inbound message, posted as a form (application/x-www-form-urlencoded)."""
        form = dict(parse_qsl(notification.body.decode("utf-8", "replace"), keep_blank_values=True))
        return self.receipts(notification.url, notification.headers.get("x-twilio-signature"), form)

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
