"""WhatsApp's wire formats: the channel's configuration API (v1) and Meta's webhook payload, read into the
platform's own values (outreach.domain.whatsapp). Meta's payload is read leniently (it adds fields over time) but
only the documented shapes are understood; see the URLs in outreach.domain.whatsapp."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from outreach.domain.whatsapp import InboundMessage, StatusUpdate, e164, status_update

DEFAULT_API_BASE_URL = "https://graph.facebook.com"
DEFAULT_API_VERSION = "v21.0"


class WhatsAppChannelIn(BaseModel):
    """v1: a client company's WhatsApp Business Cloud API number and the secrets of its Meta app."""

    # The example's secrets are placeholders, never real ones.
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [{
        "kind": "whatsapp_cloud", "phone_number_id": "106540352242922", "access_token": "EAAG-token-de-ejemplo",
        "app_secret": "secreto-de-la-app-de-ejemplo", "verify_token": "banco-andino-verificacion-2026",
        "api_version": "v21.0", "messages_per_second": 80}]})
    kind: Literal["whatsapp_cloud"]
    phone_number_id: str = Field(pattern=r"^[0-9]{1,30}$", description="the business number's id at Meta")
    access_token: str = Field(min_length=1, max_length=2048, description="system user token (sealed at rest)")
    app_secret: str = Field(min_length=1, max_length=256, description="the Meta app's secret, which signs webhooks")
    verify_token: str = Field(min_length=1, max_length=256, description="the webhook's verify token")
    api_base_url: str = Field(DEFAULT_API_BASE_URL, pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$", max_length=300)
    api_version: str = Field(DEFAULT_API_VERSION, pattern=r"^v[0-9]{1,3}\.[0-9]{1,3}$")
    # Meta lets a number send 80 messages a second by default and up to 1,000 once upgraded
    # (https://developers.facebook.com/documentation/business-messaging/whatsapp/throughput); unset, the
    # settings' rate for whatsapp_cloud (80 by default).
    messages_per_second: float | None = Field(None, gt=0, le=1000, description="this number's throughput at Meta")


class WhatsAppChannelOut(BaseModel):
    """v1: the configuration without a secret (only whether each is set), and the webhook URL to give Meta."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "kind": "whatsapp_cloud", "phone_number_id": "106540352242922", "api_base_url": "https://graph.facebook.com",
        "api_version": "v21.0",
        "webhook_url": "https://pagos.recaudo.example/v1/webhooks/whatsapp/banco-andino/wa_7Hq2Lm9Xc4Rt",
        "access_token_set": True, "app_secret_set": True, "verify_token_set": True, "messages_per_second": 80,
        "updated_at": "2026-12-01T16:40:55-05:00"}]})
    kind: Literal["whatsapp_cloud"] = "whatsapp_cloud"
    phone_number_id: str
    api_base_url: str
    api_version: str
    webhook_url: str
    access_token_set: bool
    app_secret_set: bool
    verify_token_set: bool
    messages_per_second: float | None = None  # the number's own rate; None: the settings' default
    updated_at: dt.datetime


class InboundCounts(BaseModel):
    recorded: int = 0  # new messages, each acted on
    duplicate: int = 0  # seen before (Meta retries): nothing done again
    unmatched: int = 0  # from a number no account of the client company has: recorded, nothing else


class StatusCounts(BaseModel):
    applied: int = 0
    duplicate: int = 0  # already settled, or a status that settles nothing (sent, read after delivered)
    unknown: int = 0  # no message of this client company has that id: nothing changes


class NotificationOut(BaseModel):
    """What became of a notification (Meta only reads the 200)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "messages": {"recorded": 1, "duplicate": 0, "unmatched": 0},
        "statuses": {"applied": 2, "duplicate": 1, "unknown": 0}, "ignored": 0}]})

    messages: InboundCounts
    statuses: StatusCounts
    ignored: int = 0  # changes for another phone number, or fields other than `messages`


# ------------------------------------------------------------------ Meta's payload (read, never written)

class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class _Text(_Lenient):
    body: str = Field("", max_length=8192)


class _Button(_Lenient):
    payload: str | None = Field(None, max_length=1024)
    text: str | None = Field(None, max_length=1024)


class _Reply(_Lenient):
    id: str = Field(max_length=1024)
    title: str = Field("", max_length=1024)


class _Interactive(_Lenient):
    type: str
    button_reply: _Reply | None = None
    list_reply: _Reply | None = None


class _Context(_Lenient):
    id: str | None = Field(None, max_length=256)


# Meta sends Unix seconds as a string; anything else (a digit Python's int() refuses, like '²', one past any date,
# a negative one) is no instant, read as none, so it never costs the notification: a message is kept at its receipt.
LATEST_STAMP = 253402300799  # 9999-12-31T23:59:59Z, the last instant a datetime holds


def _instant(stamp: str | int | None) -> dt.datetime | None:
    """The instant a `timestamp` says, or None when it is not one (never raises)."""
    if isinstance(stamp, str):
        if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
            return None
        stamp = int(stamp)
    if stamp is None or not 0 <= stamp <= LATEST_STAMP:
        return None
    return dt.datetime.fromtimestamp(stamp, dt.UTC)


class _Message(_Lenient):
    sender: str = Field(alias="from", max_length=32)
    id: str = Field(min_length=1, max_length=256)
    timestamp: str | int | None = None  # a number, though Meta writes a string, is read alike
    type: str = Field(max_length=64)
    text: _Text | None = None
    button: _Button | None = None
    interactive: _Interactive | None = None
    context: _Context | None = None

    def inbound(self) -> InboundMessage | None:
        sender = e164(self.sender)
        if sender is None:
            return None
        text, reply_id = "", None
        if self.type == "text" and self.text is not None:
            text = self.text.body
        elif self.type == "button" and self.button is not None:
            text, reply_id = self.button.text or "", self.button.payload
        elif self.type == "interactive" and self.interactive is not None:
            reply = self.interactive.button_reply or self.interactive.list_reply
            if reply is not None:
                text, reply_id = reply.title, reply.id
        return InboundMessage(self.id, sender, self.type, text, reply_id,
                              self.context.id if self.context else None, _instant(self.timestamp))


class _ErrorData(_Lenient):
    details: str | None = None


class _Error(_Lenient):
    code: int | None = None
    title: str | None = Field(None, max_length=500)
    error_data: _ErrorData | None = None


class _Status(_Lenient):
    id: str = Field(min_length=1, max_length=256)
    status: str
    timestamp: str | int | None = None  # not read: a status settles its attempt at its receipt
    recipient_id: str | None = None
    errors: list[_Error] = Field(default_factory=list, max_length=20)
    # Returned as the send gave it (Meta documents at most 512 characters; the body's own cap bounds it here, and
    # data that is not ours names no attempt): ours names the attempt.
    biz_opaque_callback_data: str | None = None

    def update(self) -> StatusUpdate | None:
        return status_update(self.id, self.status, [(e.code, e.title) for e in self.errors],
                             self.biz_opaque_callback_data)


class _Metadata(_Lenient):
    phone_number_id: str


class _Value(_Lenient):
    messaging_product: str | None = None
    metadata: _Metadata | None = None
    messages: list[_Message] = Field(default_factory=list)
    statuses: list[_Status] = Field(default_factory=list)


class _Change(_Lenient):
    field: str
    value: _Value


class _Entry(_Lenient):
    id: str
    changes: list[_Change] = Field(default_factory=list)


class MetaNotification(_Lenient):
    """A WhatsApp Business Account webhook notification: object, entry[].changes[].value."""

    object: str
    entry: list[_Entry] = Field(default_factory=list)

    def read(self, phone_number_id: str) -> tuple[list[InboundMessage], list[StatusUpdate], int]:
        """The messages and statuses for this number, and how many changes or items were ignored (another number,
        another field, a shape not understood)."""
        messages: list[InboundMessage] = []
        statuses: list[StatusUpdate] = []
        ignored = 0
        if self.object != "whatsapp_business_account":
            return [], [], sum(len(e.changes) for e in self.entry)
        for entry in self.entry:
            for change in entry.changes:
                value = change.value
                if change.field != "messages" or value.metadata is None \
                        or value.metadata.phone_number_id != phone_number_id:
                    ignored += 1
                    continue
                for m in value.messages:
                    if (inbound := m.inbound()) is not None:
                        messages.append(inbound)
                    else:
                        ignored += 1
                for st in value.statuses:
                    if (update := st.update()) is not None:
                        statuses.append(update)
                    else:
                        ignored += 1
        return messages, statuses, ignored
