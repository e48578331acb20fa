"""SMS through Twilio's real REST API, against a local fake of it that records every request: the create call in
its documented form (path, basic auth, form fields), status callbacks in theirs (MessageSid, MessageStatus,
ErrorCode) applied forward-only, inbound messages (From, To, Body, MessageSid) whose STOP or BAJA opts the
number's debtor out of SMS at once even when nothing was ever sent to it, and a missing or wrong
X-Twilio-Signature refused 403 with nothing recorded."""

import base64
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from outreach.providers import twilio_signature

from .conftest import Outreach, make_outreach, segmented
from .fake_twilio import FakeTwilio, serving

pytestmark = pytest.mark.integration
PUBLIC = "http://outreach.test"
WEBHOOK = f"{PUBLIC}/v1/webhooks/outreach/twilio"
SID, TOKEN, SENDER = "AC123", "tok-secret", "+15005550006"


@dataclass
class Setup:
    o: Outreach
    http: Any
    twilio: FakeTwilio


async def started(database_url: str, providers: dict[str, str] | None = None,
                  **settings: Any) -> AsyncIterator[Setup]:
    """Outreach sending through a local fake of Twilio: SMS (and what `providers` adds) by Twilio, e-mail by the
    sandbox."""
    twilio = FakeTwilio(sid=SID, token=TOKEN, callbacks=False)
    async with serving(twilio) as base_url:
        o, http = await make_outreach(database_url, providers=providers or {"sms": "twilio", "email": "sandbox"},
                                      twilio_base_url=base_url, twilio_account_sid=SID, twilio_auth_token=TOKEN,
                                      twilio_sms_from=SENDER, public_url=PUBLIC, **settings)
        try:
            yield Setup(o, http, twilio)
        finally:
            await http.aclose()
            await o.platform.db.dispose()


@pytest.fixture
async def sms(database_url: str) -> AsyncIterator[Setup]:
    async for setup in started(database_url):
        yield setup


async def signed_post(http: Any, params: dict[str, str], *, url: str = WEBHOOK, token: str = TOKEN) -> Any:
    path = url.removeprefix(PUBLIC)
    return await http.post(path, data=params, headers={"X-Twilio-Signature": twilio_signature(token, url, params)})


async def test_a_message_is_created_with_twilios_documented_request(sms: Setup) -> None:
    o = sms.o
    await o.deliver(await o.placed("T-1", debtor="1"), segmented("T-1", ("sms",)))
    assert await o.tick() == 1
    [request] = sms.twilio.requests
    assert (request.method, request.path) == ("POST", f"/2010-04-01/Accounts/{SID}/Messages.json")
    assert request.authorization == "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert request.content_type == "application/x-www-form-urlencoded"
    fields = dict(request.form)
    assert [name for name, _ in request.form] == ["To", "From", "Body", "StatusCallback"]
    [(attempt_id, message_id)] = await o.sql("SELECT id, provider_message_id FROM outreach.attempts "
                                             "WHERE sent_at IS NOT NULL")
    assert (fields["To"], fields["From"]) == ("+573001234567", SENDER)
    assert fields["StatusCallback"] == f"{WEBHOOK}?attempt={attempt_id}"
    assert "T-1" in fields["Body"] and "/pay/" in fields["Body"]
    assert message_id == sms.twilio.messages[0].sid  # the sid of Twilio's 201 answer


async def test_a_messaging_service_sends_in_place_of_a_from_number(database_url: str) -> None:
    async for setup in started(database_url, twilio_messaging_service_sid="MG0123456789"):
        await setup.o.deliver(await setup.o.placed("T-2", debtor="2"), segmented("T-2", ("sms",)))
        assert await setup.o.tick() == 1
        [request] = setup.twilio.requests
        assert [name for name, _ in request.form] == ["To", "MessagingServiceSid", "Body", "StatusCallback"]
        assert dict(request.form)["MessagingServiceSid"] == "MG0123456789"


async def test_status_callbacks_settle_the_attempt_forward_only(sms: Setup) -> None:
    o = sms.o
    await o.deliver(await o.placed("T-3", debtor="3"), segmented("T-3", ("sms",)))
    await o.tick()
    [(attempt_id, sid)] = await o.sql("SELECT id, provider_message_id FROM outreach.attempts WHERE sent_at IS NOT NULL")
    url = f"{WEBHOOK}?attempt={attempt_id}"

    async def status() -> str:
        [(now,)] = await o.sql("SELECT status FROM outreach.attempts WHERE id = :a", a=attempt_id)
        return str(now)

    for reported, expected in (("queued", "sent"), ("sending", "sent"), ("sent", "sent"),
                               ("delivered", "delivered"), ("sent", "delivered"), ("undelivered", "delivered")):
        params = {"MessageSid": sid, "MessageStatus": reported, "AccountSid": SID, "From": SENDER,
                  "To": "+573001234567", "ApiVersion": "2010-04-01"}
        if reported == "undelivered":
            params["ErrorCode"] = "30003"
        answer = await signed_post(sms.http, params, url=url)
        assert answer.status_code == 200, answer.text
        assert await status() == expected, reported  # a late "sent" or "undelivered" never undoes "delivered"
    delivered = await o.sql("SELECT count(*) FROM outreach.outbox WHERE envelope->>'type' = 'contact.delivered'")
    assert delivered == [(1,)]


async def test_a_failed_message_keeps_twilios_error_code(sms: Setup) -> None:
    o = sms.o
    await o.deliver(await o.placed("T-4", debtor="4"), segmented("T-4", ("sms",)))
    await o.tick()
    [(attempt_id, sid)] = await o.sql("SELECT id, provider_message_id FROM outreach.attempts WHERE sent_at IS NOT NULL")
    answer = await signed_post(sms.http, {"MessageSid": sid, "MessageStatus": "failed", "ErrorCode": "30008"},
                               url=f"{WEBHOOK}?attempt={attempt_id}")
    assert answer.json() == {"applied": 1, "duplicate": 0, "unknown": 0}
    [(status, failure)] = await o.sql("SELECT status, failure FROM outreach.attempts WHERE id = :a", a=attempt_id)
    assert (status, failure) == ("failed", "failed 30008")


async def may_text(o: Outreach, ref: str) -> dict[str, Any]:
    answer = await o.http.post("/v1/compliance/check", headers=o.auth, json={
        "client": "banco", "account_ref": ref, "channel": "sms", "at": o.clock.now.isoformat()})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


STOPS = ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "stop", "Baja", "BAJA", "no más", "NO MAS!"]


async def test_stop_and_its_variants_opt_a_number_never_written_to_out_of_sms_at_once(sms: Setup) -> None:
    o = sms.o
    numbers = {word: f"+57300100{i:04d}" for i, word in enumerate(STOPS)}
    for i, number in enumerate(numbers.values()):
        await o.deliver(await o.placed(f"S-{i}", debtor=f"90{i}", phones=(number,)))
    await o.deliver(await o.placed("S-keep", debtor="999", phones=("+573009999999",)))
    assert await o.sql("SELECT count(*) FROM outreach.attempts WHERE sent_at IS NOT NULL") == [(0,)]
    for i, (word, number) in enumerate(numbers.items()):
        assert (await may_text(o, f"S-{i}"))["allowed"] is True
        inbound = {"MessageSid": f"SMin{i}", "SmsSid": f"SMin{i}", "AccountSid": SID, "From": number, "To": SENDER,
                   "Body": word, "NumMedia": "0", "SmsStatus": "received", "ApiVersion": "2010-04-01"}
        answer = await signed_post(sms.http, inbound)
        assert answer.json() == {"applied": 1, "duplicate": 0, "unknown": 0}, word
        check = await may_text(o, f"S-{i}")
        assert check["allowed"] is False and "opted_out" in check["reasons"], word
    hello = {"MessageSid": "SMhola", "From": "+573009999999", "To": SENDER, "Body": "Hola, ¿cuánto debo?"}
    assert (await signed_post(sms.http, hello)).json()["unknown"] == 1  # answers nothing of ours: kept, no effect
    assert (await may_text(o, "S-keep"))["allowed"] is True
    sources = await o.sql("SELECT DISTINCT channel, source FROM outreach.opt_outs")
    assert sources == [("sms", "reply")]
    # The trail names the opt-out, never the number or the words.
    trail = " ".join(str(r) for r in await o.sql("SELECT detail::text FROM outreach.trail"))
    assert "300100" not in trail and "STOP" not in trail


async def test_a_reply_to_a_message_sent_opts_out_its_debtor(sms: Setup) -> None:
    o = sms.o
    await o.deliver(await o.placed("T-5", debtor="5"), segmented("T-5", ("sms",)))
    await o.tick()
    answer = await signed_post(sms.http, {"MessageSid": "SMr5", "From": "+573001234567", "To": SENDER,
                                          "Body": "QUIT", "SmsStatus": "received"})
    assert answer.json()["applied"] == 1
    [(status,)] = await o.sql("SELECT status FROM outreach.attempts WHERE sent_at IS NOT NULL")
    assert status == "replied"
    assert "opted_out" in (await may_text(o, "T-5"))["reasons"]


async def test_a_missing_or_wrong_signature_is_refused_403_and_nothing_is_recorded(sms: Setup) -> None:
    o = sms.o
    await o.deliver(await o.placed("T-6", debtor="6", phones=("+573006666666",)))
    stop = {"MessageSid": "SMforged", "From": "+573006666666", "To": SENDER, "Body": "STOP"}
    forged = [
        {},  # no signature at all
        {"X-Twilio-Signature": ""},
        {"X-Twilio-Signature": twilio_signature("another-token", WEBHOOK, stop)},
        {"X-Twilio-Signature": twilio_signature(TOKEN, f"{PUBLIC}/elsewhere", stop)},
        {"X-Twilio-Signature": twilio_signature(TOKEN, WEBHOOK, {**stop, "Body": "Hola"})},  # the body changed
    ]
    for headers in forged:
        answer = await sms.http.post("/v1/webhooks/outreach/twilio", data=stop, headers=headers)
        assert (answer.status_code, answer.json()["code"]) == (403, "bad_signature"), headers
    assert await o.sql("SELECT count(*) FROM outreach.replies") == [(0,)]
    assert await o.sql("SELECT count(*) FROM outreach.opt_outs") == [(0,)]
    assert (await may_text(o, "T-6"))["allowed"] is True
    # The same request, signed: it takes effect.
    assert (await signed_post(sms.http, stop)).json()["applied"] == 1
    assert (await may_text(o, "T-6"))["allowed"] is False


async def test_twilios_own_opt_out_refusal_is_a_failure_not_a_retry(sms: Setup) -> None:
    """After a STOP Twilio refuses messages to the number (error 21610): the attempt fails, is never resent."""
    o = sms.o
    sms.twilio.refusal = {"code": 21610, "message": "Attempt to send to unsubscribed recipient",
                          "more_info": "https://www.twilio.com/docs/errors/21610", "status": 400}
    await o.deliver(await o.placed("T-7", debtor="7"), segmented("T-7", ("sms",)))
    await o.tick()
    [(status, failure)] = await o.sql("SELECT status, failure FROM outreach.attempts WHERE account_ref = 'T-7' "
                                      "AND sequence = 1")
    assert status == "failed" and "opted out at Twilio" in failure and "21610" in failure
    o.clock.now += dt.timedelta(hours=1)
    await o.tick()
    assert len([r for r in sms.twilio.requests if r.method == "POST"]) == 1
