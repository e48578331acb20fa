"""Opt-out everywhere (#20) through outreach's real HTTP app and PostgreSQL: the debtor page's "Preferencias de
contacto" opts one channel out (consent evidence of source debtor_page, what was to be sent cancelled, the others
untouched); an agent's wrong_number takes the phone it used off for good, through later restatements, until the
person is erased; so does a number Twilio says is not a valid phone number."""

import datetime as dt
import re
import uuid
from typing import Any

import pytest

from recaudo_common.events import AccountRecalled, DebtorErasureRequested

from .conftest import Outreach, make_outreach, segmented
from .fake_twilio import FakeTwilio, serving

pytestmark = pytest.mark.integration
HTML = {"Accept": "text/html"}
FIRST, SECOND = "+573001234567", "+573109876543"


async def verified_page(o: Outreach, ref: str) -> tuple[str, str]:
    answer = await o.http.post(f"/v1/clients/banco/accounts/{ref}/payment-link", headers=o.auth)
    path = str(answer.json()["url"]).removeprefix(o.settings.public_url)
    page = await o.http.post(path, data={"digits": "304050"}, headers=HTML)
    assert page.status_code == 200, page.text
    return path, page.text


async def compliance(o: Outreach, ref: str, channel: str) -> dict[str, Any]:
    answer = await o.http.post("/v1/compliance/check", headers=o.auth, json={
        "client": "banco", "account_ref": ref, "channel": channel, "at": o.clock.now.isoformat()})
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def test_the_debtor_page_opts_one_channel_out_with_its_evidence(outreach: Outreach) -> None:
    o = outreach
    await o.deliver(await o.placed("O-1", channels=("sms", "email")), segmented("O-1", ("sms", "email")))
    assert ("email", "scheduled") in await o.attempts("O-1")
    path, page = await verified_page(o, "O-1")
    assert "Preferencias de contacto" in page
    assert "No deseo recibir mensajes por SMS" in page and "No deseo recibir mensajes por correo electrónico" in page
    assert "WhatsApp" not in page  # not a channel this account is reached on
    proof = re.search(r'name="proof" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]

    unverified = await o.http.post(f"{path}/opt-out", data={"channel": "email"}, headers=HTML)
    assert unverified.status_code == 401
    forged = await o.http.post(f"{path[:-3]}xyz/opt-out", data={"proof": proof, "channel": "email"})
    assert forged.status_code == 401 and forged.json()["code"] == "invalid_link"
    too_long = await o.http.post(f"{path}/opt-out", data={"proof": proof, "channel": "e" * 21})
    assert too_long.status_code == 422
    not_used = await o.http.post(f"{path}/opt-out", data={"proof": proof, "channel": "whatsapp"}, headers=HTML)
    assert not_used.status_code == 422 and "no le escribimos por ese medio" in not_used.text
    assert (await compliance(o, "O-1", "email"))["allowed"] is True

    done = await o.http.post(f"{path}/opt-out", data={"proof": proof, "channel": "email"}, headers=HTML)
    assert done.status_code == 200 and "No le enviaremos más mensajes por correo electrónico" in done.text
    assert "Ya no le enviamos mensajes por correo electrónico" in done.text
    assert "No deseo recibir mensajes por SMS" in done.text
    email = await compliance(o, "O-1", "email")
    assert email["allowed"] is False and "opted_out" in email["reasons"]
    assert (await compliance(o, "O-1", "sms"))["allowed"] is True
    assert ("email", "scheduled") not in await o.attempts("O-1") and ("email", "cancelled") in await o.attempts("O-1")
    assert ("sms", "scheduled") in await o.attempts("O-1")
    consents = (await o.http.get("/v1/clients/banco/accounts/O-1/consents", headers=o.auth)).json()
    assert {c["channel"]: (c["state"], c["source"]) for c in consents["channels"]}["email"] == (
        "withdrawn", "debtor_page")

    again = await o.http.post(f"{path}/opt-out", data={"proof": proof, "channel": "email"}, headers=HTML)
    assert again.status_code == 200 and "No le enviaremos más mensajes" in again.text
    rows = await o.sql("SELECT source FROM outreach.consent_evidence WHERE account_ref = 'O-1' AND "
                       "what = 'withdrawn'")
    assert rows == [("debtor_page",)]  # once
    assert len(await o.sql("SELECT 1 FROM outreach.outbox WHERE envelope->>'type' = 'contact.opted_out'")) == 1

    too_big = await o.http.post(f"{path}/opt-out", content=b"proof=" + b"x" * 17_000, headers={
        **HTML, "content-type": "application/x-www-form-urlencoded"})
    assert too_big.status_code == 413


async def log(o: Outreach, ref: str, outcome: str, channel: str = "voice") -> None:
    answer = await o.http.post(f"/v1/clients/banco/accounts/{ref}/contacts", headers=o.auth, json={
        "channel": channel, "at": o.clock.now.isoformat(), "outcome": outcome})
    assert answer.status_code == 201, answer.text


async def test_a_wrong_number_is_never_used_again_until_the_person_is_erased(outreach: Outreach) -> None:
    o = outreach
    placed = await o.placed("W-1", channels=("sms",), phones=(FIRST, SECOND))
    await o.deliver(placed)
    await log(o, "W-1", "no_answer")
    assert await o.sql("SELECT phones FROM outreach.accounts WHERE account_ref = 'W-1'") == [([FIRST, SECOND],)]
    await log(o, "W-1", "wrong_number")  # an agent's call: the account's first phone, the one a call dials
    assert await o.sql("SELECT phones FROM outreach.accounts WHERE account_ref = 'W-1'") == [([SECOND],)]
    assert await o.sql("SELECT channel, point FROM outreach.invalid_contact_points") == [("voice", FIRST)]
    trail = (await o.http.get("/v1/clients/banco/accounts/W-1/contacts", headers=o.auth)).json()["trail"]
    invalid = [t for t in trail if t["kind"] == "contact_point_invalid"]
    assert len(invalid) == 1 and FIRST not in str(trail) and FIRST.lstrip("+") not in str(trail)

    await o.deliver(await o.placed("W-1", channels=("sms",), phones=(FIRST, SECOND)))  # a restatement brings it
    assert await o.sql("SELECT phones FROM outreach.accounts WHERE account_ref = 'W-1'") == [([SECOND],)]
    await o.deliver(segmented("W-1", ("sms",)))
    o.clock.now += dt.timedelta(days=7)  # the agent's calls were this week's contacts: the law deferred the plan
    assert await o.tick() >= 1
    assert set(await o.sql("SELECT m.recipient FROM outreach.sandbox_messages m JOIN outreach.attempts a "
                           "ON a.id = m.attempt_id WHERE a.account_ref = 'W-1'")) == {(SECOND,)}
    # Its only phone wrong: no phone channel is planned for it any more.
    await o.deliver(await o.placed("W-2", channels=("sms",), phones=(FIRST,), debtor="5060708090"))
    assert await o.sql("SELECT phones FROM outreach.accounts WHERE account_ref = 'W-2'") == [([],)]
    await o.deliver(segmented("W-2", ("sms",)))
    assert ("sms", "scheduled") not in await o.attempts("W-2")

    await o.deliver(AccountRecalled(account_ref="W-1", recalled_at=o.clock.now))
    assert placed.debtor_ref is not None
    await o.deliver(DebtorErasureRequested(erasure_id=uuid.uuid4(), debtor_ref=placed.debtor_ref,
                                           account_refs=["W-1"], reason="request", requested_at=o.clock.now))
    assert await o.sql("SELECT 1 FROM outreach.invalid_contact_points") == []


async def test_a_number_twilio_calls_invalid_is_never_used_again(database_url: str) -> None:
    """Twilio refuses a message whose To is not a valid phone number (error 21211): that number is the
    provider's word that it cannot be written to, so it is taken off like an agent's wrong number."""
    twilio = FakeTwilio(refusal={"code": 21211, "message": "The 'To' number is not a valid phone number.",
                                 "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400})
    async with serving(twilio) as base_url:
        o, http = await make_outreach(
            database_url, providers={"sms": "twilio"}, twilio_base_url=base_url, twilio_account_sid="AC123",
            twilio_auth_token="tok-secret", twilio_sms_from="+15005550006", public_url="http://outreach.test")
        twilio.target = http._transport
        try:
            await o.deliver(await o.placed("T-1", channels=("sms",), phones=(FIRST, SECOND)),
                            segmented("T-1", ("sms",)))
            await o.tick()
            assert await o.sql("SELECT status FROM outreach.attempts WHERE sequence = 1") == [("failed",)]
            assert await o.sql("SELECT phones FROM outreach.accounts WHERE account_ref = 'T-1'") == [([SECOND],)]
            assert await o.sql("SELECT channel, point FROM outreach.invalid_contact_points") == [("sms", FIRST)]
            assert await o.sql("SELECT detail->>'reason' FROM outreach.trail WHERE kind = 'contact_point_invalid'"
                               ) == [("number refused by the provider",)]
            # Another refusal (not 21211) is only a failed attempt: the number stays.
            twilio.refusal = {"code": 30007, "message": "Message filtered", "status": 400}
            o.clock.now += dt.timedelta(days=3)
            await o.tick()
            tried = [dict(r.form)["To"] for r in twilio.requests if r.method == "POST"]
            assert tried == [FIRST, SECOND]  # the next message went to the other phone
            assert await o.sql("SELECT phones FROM outreach.accounts WHERE account_ref = 'T-1'") == [([SECOND],)]
        finally:
            await http.aclose()
            await o.platform.db.dispose()
