"""WhatsApp through Meta's Cloud API, per client company (its own business phone number and access token): the
request bodies of a template, a text and an interactive reply-buttons message, the send, and what each of the
API's documented errors means for the attempt (failed, retried with backoff, or in doubt).

Formats, as Meta documents them:
- POST {api_base_url}/{api_version}/{phone_number_id}/messages, `Authorization: Bearer <access token>`, JSON:
  text    https://developers.facebook.com/documentation/business-messaging/whatsapp/messages/text-messages/
  buttons https://developers.facebook.com/documentation/business-messaging/whatsapp/messages/interactive-reply-buttons-messages
  template https://developers.facebook.com/docs/whatsapp/cloud-api/guides/send-message-templates
- the answer: {"messaging_product": "whatsapp", "contacts": [{"input", "wa_id"}], "messages": [{"id": "wamid..."}]}
- an error: {"error": {"message", "type", "code", "error_subcode", "error_data": {"messaging_product", "details"},
  "fbtrace_id"}}; its handling is built on `code`, as Meta recommends (titles and subcodes are deprecated):
  https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes
  https://developers.facebook.com/docs/graph-api/guides/error-handling
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from outreach.domain.whatsapp import callback_data
from outreach.domain.whatsapp_window import (
    InteractiveMessage,
    TemplateMessage,
    TextMessage,
    WhatsAppMessage,
    reply_button_problems,
)
from outreach.providers.base import Lookup, OneByOne, OutboundMessage, SendError, Sent
from recaudo_common.db import Database
from recaudo_common.secrets_at_rest import SecretUnreadable

GRAPH_API = "https://graph.facebook.com"


class CloudChannel(Protocol):
    """A client company's WhatsApp Business number on the Cloud API, its secrets opened (whatsapp/store.py keeps
    them sealed; they are never logged nor returned)."""

    @property
    def phone_number_id(self) -> str: ...
    @property
    def access_token(self) -> str: ...
    @property
    def api_base_url(self) -> str: ...
    @property
    def api_version(self) -> str: ...


# How the provider finds a client company's channel: whatsapp.store.channel_of (None when it has none).
ChannelOf = Callable[[AsyncSession, str], Awaitable[CloudChannel | None]]


def to_number(recipient: str) -> str:
    """The user's number as the API's `to` (and its webhooks' wa_id) write it: E.164 digits, no '+'."""
    return "".join(c for c in recipient if c.isdigit())


def request_body(to: str, message: WhatsAppMessage, callback_data: str | None = None) -> dict[str, Any]:
    """The JSON body of POST .../messages for one message, exactly as documented (links in the module's doc), with
    `biz_opaque_callback_data` when given: Meta returns it, unprocessed, in the message's status notifications."""
    head: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to}
    if callback_data is not None:
        head["biz_opaque_callback_data"] = callback_data
    if isinstance(message, TemplateMessage):
        components: list[dict[str, Any]] = []
        if message.parameters:
            components.append({"type": "body", "parameters": [{"type": "text", "text": p}
                                                              for p in message.parameters]})
        components += [{"type": "button", "sub_type": "quick_reply", "index": str(i),
                        "parameters": [{"type": "payload", "payload": payload}]}
                       for i, payload in enumerate(message.button_payloads)]
        template: dict[str, Any] = {"name": message.name, "language": {"code": message.language}}
        if components:
            template["components"] = components
        return head | {"type": "template", "template": template}
    if isinstance(message, InteractiveMessage):
        return head | {"type": "interactive", "interactive": {
            "type": "button", "body": {"text": message.body},
            "action": {"buttons": [{"type": "reply", "reply": {"id": b.id, "title": b.title}}
                                   for b in message.buttons]}}}
    assert isinstance(message, TextMessage)
    return head | {"type": "text", "text": {"body": message.body}}


class GraphErrorDetail(BaseModel):
    model_config = ConfigDict(extra="ignore")
    message: str | None = None
    type: str | None = None
    code: int | None = None
    error_subcode: int | None = None
    fbtrace_id: str | None = None


class GraphError(BaseModel):
    model_config = ConfigDict(extra="ignore")
    error: GraphErrorDetail


class SentAnswer(BaseModel):
    """The documented answer to a send; only the message id (wamid) is kept."""

    class Contact(BaseModel):
        model_config = ConfigDict(extra="ignore")
        input: str | None = None
        wa_id: str | None = None

    class Message(BaseModel):
        model_config = ConfigDict(extra="ignore")
        id: str

    model_config = ConfigDict(extra="ignore")
    messaging_product: str | None = None
    contacts: list[Contact] = []
    messages: list[Message]


class Fate(enum.Enum):
    FAILED = "failed"  # refused for good: never retried
    RETRY = "retry"  # not taken, worth another try later (with backoff)


@dataclass(frozen=True)
class ErrorMeaning:
    fate: Fate
    why: str  # our words for it; Meta's own message and details are not kept (they may quote the number)


# The documented codes this adapter meets, by what they mean for the attempt.
ERROR_CODES: dict[int, ErrorMeaning] = {
    # The 24-hour window was closed (the debtor had not written): only a template could have gone.
    131047: ErrorMeaning(Fate.FAILED, "re-engagement required: the 24-hour window is closed"),
    131026: ErrorMeaning(Fate.FAILED, "message undeliverable"),
    131021: ErrorMeaning(Fate.FAILED, "recipient cannot be the sender"),
    131051: ErrorMeaning(Fate.FAILED, "unsupported message type"),
    131052: ErrorMeaning(Fate.FAILED, "media download error"),
    131008: ErrorMeaning(Fate.FAILED, "required parameter is missing"),
    131009: ErrorMeaning(Fate.FAILED, "parameter value is not valid"),
    100: ErrorMeaning(Fate.FAILED, "invalid parameter"),
    132000: ErrorMeaning(Fate.FAILED, "template parameters do not match the approved template"),
    132001: ErrorMeaning(Fate.FAILED, "template does not exist in this language or is not approved"),
    132005: ErrorMeaning(Fate.FAILED, "template's translated text is too long"),
    132007: ErrorMeaning(Fate.FAILED, "template content violates a WhatsApp policy"),
    132015: ErrorMeaning(Fate.FAILED, "template is paused for its low quality"),
    132016: ErrorMeaning(Fate.FAILED, "template is disabled"),
    131031: ErrorMeaning(Fate.FAILED, "the business account is locked"),
    368: ErrorMeaning(Fate.FAILED, "temporarily blocked for policy violations"),
    # Authorisation: the client company's token or its permissions; no retry helps until it is reconfigured.
    0: ErrorMeaning(Fate.FAILED, "access token rejected (AuthException): reconfigure the client company's WhatsApp"),
    3: ErrorMeaning(Fate.FAILED, "the app lacks the capability: reconfigure the client company's WhatsApp"),
    10: ErrorMeaning(Fate.FAILED, "permission denied: reconfigure the client company's WhatsApp"),
    190: ErrorMeaning(Fate.FAILED, "access token expired or invalid: reconfigure the client company's WhatsApp"),
    # Throughput and rate limits: nothing was sent; later, with backoff.
    4: ErrorMeaning(Fate.RETRY, "rate limited: too many API calls"),
    80007: ErrorMeaning(Fate.RETRY, "rate limited: the business account's limit"),
    130429: ErrorMeaning(Fate.RETRY, "rate limited: Cloud API throughput reached"),
    131048: ErrorMeaning(Fate.RETRY, "rate limited: spam rate limit on this number"),
    131056: ErrorMeaning(Fate.RETRY, "rate limited: too many messages to this recipient"),
    # Meta's own temporary failures.
    1: ErrorMeaning(Fate.RETRY, "API unknown error or possible server error"),
    2: ErrorMeaning(Fate.RETRY, "API service temporarily unavailable"),
    131000: ErrorMeaning(Fate.RETRY, "something went wrong at WhatsApp"),
    133004: ErrorMeaning(Fate.RETRY, "server temporarily unavailable"),
}
AUTH_CODES = frozenset({0, 3, 10, 190}) | frozenset(range(200, 300))


def send_error(status: int, error: GraphErrorDetail | None) -> SendError:
    """What an error answer means for the attempt: by its documented `code`; by the HTTP status when the code is
    none we know (5xx and 429: not processed, retried; any other 4xx: refused for good)."""
    code = error.code if error is not None else None
    trace = f", fbtrace_id {error.fbtrace_id}" if error is not None and error.fbtrace_id else ""
    meaning = ERROR_CODES.get(code) if code is not None else None
    if meaning is None and code in AUTH_CODES:
        meaning = ERROR_CODES[10]
    if meaning is None:
        fate = Fate.RETRY if status >= 500 or status == 429 else Fate.FAILED
        meaning = ErrorMeaning(fate, "WhatsApp refused the message" if fate is Fate.FAILED
                               else "WhatsApp is unavailable")
    reason = f"WhatsApp Cloud API {status}, code {code}: {meaning.why}{trace}"
    return SendError(reason, transient=meaning.fate is Fate.RETRY)


class WhatsAppCloud(OneByOne):
    """WhatsApp for the client companies configured on Meta's Cloud API, each through its own number and token
    (read at each send, so a token rotated takes effect at once). The API takes no idempotency key: a message is
    posted once, and an answer lost after the request was written leaves the send in doubt."""

    name = "whatsapp_cloud"
    channels = frozenset({"whatsapp"})
    # Meta bills per template delivered by category and country; a utility template in Colombia is about this.
    cost = Decimal("0.0008")
    max_batch = 1

    def __init__(self, db: Database, channel_of: ChannelOf, *, timeout_s: float, https_only: bool,
                 http: httpx.AsyncClient | None = None) -> None:
        self.db, self.channel_of = db, channel_of
        self.https_only = https_only  # production: the bearer token never crosses the network in clear
        self.http = http or httpx.AsyncClient(timeout=timeout_s)

    async def configured(self, s: AsyncSession, client: str) -> bool:
        """Whether the client company has a Cloud API channel (one whose secrets no longer open still counts: its
        sends fail saying so, never rerouted elsewhere, and one client company's keys never stop the others)."""
        try:
            return await self.channel_of(s, client) is not None
        except SecretUnreadable:
            return True

    async def _send(self, message: OutboundMessage) -> Sent:
        if message.whatsapp is None or message.client is None:
            raise SendError("no WhatsApp Cloud API message was prepared for this attempt", transient=False)
        if isinstance(message.whatsapp, InteractiveMessage) and (
                problems := reply_button_problems(message.whatsapp.buttons)):
            raise SendError("reply buttons outside WhatsApp's limits: " + "; ".join(problems), transient=False)
        try:
            async with self.db.transaction() as s:
                channel = await self.channel_of(s, message.client)
        except SecretUnreadable as e:  # certainly not sent; the reason never carries a secret
            raise SendError(f"the client company's WhatsApp credentials do not open ({e}): reconfigure its WhatsApp",
                            transient=False) from e
        if channel is None:
            raise SendError("the client company's WhatsApp Cloud API is not configured", transient=False)
        base = (channel.api_base_url or GRAPH_API).rstrip("/")
        if self.https_only and not base.lower().startswith("https://"):
            raise SendError("the client company's WhatsApp API URL is not HTTPS: the access token is not sent in "
                            "clear", transient=False)
        url = f"{base}/{channel.api_version}/{channel.phone_number_id}/messages"
        try:
            answer = await self.http.post(url, json=request_body(to_number(message.recipient), message.whatsapp,
                                                                 callback_data(message.attempt_id)),
                                          headers={"Authorization": f"Bearer {channel.access_token}"})
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as e:  # nothing was written
            raise SendError(f"WhatsApp Cloud API unreachable: {type(e).__name__}", transient=True) from e
        except httpx.HTTPError as e:  # the request may have reached Meta: only a look-up could tell
            raise SendError(f"WhatsApp Cloud API answer lost: {type(e).__name__}", transient=True,
                            ambiguous=True) from e
        if answer.status_code >= 400:
            raise send_error(answer.status_code, _error_of(answer))
        try:
            sent = SentAnswer.model_validate_json(answer.content)
        except ValidationError as e:  # taken (2xx), but with no id we can record: in doubt
            raise SendError("WhatsApp Cloud API answered without a message id", transient=True,
                            ambiguous=True) from e
        if not sent.messages:
            raise SendError("WhatsApp Cloud API answered without a message id", transient=True, ambiguous=True)
        return Sent(sent.messages[0].id)

    async def look_up(self, message: OutboundMessage, since: dt.datetime) -> Lookup:
        """The Cloud API documents no way to list or find the messages a number sent, so a send left in doubt
        cannot be settled here: it is `unknown` for an operator, and it is never sent again blindly. If Meta did
        take it, the message's first status notification names its attempt (`biz_opaque_callback_data`) and
        settles it then, `sent` under the id the lost answer carried (whatsapp.handlers)."""
        return Lookup(None, reason="the WhatsApp Cloud API has no documented look-up of a sent message")


def _error_of(answer: httpx.Response) -> GraphErrorDetail | None:
    try:
        return GraphError.model_validate_json(answer.content).error
    except ValidationError:
        return None
