"""Voice through Twilio Programmable Voice, against a local fake of its Calls API: the call created in the
documented form (Calls.json with To, From, Twiml, StatusCallback, StatusCallbackEvent), the Spanish TwiML with its
one-key menu, the debtor's key (Gather's Digits) — 1 texts the payment link, 2 reaches the agent desk — and the
call's status callbacks (CallStatus) applied as outcomes; every callback signature-verified."""

import base64
import datetime as dt
import uuid
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from outreach.providers import twilio_signature
from recaudo_common.events import PaymentApplied

from .conftest import make_outreach, segmented
from .fake_twilio import FakeTwilio, serving
from .test_twilio_messaging import PUBLIC, SENDER, SID, TOKEN, WEBHOOK, Setup, signed_post
from .test_twilio_messaging import started as twilio_started

pytestmark = pytest.mark.integration
CALLER_ID = "+15005550007"
GATHER = f"{PUBLIC}/v1/webhooks/outreach/twilio/voice/gather"


async def started(database_url: str, **settings: Any) -> AsyncIterator[Setup]:
    async for setup in twilio_started(database_url, {"sms": "twilio", "voice": "twilio", "email": "sandbox"},
                                      twilio_voice_from=CALLER_ID, **settings):
        yield setup


@pytest.fixture
async def voice(database_url: str) -> AsyncIterator[Setup]:
    async for setup in started(database_url):
        yield setup


async def called(v: Setup, ref: str, debtor: str, phone: str) -> tuple[Any, str]:
    """A voice attempt of `ref` placed and sent: its id and the CallSid Twilio gave it."""
    await v.o.deliver(await v.o.placed(ref, debtor=debtor, phones=(phone,), channels=("voice", "sms")),
                      segmented(ref, ("voice",)))
    assert await v.o.tick() == 1
    [(attempt_id, sid, provider)] = await v.o.sql(
        "SELECT id, provider_message_id, provider FROM outreach.attempts WHERE account_ref = :r AND "
        "sent_at IS NOT NULL", r=ref)
    assert provider == "twilio"
    return attempt_id, sid


def gather_params(call_sid: str, phone: str, digits: str) -> dict[str, str]:
    # https://www.twilio.com/docs/voice/twiml/gather#action: the call's parameters and the keys pressed.
    return {"AccountSid": SID, "CallSid": call_sid, "From": CALLER_ID, "To": phone, "CallStatus": "in-progress",
            "Direction": "outbound-api", "ApiVersion": "2010-04-01", "Digits": digits, "FinishedOnKey": ""}


async def test_a_call_is_created_with_the_documented_request_and_spanish_twiml(voice: Setup) -> None:
    attempt_id, call_sid = await called(voice, "V-1", "1", "+573001234567")
    [request] = voice.twilio.requests
    assert (request.method, request.path) == ("POST", f"/2010-04-01/Accounts/{SID}/Calls.json")
    assert request.authorization == "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert [name for name, _ in request.form] == ["To", "From", "Twiml", "StatusCallback", "StatusCallbackEvent",
                                                  "StatusCallbackEvent", "StatusCallbackMethod"]
    fields = dict(request.form)
    assert (fields["To"], fields["From"], fields["StatusCallbackMethod"]) == ("+573001234567", CALLER_ID, "POST")
    assert fields["StatusCallback"] == f"{WEBHOOK}?attempt={attempt_id}"
    assert [v for k, v in request.form if k == "StatusCallbackEvent"] == ["answered", "completed"]
    gather = ET.fromstring(fields["Twiml"]).find("Gather")  # noqa: S314
    assert gather is not None and gather.attrib["numDigits"] == "1" and gather.attrib["method"] == "POST"
    assert parse_qs(urlsplit(gather.attrib["action"]).query) == {"attempt": [str(attempt_id)]}
    say = gather.find("Say")
    assert say is not None and say.attrib["language"] == "es-MX" and say.text is not None
    assert say.text.startswith("Buen día, María.") and say.text.endswith(
        "Marque 1 para pagar, 2 para hablar con un asesor.")
    assert call_sid == voice.twilio.calls[0]["sid"]


async def test_pressing_1_texts_the_payment_link_and_the_call_is_answered(voice: Setup) -> None:
    o = voice.o
    attempt_id, call_sid = await called(voice, "V-2", "2", "+573002222222")
    url = f"{GATHER}?attempt={attempt_id}"
    params = gather_params(call_sid, "+573002222222", "1")
    unsigned = await voice.http.post(url.removeprefix(PUBLIC), data=params)
    wrong = await voice.http.post(url.removeprefix(PUBLIC), data=params, headers={
        "X-Twilio-Signature": twilio_signature(TOKEN, url, {**params, "Digits": "2"})})
    assert [(r.status_code, r.json()["code"]) for r in (unsigned, wrong)] == [(403, "bad_signature")] * 2
    assert await o.sql("SELECT count(*) FROM outreach.replies") == [(0,)]

    answer = await signed_post(voice.http, params, url=url)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/xml")
    [say] = ET.fromstring(answer.text)  # noqa: S314
    assert say.tag == "Say" and say.attrib["language"] == "es-MX" and "enlace para pagar" in (say.text or "")
    [text] = [r for r in voice.twilio.requests if r.path.endswith("/Messages.json")]
    fields = dict(text.form)
    assert (fields["To"], fields["From"]) == ("+573002222222", SENDER)
    assert f"{PUBLIC}/pay/" in fields["Body"] and "V-2" in fields["Body"]
    [(status,)] = await o.sql("SELECT status FROM outreach.attempts WHERE id = :a", a=attempt_id)
    assert status == "replied"  # the debtor answered: the call reached them

    again = await signed_post(voice.http, params, url=url)  # Twilio asking again: no second text
    assert again.status_code == 200
    assert len([r for r in voice.twilio.requests if r.path.endswith("/Messages.json")]) == 1
    completed = await signed_post(voice.http, {"CallSid": call_sid, "CallStatus": "completed", "CallDuration": "31"},
                                  url=f"{WEBHOOK}?attempt={attempt_id}")
    assert completed.json() == {"applied": 0, "duplicate": 1, "unknown": 0}
    trail = await o.sql("SELECT kind, channel, detail::text FROM outreach.trail WHERE account_ref = 'V-2' "
                        "AND kind IN ('reply', 'payment_link_sent') ORDER BY id")
    assert [(k, c) for k, c, _ in trail] == [("reply", "voice"), ("payment_link_sent", "sms")]
    assert '"choice": "pay"' in trail[0][2] and not any("2222222" in d for _, _, d in trail)


async def test_pressing_2_puts_the_account_on_the_agent_desk(voice: Setup) -> None:
    o = voice.o
    attempt_id, call_sid = await called(voice, "V-3", "3", "+573003333333")
    answer = await signed_post(voice.http, gather_params(call_sid, "+573003333333", "2"),
                               url=f"{GATHER}?attempt={attempt_id}")
    assert "Un asesor le llamará pronto" in answer.text
    [(channel, status, why)] = await o.sql(
        "SELECT channel, status, why FROM outreach.attempts WHERE account_ref = 'V-3' AND channel = 'agent'")
    assert (channel, status) == ("agent", "scheduled") and "agent" in why
    assert not [r for r in voice.twilio.requests if r.path.endswith("/Messages.json")]
    unknown = await signed_post(voice.http, gather_params(call_sid, "+573003333333", "7"),
                                url=f"{GATHER}?attempt={attempt_id}")
    assert "Opción no válida" in unknown.text  # an unknown key: the menu again, nothing applied
    # Segmentation decides the same treatment again (a strategy change): the plan is kept with the agent's
    # callback, which is not one of its cadence's touches (three of four to come, topped up by one after them).
    await o.deliver(segmented("V-3", ("voice",)))
    rows = [tuple(r) for r in await o.sql(
        "SELECT channel, status, sequence FROM outreach.attempts WHERE account_ref = 'V-3' ORDER BY sequence")]
    assert [r for r in rows if r[0] == "agent"] == [("agent", "scheduled", 1001)]
    assert [r for r in rows if r[0] == "voice"] == [
        ("voice", "replied", 1), ("voice", "scheduled", 2), ("voice", "scheduled", 3), ("voice", "scheduled", 4),
        ("voice", "scheduled", 5)], rows
    # A payment leaves the debtor in peace for a cadence, but the callback they asked for is not collection: it
    # keeps its time.
    [(callback_at,)] = await o.sql("SELECT scheduled_at FROM outreach.attempts WHERE account_ref = 'V-3' "
                                   "AND channel = 'agent'")
    await o.deliver(PaymentApplied(payment_id=uuid.uuid4(), account_ref="V-3", amount=Decimal(1000), currency="COP",
                                   paid_at=o.clock.now, source="gateway", new_balance=Decimal(100000),
                                   account_status="open"))
    assert await o.sql("SELECT scheduled_at FROM outreach.attempts WHERE account_ref = 'V-3' "
                       "AND channel = 'agent'") == [(callback_at,)]
    # Another treatment replaces the plan's touches to come, not the callback the debtor asked for.
    await o.deliver(segmented("V-3", ("sms",)))
    rows = [tuple(r) for r in await o.sql(
        "SELECT channel, status FROM outreach.attempts WHERE account_ref = 'V-3' AND status = 'scheduled'")]
    assert sorted(rows) == [("agent", "scheduled")] + [("sms", "scheduled")] * 4, rows
    # An account no longer to be worked at all (do_not_pursue, no channels) loses the callback too.
    await o.deliver(segmented("V-3", ()).model_copy(update={"treatment": "do_not_pursue"}))
    assert await o.sql("SELECT count(*) FROM outreach.attempts WHERE account_ref = 'V-3' "
                       "AND status = 'scheduled'") == [(0,)]


async def test_pressing_2_with_an_agents_line_puts_the_call_through(database_url: str) -> None:
    async for v in started(database_url, twilio_agent_number="+5716011234"):
        attempt_id, call_sid = await called(v, "V-6", "6", "+573006666666")
        answer = await signed_post(v.http, gather_params(call_sid, "+573006666666", "2"),
                                   url=f"{GATHER}?attempt={attempt_id}")
        say, dial = list(ET.fromstring(answer.text))  # noqa: S314
        assert (say.tag, dial.tag, dial.text) == ("Say", "Dial", "+5716011234")
        assert await v.o.sql("SELECT count(*) FROM outreach.attempts WHERE channel = 'agent'") == [(0,)]


@pytest.mark.parametrize("call_status", ["busy", "no-answer", "failed", "canceled"])
async def test_a_call_nobody_answered_is_a_failed_contact(voice: Setup, call_status: str) -> None:
    o = voice.o
    attempt_id, call_sid = await called(voice, "V-4", "4", "+573004444444")
    forged = await voice.http.post("/v1/webhooks/outreach/twilio", data={"CallSid": call_sid,
                                                                         "CallStatus": call_status})
    assert forged.status_code == 403
    answer = await signed_post(voice.http, {"CallSid": call_sid, "CallStatus": call_status, "AccountSid": SID},
                               url=f"{WEBHOOK}?attempt={attempt_id}")
    assert answer.json() == {"applied": 1, "duplicate": 0, "unknown": 0}
    [(status, failure)] = await o.sql("SELECT status, failure FROM outreach.attempts WHERE id = :a", a=attempt_id)
    assert (status, failure) == ("failed", call_status)
    events = await o.sql("SELECT envelope->>'type' FROM outreach.outbox WHERE envelope->'payload'->>'attempt_id' = :a"
                         " ORDER BY id", a=str(attempt_id))
    assert [e for (e,) in events] == ["contact.attempted", "contact.failed"]


async def test_an_answered_call_is_a_delivered_contact(voice: Setup) -> None:
    o = voice.o
    attempt_id, call_sid = await called(voice, "V-5", "5", "+573005555555")
    url = f"{WEBHOOK}?attempt={attempt_id}"
    for call_status, expected in (("ringing", "sent"), ("in-progress", "sent"), ("completed", "delivered")):
        await signed_post(voice.http, {"CallSid": call_sid, "CallStatus": call_status}, url=url)
        [(status,)] = await o.sql("SELECT status FROM outreach.attempts WHERE id = :a", a=attempt_id)
        assert status == expected, call_status


async def test_a_call_whose_answer_was_lost_is_looked_up_and_never_placed_twice(database_url: str) -> None:
    twilio = FakeTwilio(sid=SID, token=TOKEN, callbacks=False, fail_after_create=500)  # the call exists anyway
    async with serving(twilio) as base_url:
        o, http = await make_outreach(
            database_url, providers={"sms": "twilio", "voice": "twilio", "email": "sandbox"},
            twilio_base_url=base_url, twilio_account_sid=SID, twilio_auth_token=TOKEN, twilio_sms_from=SENDER,
            twilio_voice_from=CALLER_ID, public_url=PUBLIC, provider_timeout_s=2, sending_timeout_s=10)
        try:
            await o.deliver(await o.placed("V-7", debtor="7", phones=("+573007777777",),
                                           channels=("voice",)), segmented("V-7", ("voice",)))
            await o.tick()
            [(status,)] = await o.sql("SELECT status FROM outreach.attempts WHERE account_ref = 'V-7' "
                                      "AND status <> 'scheduled'")
            assert status == "sending"  # in doubt: only a look-up can tell
            o.clock.now += dt.timedelta(seconds=11)
            assert await o.reconcile() == 1
            [(status, sid)] = await o.sql("SELECT status, provider_message_id FROM outreach.attempts "
                                          "WHERE account_ref = 'V-7' AND status <> 'scheduled'")
            assert (status, sid) == ("sent", twilio.calls[0]["sid"])
            await o.tick()
            assert len(twilio.calls) == 1
            assert [r.method for r in twilio.requests if r.path.endswith("/Calls.json")] == ["POST", "GET"]
        finally:
            await http.aclose()
            await o.platform.db.dispose()
