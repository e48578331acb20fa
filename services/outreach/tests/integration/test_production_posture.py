"""Outreach in production, through its HTTP API and a real PostgreSQL: a channel with no real provider is off (its
attempts blocked as channel_not_configured, nothing sandboxed), the sandbox's signed receipts and the sandbox
gateway are refused; and signature headers that are not ASCII are refused 401, never a 500."""

import json
import re

import pytest

from outreach.providers import twilio_signature
from recaudo_common.settings import DEV_SANDBOX_SECRET
from recaudo_common.webhook_signatures import sign

from .conftest import WEDNESDAY_10, make_outreach, segmented

pytestmark = pytest.mark.integration
HTML = {"Accept": "text/html"}


async def test_in_production_a_channel_without_a_provider_is_blocked_never_sandboxed(database_url: str) -> None:
    o, http = await make_outreach(database_url, environment="production", providers={"email": "off"},
                                  sandbox_delivery_rate=1.0)
    try:
        await o.deliver(await o.placed("P-1"), segmented("P-1", ("sms",)))
        assert await o.tick() == 1
        [(status, why)] = await o.sql("SELECT status, cancel_reason FROM outreach.attempts WHERE account_ref = 'P-1' "
                                          "AND sequence = 1")
        assert (status, why) == ("cancelled", "blocked: channel_not_configured")
        assert await o.sql("SELECT 1 FROM outreach.sandbox_messages") == []
        [(event,)] = await o.sql("SELECT envelope FROM outreach.outbox "
                                 "WHERE envelope->>'type' NOT IN ('contact.consents_recorded', 'client.ready')")
        assert (event["type"], event["payload"]["reasons"]) == ("contact.blocked", ["channel_not_configured"])
        history = (await http.get("/v1/clients/banco/accounts/P-1/contacts", headers=o.auth)).json()
        cancelled = [t for t in history["trail"] if t["kind"] == "cancelled"]
        assert cancelled and cancelled[0]["detail"]["reasons"] == ["channel_not_configured"]
    finally:
        await http.aclose()
        await o.platform.db.dispose()


async def test_in_production_sandbox_receipts_and_the_sandbox_gateway_are_refused(database_url: str) -> None:
    o, http = await make_outreach(database_url, environment="production", providers={})
    try:
        # A receipt signed with the sandbox secret (public in the source) would opt a debtor out: refused.
        body = json.dumps({"message_id": "sbx-x", "status": "reply", "detail": "BAJA",
                           "reply_from": "+573001234567", "channel": "sms"}).encode()
        forged = await http.post("/v1/webhooks/outreach/sandbox", content=body, headers={
            "Content-Type": "application/json", "Recaudo-Signature": sign(body, DEV_SANDBOX_SECRET, WEDNESDAY_10)})
        assert (forged.status_code, forged.json()["code"]) == (401, "unknown_provider")
        # The debtor page offers no payment, and a payment posted anyway is refused in Spanish.
        await o.deliver(await o.placed("G-1"), segmented("G-1"))
        link = await http.post("/v1/clients/banco/accounts/G-1/payment-link", headers=o.auth)
        path = str(link.json()["url"]).removeprefix(o.settings.public_url)
        page = await http.post(path, data={"digits": "304050"}, headers=HTML)
        assert page.status_code == 200 and "Pagar ahora" not in page.text and "Prometer un pago" in page.text
        proof = re.search(r'name="proof" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        paid = await http.post(f"{path}/pay", data={"proof": proof, "amount": "1000", "nonce": "n1"}, headers=HTML)
        assert paid.status_code == 503 and "El pago en línea no está disponible" in paid.text
        api = await http.post(f"{path}/pay", data={"proof": proof, "amount": "1000", "nonce": "n2"})
        assert api.json()["code"] == "gateway_not_configured"
    finally:
        await http.aclose()
        await o.platform.db.dispose()


async def test_signature_headers_that_are_not_ascii_are_refused(database_url: str) -> None:
    o, http = await make_outreach(database_url, providers={"sms": "twilio", "email": "sandbox"},
                                  twilio_auth_token="tok-secret", twilio_account_sid="AC1",
                                  public_url="http://outreach.test")
    try:
        form = {"MessageSid": "SM1", "MessageStatus": "delivered"}
        good = twilio_signature("tok-secret", "http://outreach.test/v1/webhooks/outreach/twilio", form)
        for value in ("é".encode(), b"\xff\xfe", good.encode() + "ñ".encode(), "é".encode() * 28):
            answer = await http.post("/v1/webhooks/outreach/twilio", data=form, headers={"X-Twilio-Signature": value})
            assert (answer.status_code, answer.json()["code"]) == (403, "bad_signature"), value  # Twilio's: 403
        body = b'{"message_id": "sbx-x", "status": "delivered"}'
        stamp = sign(body, DEV_SANDBOX_SECRET, WEDNESDAY_10).split(",v1=")[0]
        for value in (f"{stamp},v1=".encode() + "é".encode() * 32, b"\xff", f"{stamp},v1=".encode() + b"\x80" * 64):
            answer = await http.post("/v1/webhooks/outreach/sandbox", content=body, headers={
                "Content-Type": "application/json", "Recaudo-Signature": value})
            assert (answer.status_code, answer.json()["code"]) == (401, "bad_signature"), value
    finally:
        await http.aclose()
        await o.platform.db.dispose()
