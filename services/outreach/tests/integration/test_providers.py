"""Real providers against real local servers: SMTP email received and parsed by aiosmtpd; SMS and WhatsApp
through a local server that implements the Twilio Messages API's send and status-callback subset; retries
with backoff on a provider's outage."""

import asyncio
import datetime as dt
import email
import email.policy
import uuid
from typing import Any

import httpx
import pytest
import uvicorn
from aiosmtpd.controller import Controller
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from outreach.providers import twilio_signature
from recaudo_common.testing import eventually, free_port

from .conftest import Outreach, make_outreach, placed, segmented

pytestmark = pytest.mark.integration


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))  # type: ignore[arg-type]
        return "250 OK"


@pytest.fixture
def smtp_server() -> Any:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


async def test_email_is_really_received_by_an_smtp_server(database_url: str, smtp_server: Any) -> None:
    controller, inbox = smtp_server
    o, http = await make_outreach(database_url, providers={"email": "smtp", "sms": "sandbox"},
                                  smtp_port=controller.port, smtp_from="cobranza@agencia.example")
    try:
        await o.deliver(placed("E-1", channels=("email",)), segmented("E-1", ("email",)))
        assert await o.tick() == 1
        [message] = inbox.messages
        assert message["To"] == "deudor@example.com" and message["From"] == "cobranza@agencia.example"
        assert message["Subject"] == "Banco Andino: saldo pendiente de su obligación E-1"
        text = message.get_content()
        assert text.startswith("Estimado(a) María:") and "1.500.000,00" in text and "/pay/" in text
        assert "Responda BAJA" in text
        [(status, provider, message_id)] = await o.sql(
            "SELECT status, provider, provider_message_id FROM outreach.attempts WHERE sequence = 1")
        assert (status, provider) == ("sent", "smtp") and message["Message-ID"].strip("<>") == message_id
    finally:
        await http.aclose()
        await o.platform.db.dispose()


async def test_a_down_smtp_server_means_retry_with_backoff_not_loss(database_url: str) -> None:
    o, http = await make_outreach(database_url, providers={"email": "smtp"}, smtp_port=free_port(),
                                  retry_backoff_s=60, max_send_tries=2)
    try:
        await o.deliver(placed("E-2", channels=("email",)), segmented("E-2", ("email",)))
        await o.tick()
        [(status, scheduled_at, failure)] = await o.sql(
            "SELECT status, scheduled_at, failure FROM outreach.attempts WHERE sequence = 1")
        assert status == "scheduled" and scheduled_at == o.clock.now + dt.timedelta(seconds=60)
        assert failure.startswith("SMTP unavailable")
        [(contacts,)] = await o.sql("SELECT count(*) FROM outreach.contacts")
        assert contacts == 0  # it never reached the debtor, so it does not count against the limits
        o.clock.now += dt.timedelta(seconds=61)
        await o.tick()
        [(status,)] = await o.sql("SELECT status FROM outreach.attempts WHERE sequence = 1")
        assert status == "failed"
        [(event,)] = await o.sql("SELECT envelope->>'type' FROM outreach.outbox")
        assert event == "contact.failed"
    finally:
        await http.aclose()
        await o.platform.db.dispose()


class TwilioLike:
    """The Messages API subset: POST .../Messages.json (basic auth, form) answers a SID, then posts signed status
    callbacks (sent, delivered) to StatusCallback; honours Idempotency-Key."""

    def __init__(self, sid: str, token: str) -> None:
        self.sid, self.token = sid, token
        self.sent: list[dict[str, str]] = []
        self.by_key: dict[str, str] = {}
        self.app = FastAPI()
        self.tasks: set[asyncio.Task[None]] = set()
        self.eager = False
        self.app.post("/2010-04-01/Accounts/{account}/Messages.json")(self.create)

    async def create(self, account: str, request: Request) -> JSONResponse:
        if request.headers.get("authorization") != httpx.BasicAuth(self.sid, self.token)._auth_header:
            return JSONResponse({"code": 20003, "message": "Authenticate"}, status_code=401)
        form = {k: str(v) for k, v in (await request.form()).items()}
        if not form.get("To", "").removeprefix("whatsapp:").startswith("+"):
            return JSONResponse({"code": 21211, "message": "Invalid 'To' Phone Number"}, status_code=400)
        key = request.headers.get("idempotency-key", "")
        if key in self.by_key:
            return JSONResponse({"sid": self.by_key[key], "status": "queued"}, status_code=201)
        sid = "SM" + uuid.uuid4().hex
        self.by_key[key] = sid
        self.sent.append(form)
        if self.eager:  # the callbacks beat the answer: the sender has not recorded the sid yet
            await self.callbacks(form["StatusCallback"], sid)
        else:
            task = asyncio.create_task(self.callbacks(form["StatusCallback"], sid))
            self.tasks.add(task)
        return JSONResponse({"sid": sid, "status": "queued"}, status_code=201)

    async def callbacks(self, url: str, sid: str) -> None:
        async with httpx.AsyncClient(transport=self.target) as http:
            for status in ("sent", "delivered"):
                params = {"MessageSid": sid, "MessageStatus": status, "AccountSid": self.sid}
                await http.post(url, data=params, headers={"X-Twilio-Signature": twilio_signature(self.token, url,
                                                                                                  params)})

    target: httpx.AsyncBaseTransport


async def test_a_receipt_that_arrives_before_its_send_is_recorded_is_not_lost(database_url: str) -> None:
    twilio = TwilioLike("AC123", "tok-secret")
    twilio.eager = True
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(twilio.app, host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    o, http = await make_outreach(
        database_url, providers={"sms": "twilio"}, twilio_base_url=f"http://127.0.0.1:{port}",
        twilio_account_sid="AC123", twilio_auth_token="tok-secret", twilio_sms_from="+15005550006",
        public_url="http://outreach.test")
    twilio.target = http._transport
    try:
        async def started() -> bool:
            return bool(server.started)

        await eventually(started, timeout_s=10)
        await o.deliver(placed("E-1", debtor="1"), segmented("E-1", ("sms",)))
        assert await o.tick() == 1
        rows = await o.sql("SELECT status FROM outreach.attempts WHERE account_ref = 'E-1' AND sequence = 1")
        assert [r[0] for r in rows] == ["delivered"]  # the early "delivered" was kept and applied at the send
        assert await o.sql("SELECT count(*) FROM outreach.early_receipts") == [(0,)]
    finally:
        await http.aclose()
        server.should_exit = True
        await serving
        await o.platform.db.dispose()


async def test_an_early_receipt_no_send_claims_is_kept_for_its_retention_then_discarded(outreach: Outreach) -> None:
    from outreach.handlers import apply_receipts, expire_early_receipts
    from outreach.providers import Receipt

    received = outreach.clock.now
    counts = await apply_receipts(outreach.platform.db, "twilio", [Receipt("SM-never-sent", "delivered", None)],
                                  now=received)
    assert counts["unknown"] == 1
    retention = dt.timedelta(hours=outreach.settings.early_receipt_retention_h)
    assert await expire_early_receipts(outreach.platform.db, outreach.settings, now=received + retention) == 0
    assert await outreach.sql("SELECT provider_message_id FROM outreach.early_receipts") == [("SM-never-sent",)]
    later = received + retention + dt.timedelta(minutes=1)
    assert await expire_early_receipts(outreach.platform.db, outreach.settings, now=later) == 1
    assert await outreach.sql("SELECT count(*) FROM outreach.early_receipts") == [(0,)]


async def test_sms_and_whatsapp_through_a_twilio_style_api_with_status_callbacks(database_url: str) -> None:
    twilio = TwilioLike("AC123", "tok-secret")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(twilio.app, host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    o, http = await make_outreach(
        database_url, providers={"sms": "twilio", "whatsapp": "twilio"}, twilio_base_url=f"http://127.0.0.1:{port}",
        twilio_account_sid="AC123", twilio_auth_token="tok-secret", twilio_sms_from="+15005550006",
        twilio_whatsapp_from="+14155238886", public_url="http://outreach.test")
    twilio.target = http._transport  # the callbacks reach outreach's app in process
    try:
        async def started() -> bool:
            return bool(server.started)

        await eventually(started, timeout_s=10)
        await o.deliver(placed("W-1", debtor="1"), segmented("W-1", ("sms",)),
                        placed("W-2", debtor="2", channels=("whatsapp",)), segmented("W-2", ("whatsapp",)))
        assert await o.tick() == 2
        assert sorted((m["To"], m["From"]) for m in twilio.sent) == [
            ("+573001234567", "+15005550006"), ("whatsapp:+573001234567", "whatsapp:+14155238886")]
        assert all(m["StatusCallback"] == "http://outreach.test/v1/webhooks/outreach/twilio" for m in twilio.sent)

        async def delivered() -> bool:
            rows = await o.sql("SELECT status FROM outreach.attempts WHERE sequence = 1")
            return [r[0] for r in rows] == ["delivered", "delivered"]

        await eventually(delivered, timeout_s=30)
        forged = await http.post("/v1/webhooks/outreach/twilio", data={"MessageSid": "x", "MessageStatus": "failed"},
                                 headers={"X-Twilio-Signature": "bm9wZQ=="})
        assert forged.status_code == 401
        reply = {"MessageSid": "SMin1", "From": "whatsapp:+573001234567", "Body": "baja"}
        url = "http://outreach.test/v1/webhooks/outreach/twilio"
        answer = await http.post("/v1/webhooks/outreach/twilio", data=reply,
                                 headers={"X-Twilio-Signature": twilio_signature("tok-secret", url, reply)})
        assert answer.json()["applied"] == 1
        [(channel,)] = await o.sql("SELECT channel FROM outreach.opt_outs")
        assert channel == "whatsapp"
    finally:
        await http.aclose()
        server.should_exit = True
        await serving
        await o.platform.db.dispose()
