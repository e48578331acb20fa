"""A local server with the subset of Twilio's Messages and Calls APIs that outreach uses, for integration tests:
create a message (POST .../Messages.json, basic auth, form), list messages (GET .../Messages.json?To=&From=&
PageSize=, newest first, paged by next_page_uri), signed status callbacks to the StatusCallback URL given at
creation, and create a call (POST .../Calls.json: To, From, Twiml, StatusCallback, StatusCallbackEvent). Every
request is recorded as it came (path, Authorization, form fields in order, repeated ones included) for the
tests to check against Twilio's documented format. Like Twilio it takes no idempotency key: every POST is a
new message, and the test counts them."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qsl

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from outreach.providers import twilio_signature
from recaudo_common.testing import serving_app


@dataclass
class FakeMessage:
    sid: str
    to: str
    sender: str
    body: str
    callback: str
    created: dt.datetime
    status: str = "queued"


@dataclass
class Recorded:
    """One request as the fake received it."""

    method: str
    path: str
    authorization: str | None
    content_type: str | None
    form: list[tuple[str, str]]


@dataclass
class FakeTwilio:
    sid: str = "AC123"
    token: str = "tok-secret"
    messages: list[FakeMessage] = field(default_factory=list)
    # When set, a create records the message and then waits for it before answering: the sender's process can be
    # killed (or its call time out) while Twilio already has the message.
    hold: asyncio.Event | None = None
    # Answer a create with this status after recording the message (the answer is lost to the sender).
    fail_after_create: int | None = None
    eager: bool = False  # the callbacks beat the answer
    # When set, the callbacks wait for it: a test decides whether they come before or after the sender has dealt
    # with the answer (in-process they can overtake it either way).
    callbacks_after: asyncio.Event | None = None
    callbacks: bool = True
    target: httpx.AsyncBaseTransport | None = None  # where callbacks are posted (outreach's app in process)
    received: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    requests: list[Recorded] = field(default_factory=list)
    refusal: dict[str, Any] | None = None  # when set, a create is refused 400 with this error body
    calls: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.app = FastAPI()
        self.app.post("/2010-04-01/Accounts/{account}/Messages.json")(self.create)
        self.app.get("/2010-04-01/Accounts/{account}/Messages.json")(self.list)
        self.app.post("/2010-04-01/Accounts/{account}/Calls.json")(self.create_call)
        self.app.get("/2010-04-01/Accounts/{account}/Calls.json")(self.list_calls)

        @self.app.middleware("http")
        async def record(request: Request, call_next: Any) -> Any:
            raw = await request.body()
            self.requests.append(Recorded(request.method, request.url.path, request.headers.get("authorization"),
                                          request.headers.get("content-type"),
                                          parse_qsl(raw.decode(), keep_blank_values=True)))
            return await call_next(request)

    async def create_call(self, account: str, request: Request) -> JSONResponse:
        if not self._authorised(request) or account != self.sid:
            return JSONResponse({"code": 20003, "message": "Authenticate"}, status_code=401)
        form = await request.form()
        call = {"sid": "CA" + uuid.uuid4().hex, "account_sid": self.sid, "to": form["To"], "from": form["From"],
                "status": "queued", "date_created": format_datetime(dt.datetime.now(dt.UTC), usegmt=True)}
        self.calls.append(call)
        if self.fail_after_create is not None:
            return JSONResponse({"code": 20500, "message": "Internal Server Error"},
                                status_code=self.fail_after_create)
        return JSONResponse(call, status_code=201)

    async def list_calls(self, account: str, request: Request) -> JSONResponse:
        if not self._authorised(request) or account != self.sid:
            return JSONResponse({"code": 20003, "message": "Authenticate"}, status_code=401)
        q = request.query_params
        chosen = [c for c in reversed(self.calls)
                  if (not q.get("To") or c["to"] == q["To"]) and (not q.get("From") or c["from"] == q["From"])]
        return JSONResponse({"calls": chosen[:int(q.get("PageSize", "50"))], "next_page_uri": None})

    @property
    def sent(self) -> list[dict[str, str]]:
        return [{"To": m.to, "From": m.sender, "Body": m.body, "StatusCallback": m.callback} for m in self.messages]

    def _authorised(self, request: Request) -> bool:
        return request.headers.get("authorization") == httpx.BasicAuth(self.sid, self.token)._auth_header

    async def create(self, account: str, request: Request) -> JSONResponse:
        if not self._authorised(request) or account != self.sid:
            return JSONResponse({"code": 20003, "message": "Authenticate"}, status_code=401)
        form = {k: str(v) for k, v in (await request.form()).items()}
        if not form.get("To", "").removeprefix("whatsapp:").startswith("+"):
            return JSONResponse({"code": 21211, "message": "Invalid 'To' Phone Number"}, status_code=400)
        if self.refusal is not None:
            return JSONResponse(self.refusal, status_code=400)
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return JSONResponse({"code": 21603, "message": "A 'From' phone number is required."}, status_code=400)
        message = FakeMessage("SM" + uuid.uuid4().hex, form["To"], form.get("From", ""), form["Body"],
                              form.get("StatusCallback", ""), dt.datetime.now(dt.UTC))
        self.messages.append(message)
        self.received.set()
        if self.hold is not None:
            await self.hold.wait()
        if self.callbacks and self.target is not None and message.callback:  # Twilio has it, whatever we answer
            if self.eager:
                await self.send_callbacks(message)
            else:
                task = asyncio.create_task(self.send_callbacks(message))
                self.tasks.add(task)
        if self.fail_after_create is not None:
            return JSONResponse({"code": 20500, "message": "Internal Server Error"},
                                status_code=self.fail_after_create)
        return JSONResponse(self._resource(message), status_code=201)

    async def list(self, account: str, request: Request) -> JSONResponse:
        if not self._authorised(request):
            return JSONResponse({"code": 20003, "message": "Authenticate"}, status_code=401)
        q = request.query_params
        size = min(int(q.get("PageSize", "50")), 1000)
        page = int(q.get("Page", "0"))
        chosen = [m for m in reversed(self.messages)
                  if (not q.get("To") or m.to == q["To"]) and (not q.get("From") or m.sender == q["From"])]
        listed = chosen[page * size:(page + 1) * size]
        more = (page + 1) * size < len(chosen)
        path = f"/2010-04-01/Accounts/{account}/Messages.json"
        next_uri = (f"{path}?To={q.get('To', '')}&From={q.get('From', '')}&PageSize={size}&Page={page + 1}"
                    if more else None)
        return JSONResponse({"messages": [self._resource(m) for m in listed], "page": page, "page_size": size,
                             "next_page_uri": next_uri, "uri": str(request.url.path)})

    def _resource(self, m: FakeMessage) -> dict[str, Any]:
        return {"sid": m.sid, "account_sid": self.sid, "to": m.to, "from": m.sender, "body": m.body,
                "status": m.status, "date_created": format_datetime(m.created, usegmt=True), "error_code": None}

    async def send_callbacks(self, message: FakeMessage) -> None:
        assert self.target is not None
        if self.callbacks_after is not None:
            await self.callbacks_after.wait()
        async with httpx.AsyncClient(transport=self.target) as http:
            for status in ("sent", "delivered"):
                message.status = status
                params = {"MessageSid": message.sid, "MessageStatus": status, "AccountSid": self.sid}
                await http.post(message.callback, data=params, headers={
                    "X-Twilio-Signature": twilio_signature(self.token, message.callback, params)})


@contextlib.asynccontextmanager
async def serving(fake: FakeTwilio) -> AsyncIterator[str]:
    """Serves the fake on a free local port; yields its base URL."""
    try:
        async with serving_app(fake.app) as base_url:
            try:
                yield base_url
            finally:
                if fake.hold is not None:  # a request it holds must end before the server can stop
                    fake.hold.set()
    finally:
        for t in fake.tasks:  # its status callbacks still on their way
            t.cancel()
