"""The door every request passes: the caller is authenticated before a byte of its body is read, and every body
cap is enforced while the body streams, whatever its framing (Content-Length, chunked, multipart).

Each path is governed by one `BodyRule`: who may send a body there (an API key, a provider's signature checked by
the route over the raw body, or anyone: the debtor page's forms) and how large it may be. A request over its cap
is answered 413 as soon as the cap is passed; an unauthenticated one 401 before its body is touched. Memory per
request is bounded by the rule's cap for buffered bodies and by one chunk for streamed ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from recaudo_common.errors import PROBLEM_JSON

Gatekeeper = Literal["key", "signature", "public"]
# Authenticates the Authorization header's value; returns the principal to hand to the route, or a problem
# (status, code, detail) to answer with before any of the body is read. A browser's session cookie is presented to
# it as the credentials `Session <token>` (recaudo_common.sessions) when no Authorization header is sent.
KeyCheck = Callable[[str], Awaitable[object | tuple[int, str, str]]]

FORM_ROOM = 1024**2  # a file's form beyond the file: boundaries, part headers, its other fields
LINGER_BYTES = 4 * 1024**2  # read and thrown away after a refusal, so the client can read the refusal
LINGER_S = 2.0
SIGNED_BODY_BYTES = 64 * 1024  # a provider's notification: verified over these bytes before anything is parsed
PUBLIC_FORM_BYTES = 16 * 1024  # the debtor page's forms: a few short fields
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class BodyRule:
    """Who may send a body to the paths matching `pattern` (a regular expression over the path), and how much."""

    pattern: str
    gatekeeper: Gatekeeper
    max_bytes: int

    def matches(self, path: str) -> bool:
        return re.fullmatch(self.pattern, path) is not None


def signed(pattern: str) -> BodyRule:
    """A provider's notification: no API key, its signature is verified by the route over at most 64 KiB."""
    return BodyRule(pattern, "signature", SIGNED_BODY_BYTES)


def keyed_file(pattern: str, file_bytes: int) -> BodyRule:
    """A form carrying one file of at most `file_bytes`, sent with a key, with room for its boundaries and other
    fields (FORM_ROOM): the route refuses the file itself past its cap (413 file_too_large, naming it), and the
    gate a body past both (413 payload_too_large)."""
    return BodyRule(pattern, "key", file_bytes + FORM_ROOM)


def public_form(pattern: str) -> BodyRule:
    """A form anyone may post (the debtor page): no key, a few short fields."""
    return BodyRule(pattern, "public", PUBLIC_FORM_BYTES)


# Every path under /v1/webhooks/ is a provider's: signed, never keyed, so a path that leads nowhere is 404, not 401.
PROVIDER_NOTIFICATIONS = signed(r"/v1/webhooks/.*")


def problem(status: int, code: str, title: str, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"type": f"https://recaudo.dev/problems/{code}", "title": title, "status": status,
                         "code": code, "detail": detail}, status_code=status, media_type=PROBLEM_JSON,
                        headers=headers)


def too_large(limit: int) -> JSONResponse:
    return problem(413, "payload_too_large", "Request too large", f"the body may be at most {limit} bytes")


class BodyTooLargeError(Exception):
    """Raised from `receive` once a body passes its cap: whatever the app was doing with it stops there."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the body passed its cap of {limit} bytes")
        self.limit = limit


class Gate:
    """ASGI middleware: authentication before the body, caps while it streams. `rules` are tried in order; a path
    no rule matches takes an API key and at most `max_json_bytes`, whatever its content type: a route that takes a
    file declares a rule of its own (keyed_file). A form sent elsewhere is no file's: FastAPI buffers a body it
    cannot parse as a form whole before the route's dependencies run, so a file's cap there would let any key
    holder fill the process's memory with one request. `max_body_bytes` bounds every rule."""

    def __init__(self, app: ASGIApp, *, check_key: KeyCheck | None, rules: Sequence[BodyRule],
                 max_json_bytes: int, max_body_bytes: int) -> None:
        self.app, self.check_key, self.rules, self.max_body_bytes = app, check_key, tuple(rules), max_body_bytes
        self.json_rule = BodyRule(".*", "key", max_json_bytes)

    def rule_for(self, path: str) -> BodyRule:
        for rule in self.rules:
            if rule.matches(path):
                return rule
        return self.json_rule

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"]:  # no resource has a NUL in its name, and PostgreSQL text cannot hold one
            await problem(404, "not_found", "Not found", "no such resource")(scope, receive, send)
            return
        rule = self.rule_for(scope["path"])
        declared = _declared_length(scope)
        if declared == -2:
            await problem(400, "bad_request", "Bad request", "Content-Length is not a number")(scope, receive, send)
            return
        carries_body = scope["method"] in BODY_METHODS or declared > 0 or _chunked(scope)
        if carries_body and rule.gatekeeper == "key" and self.check_key is not None:
            verdict = await self.check_key(_header(scope, b"authorization") or _session_credentials(scope))
            if isinstance(verdict, tuple):
                status, code, detail = verdict
                # The body is never read: the server closes the connection after this answer, so an anonymous
                # client streaming gigabytes costs what the socket buffers hold.
                await refuse(problem(status, code, "Unauthorized", detail, {"WWW-Authenticate": "Bearer"}),
                             receive, send)
                return
            scope.setdefault("state", {})["principal"] = verdict
        limit = min(rule.max_bytes, self.max_body_bytes)  # RECAUDO_MAX_BODY_BYTES bounds every body
        if declared > limit:
            await refuse(too_large(limit), receive, send)
            return
        await self._pass_capped(scope, receive, send, limit)

    async def _pass_capped(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        """Counts the body as the app reads it; past `limit` the app's reading fails, and whatever it answers
        (FastAPI turns a failed read into 400) is replaced by 413, unless it had already started answering."""
        seen, exceeded, started = 0, False, False

        async def counted() -> Message:
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    exceeded = True
                    raise BodyTooLargeError(limit)
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                return  # the app's answer to a failed read; ours goes out below
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except BodyTooLargeError:
            pass
        if exceeded and not started:
            await refuse(too_large(limit), receive, send)


async def refuse(response: JSONResponse, receive: Receive, send: Send) -> None:
    """Answers without reading the body, then closes the connection. Between the two it reads and discards at most
    LINGER_BYTES for at most LINGER_S, as a web server's lingering close does: a socket closed with unread data
    is reset, and the reset would destroy the answer before a client that is still sending could read it."""
    response.headers["Connection"] = "close"
    await send({"type": "http.response.start", "status": response.status_code,
                "headers": response.raw_headers})
    await send({"type": "http.response.body", "body": response.body, "more_body": True})
    drained, deadline = 0, time.monotonic() + LINGER_S
    with contextlib.suppress(TimeoutError):
        while drained < LINGER_BYTES:
            message = await asyncio.wait_for(receive(), max(0.0, deadline - time.monotonic()))
            if message["type"] != "http.request":
                break
            drained += len(message.get("body", b""))
            if not message.get("more_body", False):
                break
    await send({"type": "http.response.body", "body": b"", "more_body": False})


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return ""


def _session_credentials(scope: Scope) -> str:
    from recaudo_common.sessions import session_credentials

    return session_credentials(_header(scope, b"cookie"))


def _declared_length(scope: Scope) -> int:
    """The declared body length; -1 when none is declared, -2 when the header is not a number."""
    value = _header(scope, b"content-length").strip()
    if not value:
        return -1
    return int(value) if value.isascii() and value.isdigit() else -2


def _chunked(scope: Scope) -> bool:
    return "chunked" in _header(scope, b"transfer-encoding").lower()
