"""Real providers against real local servers: SMTP email received and parsed by aiosmtpd; SMS and WhatsApp
through a local server that implements the Twilio Messages API's send and status-callback subset; retries
with backoff on a provider's outage."""

import datetime as dt
import email
import email.policy
import json

import pytest

from outreach.providers import twilio_signature
from recaudo_common.local_ports import free_port
from recaudo_common.testing import eventually
from recaudo_common.webhook_signatures import sign

from .conftest import MailSink, Outreach, make_outreach, segmented
from .fake_twilio import FakeTwilio, serving

pytestmark = pytest.mark.integration


async def test_email_is_really_received_by_an_smtp_server(database_url: str, mail_server: MailSink) -> None:
    o, http = await make_outreach(database_url, providers={"email": "smtp", "sms": "sandbox"},
                                  smtp_port=mail_server.port, smtp_from="cobranza@agencia.example")
    try:
        await o.deliver(await o.placed("E-1", channels=("email",)), segmented("E-1", ("email",)))
        assert await o.tick() == 1
        [message] = [email.message_from_bytes(m.raw, policy=email.policy.default) for m in mail_server.received]
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
        await o.deliver(await o.placed("E-2", channels=("email",)), segmented("E-2", ("email",)))
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
        [(event,)] = await o.sql("SELECT envelope->>'type' FROM outreach.outbox "
                                 "WHERE envelope->>'type' NOT IN ('contact.consents_recorded', 'client.ready')")
        assert event == "contact.failed"
    finally:
        await http.aclose()
        await o.platform.db.dispose()


async def test_a_receipt_that_arrives_before_its_send_is_recorded_is_not_lost(database_url: str) -> None:
    twilio = FakeTwilio(eager=True)
    async with serving(twilio) as base_url:
        o, http = await make_outreach(
            database_url, providers={"sms": "twilio"}, twilio_base_url=base_url,
            twilio_account_sid="AC123", twilio_auth_token="tok-secret", twilio_sms_from="+15005550006",
            public_url="http://outreach.test")
        twilio.target = http._transport
        try:
            await o.deliver(await o.placed("E-1", debtor="1"), segmented("E-1", ("sms",)))
            assert await o.tick() == 1
            rows = await o.sql("SELECT status FROM outreach.attempts WHERE account_ref = 'E-1' AND sequence = 1")
            # The callbacks name their attempt: the first confirmed the send before its answer came back.
            assert [r[0] for r in rows] == ["delivered"]
            assert await o.sql("SELECT count(*) FROM outreach.early_receipts") == [(0,)]
            kinds = [r[0] for r in await o.sql("SELECT kind FROM outreach.trail WHERE attempt_id IS NOT NULL "
                                                 "AND kind IN ('sent', 'delivered') ORDER BY id")]
            assert kinds == ["sent", "delivered"] and len(twilio.messages) == 1
            types = [r[0] for r in await o.sql("SELECT envelope->>'type' FROM outreach.outbox "
                                               "WHERE envelope->>'type' NOT IN ('contact.consents_recorded', 'client.ready') ORDER BY id")]
            assert types == ["contact.attempted", "contact.delivered"]
            assert await o.sql("SELECT envelope->'payload'->'simulated' FROM outreach.outbox "
                               "WHERE envelope->>'type' = 'contact.attempted'") == [(False,)]  # a real message
        finally:
            await http.aclose()
            await o.platform.db.dispose()


async def test_an_early_receipt_no_send_claims_is_kept_for_its_retention_then_discarded(outreach: Outreach) -> None:
    from outreach.providers import Receipt
    from outreach.receipts.handlers import apply_receipts, expire_early_receipts

    received = outreach.clock.now
    counts = await apply_receipts(outreach.platform.db, "twilio", [Receipt("SM-never-sent", "delivered", None)],
                                  now=received)
    assert counts.unknown == 1
    retention = dt.timedelta(hours=outreach.settings.early_receipt_retention_h)
    assert await expire_early_receipts(outreach.platform.db, outreach.settings, now=received + retention) == 0
    assert await outreach.sql("SELECT provider_message_id FROM outreach.early_receipts") == [("SM-never-sent",)]
    later = received + retention + dt.timedelta(minutes=1)
    assert await expire_early_receipts(outreach.platform.db, outreach.settings, now=later) == 1
    assert await outreach.sql("SELECT count(*) FROM outreach.early_receipts") == [(0,)]


async def test_sms_and_whatsapp_through_a_twilio_style_api_with_status_callbacks(database_url: str) -> None:
    twilio = FakeTwilio()
    server = serving(twilio)
    base_url = await server.__aenter__()
    o, http = await make_outreach(
        database_url, providers={"sms": "twilio", "whatsapp": "twilio"}, twilio_base_url=base_url,
        twilio_account_sid="AC123", twilio_auth_token="tok-secret", twilio_sms_from="+15005550006",
        twilio_whatsapp_from="+14155238886", public_url="http://outreach.test")
    twilio.target = http._transport  # the callbacks reach outreach's app in process
    try:
        await o.deliver(await o.placed("W-1", debtor="1"), segmented("W-1", ("sms",)),
                        await o.placed("W-2", debtor="2", channels=("whatsapp",)), segmented("W-2", ("whatsapp",)))
        assert await o.tick() == 2
        assert sorted((m["To"], m["From"]) for m in twilio.sent) == [
            ("+573001234567", "+15005550006"), ("whatsapp:+573001234567", "whatsapp:+14155238886")]
        ids = {str(r[0]) for r in await o.sql("SELECT id FROM outreach.attempts WHERE status = 'sending' "
                                                  "OR sent_at IS NOT NULL")}
        # The callback URL names the attempt (Twilio signs the whole URL, query included).
        assert {m["StatusCallback"] for m in twilio.sent} == {
            f"http://outreach.test/v1/webhooks/outreach/twilio?attempt={i}" for i in ids}

        async def delivered() -> bool:
            rows = await o.sql("SELECT status FROM outreach.attempts WHERE sequence = 1")
            return [r[0] for r in rows] == ["delivered", "delivered"]

        await eventually(delivered, timeout_s=30)
        forged = await http.post("/v1/webhooks/outreach/twilio", data={"MessageSid": "x", "MessageStatus": "failed"},
                                 headers={"X-Twilio-Signature": "bm9wZQ=="})
        assert forged.status_code == 403  # as Twilio's own webhook validators answer
        reply = {"MessageSid": "SMin1", "From": "whatsapp:+573001234567", "Body": "baja"}
        url = "http://outreach.test/v1/webhooks/outreach/twilio"
        answer = await http.post("/v1/webhooks/outreach/twilio", data=reply,
                                 headers={"X-Twilio-Signature": twilio_signature("tok-secret", url, reply)})
        assert answer.json()["applied"] == 1
        # Both debtors have the number (the fixture's): the STOP opts both out of WhatsApp, and nothing else.
        assert await o.sql("SELECT channel FROM outreach.opt_outs") == [("whatsapp",), ("whatsapp",)]
    finally:
        await http.aclose()
        await server.__aexit__(None, None, None)
        await o.platform.db.dispose()


async def test_the_sandbox_is_verified_and_read_by_its_own_adapter_like_any_provider(outreach: Outreach) -> None:
    """The webhook asks the provider to verify and read its notification: the sandbox's signature is checked over
    the raw body before anything is read, and a signed body that is not a sandbox receipt is refused with why."""
    url = "/v1/webhooks/outreach/sandbox"
    bad = json.dumps({"message_id": "m-1", "status": "opened"}).encode()
    unsigned = await outreach.http.post(url, content=bad)
    assert (unsigned.status_code, unsigned.json()["code"]) == (401, "bad_signature")
    signed = {"Recaudo-Signature": sign(bad, outreach.settings.sandbox_gateway_secret, outreach.clock.now)}
    refused = await outreach.http.post(url, content=bad, headers=signed)
    assert refused.status_code == 422, refused.text
    assert (refused.json()["code"], refused.json()["title"]) == ("invalid_receipt", "Invalid receipt")
    assert "status" in refused.json()["detail"]
    good = json.dumps({"message_id": "m-1", "status": "delivered"}).encode()
    answer = await outreach.http.post(url, content=good, headers={
        "Recaudo-Signature": sign(good, outreach.settings.sandbox_gateway_secret, outreach.clock.now)})
    assert answer.json() == {"applied": 0, "duplicate": 0, "unknown": 1}  # no send of ours has that id: kept
