"""A local server with the subset of Meta's Graph API that outreach's WhatsApp provider uses, for integration
tests: POST /{api_version}/{phone_number_id}/messages with `Authorization: Bearer <token>` and a JSON body, which
it checks against the documented shapes (text, interactive reply buttons, template) before it answers the
documented way: {"messaging_product", "contacts": [{"input", "wa_id"}], "messages": [{"id": "wamid..."}]}, or
an error {"error": {"message", "type", "code", "error_subcode", "error_data", "fbtrace_id"}}. Like Meta it takes
no idempotency key: every POST is a new message, and the test counts them. `biz_opaque_callback_data` (a string
of 512 characters at most) is taken as Meta takes it, and `status_notification` writes the webhook Meta then
sends for a message, with that string returned in its status.

https://developers.facebook.com/documentation/business-messaging/whatsapp/messages/text-messages/
https://developers.facebook.com/documentation/business-messaging/whatsapp/messages/interactive-reply-buttons-messages
https://developers.facebook.com/docs/whatsapp/cloud-api/guides/send-message-templates
https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from recaudo_common.testing import serving_app


@dataclass(frozen=True)
class Posted:
    """A request as the fake received it."""

    path: str
    authorization: str | None
    content_type: str | None
    body: dict[str, Any]
    message_id: str | None  # the wamid it answered with (None when it answered an error)


def shape_problems(body: dict[str, Any]) -> list[str]:
    """Where a send's body departs from the documented shapes (an empty list when it is one of them)."""
    problems: list[str] = []
    if body.get("messaging_product") != "whatsapp":
        problems.append("messaging_product must be whatsapp")
    if body.get("recipient_type") != "individual":
        problems.append("recipient_type must be individual")
    if not re.fullmatch(r"[1-9][0-9]{6,14}", str(body.get("to", ""))):
        problems.append("to must be the user's number (E.164 digits)")
    kind = body.get("type")
    expected_keys = {"messaging_product", "recipient_type", "to", "type", str(kind)}
    if set(body) - {"biz_opaque_callback_data"} != expected_keys:
        problems.append(f"unexpected keys {sorted((set(body) - {'biz_opaque_callback_data'}) ^ expected_keys)}")
    opaque = body.get("biz_opaque_callback_data")
    if opaque is not None and (not isinstance(opaque, str) or len(opaque) > 512):
        problems.append("biz_opaque_callback_data: an arbitrary string of 512 characters at most")
    if kind == "text":
        text = body["text"]
        if set(text) - {"body", "preview_url"} or not 1 <= len(text.get("body", "")) <= 4096:
            problems.append("text: a body of 1 to 4096 characters")
    elif kind == "interactive":
        interactive = body["interactive"]
        buttons = interactive.get("action", {}).get("buttons", [])
        if interactive.get("type") != "button" or not 1 <= len(interactive.get("body", {}).get("text", "")) <= 1024:
            problems.append("interactive: type button and a body text of 1 to 1024 characters")
        if not 1 <= len(buttons) <= 3:
            problems.append("interactive: 1 to 3 buttons")
        for b in buttons:
            if b.get("type") != "reply" or not 1 <= len(b["reply"]["title"]) <= 20 or not b["reply"]["id"]:
                problems.append(f"interactive: a reply button with an id and a title of 20 at most: {b}")
    elif kind == "template":
        template = body["template"]
        if not re.fullmatch(r"[a-z0-9_]+", template.get("name", "")) or "code" not in template.get("language", {}):
            problems.append("template: a name and a language code")
        for c in template.get("components", []):
            if c["type"] == "body":
                if any(p.get("type") != "text" or not p.get("text") or "\n" in p["text"] for p in c["parameters"]):
                    problems.append("template: body parameters are non-empty single-line texts")
            elif c["type"] == "button":
                if c.get("sub_type") != "quick_reply" or not isinstance(c.get("index"), str) or \
                        [p.get("type") for p in c["parameters"]] != ["payload"]:
                    problems.append(f"template: a quick reply button with a string index and a payload: {c}")
            else:
                problems.append(f"template: unexpected component {c['type']}")
    else:
        problems.append(f"unexpected type {kind!r}")
    return problems


def graph_error(code: int, message: str, *, http_status: int = 400, error_type: str = "OAuthException"
                ) -> tuple[int, dict[str, Any]]:
    """An error answer as documented."""
    return http_status, {"error": {"message": message, "type": error_type, "code": code,
                                   "error_data": {"messaging_product": "whatsapp", "details": message},
                                   "error_subcode": 2494010, "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam"}}


@dataclass
class FakeGraphApi:
    phone_number_id: str = "106540352242922"
    token: str = "EAAG-test-token"
    version: str = "v21.0"
    posted: list[Posted] = field(default_factory=list)
    # Answers to give the next posts, in order (status, body); afterwards each post is taken.
    errors: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    # When set, a post is taken (recorded with its id) and its answer held until the event is set: the sender's
    # call times out while Meta already has the message.
    hold: asyncio.Event | None = None

    def __post_init__(self) -> None:
        self.app = FastAPI()
        self.app.post("/{version}/{phone_number_id}/messages")(self.messages)

    @property
    def taken(self) -> list[Posted]:
        return [p for p in self.posted if p.message_id is not None]

    async def messages(self, version: str, phone_number_id: str, request: Request) -> JSONResponse:
        raw = await request.body()
        body = json.loads(raw)
        auth = request.headers.get("authorization")
        answer: tuple[int, dict[str, Any]] | None = None
        if auth != f"Bearer {self.token}":
            answer = graph_error(190, "Error validating access token: The session has been invalidated.",
                                 http_status=401)
        elif version != self.version or phone_number_id != self.phone_number_id:
            answer = graph_error(100, "Unsupported post request.")
        elif problems := shape_problems(body):
            answer = graph_error(100, "(#100) Invalid parameter: " + "; ".join(problems))
        elif self.errors:
            answer = self.errors.pop(0)
        message_id = None if answer else "wamid." + uuid.uuid4().hex.upper()
        self.posted.append(Posted(request.url.path, auth, request.headers.get("content-type"), body, message_id))
        if self.hold is not None and answer is None:
            await self.hold.wait()
        if answer is not None:
            return JSONResponse(answer[1], status_code=answer[0])
        return JSONResponse({"messaging_product": "whatsapp",
                             "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                             "messages": [{"id": message_id}]})


def status_notification(fake: FakeGraphApi, posted: Posted, status: str, at: int) -> bytes:
    """The `statuses` notification Meta sends for a message it took: its id, the status, the recipient, and the
    send's `biz_opaque_callback_data` returned unprocessed (as the webhooks reference's status object has it)."""
    item: dict[str, Any] = {"id": posted.message_id, "status": status, "timestamp": str(at),
                            "recipient_id": posted.body["to"]}
    if "biz_opaque_callback_data" in posted.body:
        item["biz_opaque_callback_data"] = posted.body["biz_opaque_callback_data"]
    return json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": fake.phone_number_id},
            "statuses": [item]}}]}]}, separators=(",", ":")).encode()


@contextlib.asynccontextmanager
async def serving(fake: FakeGraphApi) -> AsyncIterator[str]:
    """Serves the fake on a free local port; yields its base URL."""
    async with serving_app(fake.app) as base_url:
        try:
            yield base_url
        finally:
            if fake.hold is not None:  # a request it holds must end before the server can stop
                fake.hold.set()
