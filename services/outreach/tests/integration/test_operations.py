"""Operators, agents and debtors through outreach's real API and PostgreSQL: the compliance check, legal holds,
do-not-contact, opt-out replies, contacts logged by agents, stricter client rules, templates, the agent queue."""

import datetime as dt
import json

import pytest

from outreach.domain.templates import sms_segments
from recaudo_common.webhook_signatures import sign

from .conftest import Outreach, client_event, segmented

pytestmark = pytest.mark.integration


async def check(o: Outreach, ref: str, channel: str, at: dt.datetime, key: str | None = None) -> dict[str, object]:
    answer = await o.http.post("/v1/compliance/check", headers={"Authorization": f"Bearer {key or o.operator}"},
                               json={"client": "banco", "account_ref": ref, "channel": channel, "at": at.isoformat()})
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def test_the_compliance_check_answers_dialers(outreach: Outreach) -> None:
    await outreach.deliver(await outreach.placed("C-1", channels=("sms", "voice")))
    sunday = dt.datetime(2026, 3, 8, 15, 0, tzinfo=dt.UTC)
    answer = await check(outreach, "C-1", "voice", sunday, key=outreach.client_key)
    assert (answer["allowed"], answer["reasons"]) == (False, ["day_not_allowed"])
    assert answer["next_allowed_at"] == "2026-03-09T12:00:00Z"
    assert answer["debtor_local_time"] == "2026-03-08T10:00:00-05:00"
    assert (await check(outreach, "C-1", "email", outreach.clock.now))["reasons"] == ["channel_not_authorised"]
    missing = await outreach.http.post("/v1/compliance/check", headers=outreach.auth, json={
        "client": "banco", "account_ref": "nope", "channel": "sms", "at": sunday.isoformat()})
    assert missing.status_code == 404
    naive = await outreach.http.post("/v1/compliance/check", headers=outreach.auth, json={
        "client": "banco", "account_ref": "C-1", "channel": "sms", "at": "2026-03-08T10:00:00"})
    assert naive.status_code == 422


async def test_legal_holds_stop_everything_until_lifted(outreach: Outreach) -> None:
    await outreach.deliver(await outreach.placed("H-1"), segmented("H-1", ("sms", "email")))
    url = "/v1/clients/banco/accounts/H-1/legal-holds"
    by_client = await outreach.http.post(url, headers={"Authorization": f"Bearer {outreach.client_key}"},
                                         json={"hold": "dispute"})
    assert by_client.status_code == 403  # only the agency's operators set holds
    held = await outreach.http.post(url, headers=outreach.auth, json={"hold": "dispute", "note": "reclamo 55"})
    assert (held.status_code, held.json()["status"]) == (201, "set")
    assert (await outreach.http.post(url, headers=outreach.auth, json={"hold": "dispute"})).json()["status"] == \
        "already_set"
    assert {s for _, s in await outreach.attempts("H-1")} == {"cancelled"}
    assert (await check(outreach, "H-1", "sms", outreach.clock.now))["reasons"] == ["legal_hold"]
    [(event,)] = await outreach.sql("SELECT envelope->>'type' FROM outreach.outbox "
                                    "WHERE envelope->>'type' NOT IN ('contact.consents_recorded', 'client.ready')")
    assert event == "account.legal_hold_set"
    assert (await outreach.http.delete(f"{url}/dispute", headers=outreach.auth)).status_code == 204
    assert (await outreach.http.delete(f"{url}/dispute", headers=outreach.auth)).status_code == 404
    assert (await check(outreach, "H-1", "sms", outreach.clock.now))["allowed"] is True
    history = (await outreach.http.get("/v1/clients/banco/accounts/H-1/contacts", headers=outreach.auth)).json()
    assert [h["hold"] for h in history["legal_holds"]] == ["dispute"] and history["legal_holds"][0]["lifted_at"]


async def test_a_death_or_insolvency_holds_every_account_of_the_person(outreach: Outreach) -> None:
    await outreach.deliver(await outreach.placed("H-2"), await outreach.placed("H-3"),  # one debtor, two accounts
                           await outreach.placed("H-4", debtor="4040404040"),
                           segmented("H-2", ("sms",)), segmented("H-3", ("sms",)), segmented("H-4", ("sms",)))
    disputed = await outreach.http.post("/v1/clients/banco/accounts/H-2/legal-holds", headers=outreach.auth,
                                        json={"hold": "dispute"})
    assert disputed.status_code == 201
    assert (await check(outreach, "H-3", "sms", outreach.clock.now))["allowed"] is True  # a dispute is the account's
    deceased = await outreach.http.post("/v1/clients/banco/accounts/H-2/legal-holds", headers=outreach.auth,
                                        json={"hold": "deceased", "note": "acta de defunción"})
    assert deceased.status_code == 201
    assert (await check(outreach, "H-3", "sms", outreach.clock.now))["reasons"] == ["legal_hold"]
    assert (await check(outreach, "H-4", "sms", outreach.clock.now))["allowed"] is True  # another person
    await outreach.tick()
    assert (await outreach.attempts("H-3"))[0] == ("sms", "cancelled")  # the one due: blocked for good
    assert await outreach.sql("SELECT count(*) FROM outreach.sandbox_messages m JOIN outreach.attempts a "
                              "ON a.id = m.attempt_id WHERE a.account_ref = 'H-3'") == [(0,)]


async def test_a_baja_reply_opts_out_of_that_channel_and_do_not_contact_of_all(outreach: Outreach) -> None:
    await outreach.deliver(await outreach.placed("O-1"), await outreach.placed("O-2"), segmented("O-1", ("sms",)),
                           segmented("O-2", ("sms",)))
    outreach.settings.sandbox_delivery_rate = 1.0
    await outreach.tick()
    raw = json.dumps({"message_id": "in-1", "status": "reply", "detail": "  No Más!! ", "reply_from": "+573001234567",
                      "channel": "sms"}).encode()
    url = "/v1/webhooks/outreach/sandbox"
    forged = await outreach.http.post(url, content=raw, headers={"Recaudo-Signature": sign(raw, "wrong", outreach.clock.now)})
    assert forged.status_code == 401
    signed = {"Recaudo-Signature": sign(raw, outreach.settings.sandbox_gateway_secret, outreach.clock.now)}
    assert (await outreach.http.post(url, content=raw, headers=signed)).json() == {
        "applied": 1, "duplicate": 0, "unknown": 0}
    assert (await outreach.http.post(url, content=raw, headers=signed)).json()["duplicate"] == 1
    next_week = outreach.clock.now + dt.timedelta(days=7)
    for ref in ("O-1", "O-2"):  # the debtor opted out, on every account at this client
        assert (await check(outreach, ref, "sms", next_week))["reasons"] == ["opted_out"]
        assert (await check(outreach, ref, "email", next_week))["allowed"] is True
        assert all(s != "scheduled" for c, s in await outreach.attempts(ref) if c == "sms")
    dnc = await outreach.http.post("/v1/clients/banco/do-not-contact", headers=outreach.auth,
                                   json={"debtor_id": "1020304050", "reason": "solicitud escrita"})
    assert (dnc.status_code, dnc.json()) == (201, {"accounts": 2})
    assert (await check(outreach, "O-1", "email", next_week))["reasons"] == ["do_not_contact"]
    opted = [r[0] for r in await outreach.sql(
        "SELECT envelope->'payload'->>'channel' FROM outreach.outbox WHERE envelope->>'type' = 'contact.opted_out'")]
    assert sorted(opted) == ["all", "all", "sms", "sms"]


async def test_contacts_logged_by_agents_count_are_flagged_and_carry_promises(outreach: Outreach) -> None:
    await outreach.deliver(await outreach.placed("L-1", channels=("sms", "voice")))
    url = "/v1/clients/banco/accounts/L-1/contacts"
    first = await outreach.http.post(url, headers=outreach.auth, json={
        "channel": "voice", "at": "2026-03-04T09:00:00-05:00", "outcome": "promise_to_pay",
        "promise": {"amount": "500000", "due_date": "2026-03-10"}})
    assert first.status_code == 201, first.text
    assert first.json()["rule_violations"] == [] and first.json()["promise_id"]
    second = await outreach.http.post(url, headers=outreach.auth, json={
        "channel": "voice", "at": "2026-03-04T09:45:00-05:00", "outcome": "no_answer"})
    assert second.status_code == 201, second.text
    assert second.json()["rule_violations"] == ["daily_limit"]
    assert (await check(outreach, "L-1", "sms", outreach.clock.now))["reasons"] == ["daily_limit",
                                                                                   "weekly_channel_limit"]
    no_promise = await outreach.http.post(url, headers=outreach.auth, json={
        "channel": "voice", "at": "2026-03-04T09:00:00-05:00", "outcome": "promise_to_pay"})
    assert (no_promise.status_code, no_promise.json()["code"]) == (422, "promise_mismatch")
    events = [r[0] for r in await outreach.sql("SELECT envelope->>'type' FROM outreach.outbox "
                                               "WHERE envelope->>'type' NOT IN ('contact.consents_recorded', 'client.ready') ORDER BY id")]
    assert events == ["contact.logged", "promise.made", "contact.logged"]
    history = (await outreach.http.get(url, headers=outreach.auth)).json()
    assert [c["outcome"] for c in history["logged"]] == ["promise_to_pay", "no_answer"]


async def test_client_rules_may_only_be_stricter_than_the_law(outreach: Outreach) -> None:
    await outreach.deliver(await outreach.placed("K-1"))
    url = "/v1/clients/banco/contact-rules"
    looser = await outreach.http.put(url, headers=outreach.auth, json={"windows": {"mon": ["06:00", "19:00"]}})
    assert (looser.status_code, looser.json()["code"]) == (422, "rules_looser_than_law")
    assert (await outreach.http.put(url, headers=outreach.auth, json={"daily_limit": 3})).status_code == 422
    weekdays = {d: ["08:00", "17:00"] for d in ("mon", "tue", "wed", "thu", "fri")}
    ok = await outreach.http.put(url, headers=outreach.auth, json={"windows": weekdays})
    assert ok.status_code == 200 and ok.json()["windows"]["sat"] is None and ok.json()["daily_limit"] == 1
    at_1730 = dt.datetime(2026, 3, 4, 22, 30, tzinfo=dt.UTC)
    answer = await check(outreach, "K-1", "sms", at_1730)
    assert answer["reasons"] == ["outside_hours"] and answer["next_allowed_at"] == "2026-03-05T13:00:00Z"


async def test_contact_rules_changed_since_they_were_read_are_not_overwritten(outreach: Outreach) -> None:
    url = "/v1/clients/banco/contact-rules"
    first = await outreach.http.get(url, headers=outreach.auth)
    tag = first.headers["ETag"]
    weekdays = {d: ["08:00", "17:00"] for d in ("mon", "tue", "wed", "thu", "fri")}
    ana = await outreach.http.put(url, headers={**outreach.auth, "If-Match": tag}, json={"windows": weekdays})
    assert ana.status_code == 200 and ana.headers["ETag"] == (await outreach.http.get(url, headers=outreach.auth)
                                                             ).headers["ETag"] != tag
    luis = await outreach.http.put(url, headers={**outreach.auth, "If-Match": tag}, json={"daily_limit": 1})
    assert (luis.status_code, luis.json()["code"]) == (412, "precondition_failed")
    assert (await outreach.http.get(url, headers=outreach.auth)).json()["windows"]["mon"] == ["08:00", "17:00"]
    again = await outreach.http.put(url, headers={**outreach.auth, "If-Match": ana.headers["ETag"]},
                                    json={"daily_limit": 1})
    assert again.status_code == 200 and again.json()["windows"]["sat"] is not None  # replaced whole, as before


async def test_templates_are_validated_on_save_and_used_to_send(outreach: Outreach) -> None:
    url = "/v1/clients/banco/templates/sms/es-CO"
    default = (await outreach.http.get(url, headers=outreach.auth)).json()
    assert default["source"] == "default" and default["preview"]["segments"] >= 1
    unknown = await outreach.http.put(url, headers=outreach.auth, json={"body": "Hola {{ nombre }} {{ opt_out }}"})
    assert unknown.status_code == 422 and "unknown variable(s): nombre" in unknown.json()["detail"]
    no_opt_out = await outreach.http.put(url, headers=outreach.auth, json={"body": "Pague {{ payment_link }}"})
    assert "opt-out" in no_opt_out.json()["detail"]
    broken = await outreach.http.put(url, headers=outreach.auth, json={"body": "{% if %}"})
    assert "syntax error" in broken.json()["detail"]
    body = "{{ creditor }}: saldo {{ balance }}. Pague en {{ payment_link }} {{ opt_out }}"
    saved = await outreach.http.put(url, headers={"Authorization": f"Bearer {outreach.client_key}"},
                                    json={"body": body})
    assert saved.status_code == 200, saved.text
    out = saved.json()
    assert (out["source"], out["version"]) == ("client", 1)
    assert (out["preview"]["encoding"], out["preview"]["segments"]) == sms_segments(out["preview"]["body"])
    await outreach.deliver(await outreach.placed("T-1"), segmented("T-1"))
    outreach.settings.sandbox_delivery_rate = 1.0
    await outreach.tick()
    [(sent,)] = await outreach.sql("SELECT body FROM outreach.sandbox_messages")
    assert sent.startswith("Banco Andino: saldo $") and "Responda BAJA" in sent
    listed = (await outreach.http.get("/v1/clients/banco/templates", headers=outreach.auth)).json()["items"]
    assert {(t["channel"], t["source"]) for t in listed} >= {("sms", "client"), ("email", "default")}


async def test_the_agent_queue_hands_out_the_best_call_the_law_allows(outreach: Outreach) -> None:
    await outreach.deliver(await outreach.placed("G-1", debtor="1", channels=("agent",)),
                           await outreach.placed("G-2", debtor="2", channels=("agent",)),
                           await outreach.placed("G-3", debtor="3", channels=("sms",)),
                           segmented("G-1", ("agent",), value="50000"), segmented("G-2", ("agent",), value="900000"),
                           segmented("G-3", ("agent",), value="5000000"))
    assert await outreach.tick() == 0  # agent calls wait for an agent
    url = "/v1/agent/next?client=banco"
    first = (await outreach.http.get(url, headers=outreach.auth)).json()["item"]
    assert first["account_ref"] == "G-2" and first["script"].startswith("Guion: saludar a María")
    second = (await outreach.http.get(url, headers=outreach.auth)).json()["item"]
    assert second["account_ref"] == "G-1"
    # G-3's debtor never authorised calls: it is never handed out, and its attempt is cancelled with the reason.
    assert (await outreach.http.get(url, headers=outreach.auth)).json()["item"] is None
    assert (await outreach.attempts("G-3"))[0] == ("agent", "cancelled")
    outcome = await outreach.http.post("/v1/clients/banco/accounts/G-2/contacts", headers=outreach.auth, json={
        "channel": "agent", "at": outreach.clock.now.isoformat(), "outcome": "right_party",
        "attempt_id": first["attempt_id"]})
    assert outcome.status_code == 201 and outcome.json()["rule_violations"] == []
    [(count, conversation)] = await outreach.sql(
        "SELECT count(*), bool_and(conversation) FROM outreach.contacts WHERE account_ref = 'G-2'")
    assert (count, conversation) == (1, True)  # the outcome joined the call; it was not counted twice
    # A call handed out and dialled hours later, after the close: its outcome says the hours it broke.
    import zoneinfo

    dialled = outreach.clock.now.astimezone(zoneinfo.ZoneInfo("America/Bogota")).replace(hour=21, minute=15)
    assert dialled > outreach.clock.now
    outreach.clock.now = dialled + dt.timedelta(minutes=2)
    late = await outreach.http.post("/v1/clients/banco/accounts/G-1/contacts", headers=outreach.auth, json={
        "channel": "agent", "at": dialled.isoformat(), "outcome": "no_answer", "attempt_id": second["attempt_id"]})
    assert late.status_code == 201 and late.json()["rule_violations"] == ["outside_hours"], late.text
    assert await outreach.sql("SELECT rule_violations FROM outreach.contacts WHERE account_ref = 'G-1'") == [
        (["outside_hours"],)]  # kept with the contact, as its history shows it
    client_key = await outreach.http.get(url, headers={"Authorization": f"Bearer {outreach.client_key}"})
    assert client_key.status_code == 403


async def test_a_us_debtor_may_be_called_again_a_week_after_a_conversation_across_a_change_of_clocks(
        outreach: Outreach) -> None:
    await outreach.deliver(client_event("acme", country="US", timezone="America/New_York", locale="en-US",
                                        currency="USD"), client="acme")
    await outreach.deliver(await outreach.placed("US-1", client="acme", phones=("+12125551234",),
                                                 channels=("voice", "agent")), client="acme")
    talked = await outreach.http.post("/v1/clients/acme/accounts/US-1/contacts", headers=outreach.auth, json={
        "channel": "voice", "at": "2026-03-04T10:00:00-05:00", "outcome": "right_party"})
    assert talked.status_code == 201, talked.text

    async def ask(at: str) -> dict[str, object]:
        answer = await outreach.http.post("/v1/compliance/check", headers=outreach.auth, json={
            "client": "acme", "account_ref": "US-1", "channel": "voice", "at": at})
        assert answer.status_code == 200, answer.text
        return answer.json()  # type: ignore[no-any-return]

    # The clocks go forward on Sunday March 8: a week later at 10:00 in New York is 14:00 UTC, no longer 15:00.
    refused = await ask("2026-03-05T10:00:00-05:00")
    assert (refused["allowed"], refused["reasons"]) == (False, ["call_after_conversation"])
    assert refused["next_allowed_at"] == "2026-03-11T14:00:00Z"
    assert (await ask("2026-03-11T10:00:00-04:00"))["allowed"] is True
    assert (await ask("2026-03-11T09:59:00-04:00"))["allowed"] is False


async def test_an_argentine_client_sets_its_own_hours_but_never_opens_sundays(outreach: Outreach) -> None:
    await outreach.deliver(client_event("pampa", country="AR", timezone="America/Argentina/Buenos_Aires",
                                        locale="es-AR", currency="ARS"), client="pampa")
    await outreach.deliver(await outreach.placed("AR-1", client="pampa", phones=("+541152345678",)), client="pampa")
    url = "/v1/clients/pampa/contact-rules"
    sunday = {"windows": {"sat": ["10:00", "13:00"], "sun": ["10:00", "12:00"]}}
    refused = await outreach.http.put(url, headers=outreach.auth, json=sunday)
    assert (refused.status_code, refused.json()["code"]) == (422, "rules_looser_than_law")
    ok = await outreach.http.put(url, headers=outreach.auth, json={"windows": {"sat": ["10:00", "13:00"]}})
    assert ok.status_code == 200 and ok.json()["windows"]["sat"] == ["10:00", "13:00"]
    # Rules saved before such a window was refused keep Sunday closed, and the rest of them apply.
    await outreach.sql("UPDATE outreach.client_rules SET rules = CAST(:r AS jsonb) WHERE client_slug = 'pampa' "
                       "RETURNING 1",
                       r=json.dumps(sunday))
    assert (await outreach.http.get(url, headers=outreach.auth)).json()["windows"]["sun"] is None

    async def ask(at: str) -> dict[str, object]:
        answer = await outreach.http.post("/v1/compliance/check", headers=outreach.auth, json={
            "client": "pampa", "account_ref": "AR-1", "channel": "sms", "at": at})
        assert answer.status_code == 200, answer.text
        return answer.json()  # type: ignore[no-any-return]

    assert (await ask("2026-03-07T11:00:00-03:00"))["allowed"] is True  # Saturday, as the client set
    closed = await ask("2026-03-08T11:00:00-03:00")  # Sunday
    assert (closed["allowed"], closed["reasons"], closed["next_allowed_at"]) == (
        False, ["day_not_allowed"], "2026-03-14T13:00:00Z")


async def test_a_debtors_region_written_with_dots_and_commas_sets_their_hours(outreach: Outreach) -> None:
    await outreach.deliver(client_event("oeste", country="US", timezone="America/Los_Angeles", locale="en-US",
                                        currency="USD"), client="oeste")
    await outreach.deliver(await outreach.placed("DC-1", client="oeste", phones=(), region="Washington, D.C."),
                           client="oeste")
    answer = await outreach.http.post("/v1/compliance/check", headers=outreach.auth, json={
        "client": "oeste", "account_ref": "DC-1", "channel": "email", "at": "2026-03-04T20:30:00-08:00"})
    assert answer.status_code == 200, answer.text
    # 20:30 in Los Angeles is 23:30 in Washington: the next instant is 08:00 there.
    assert (answer.json()["debtor_local_time"], answer.json()["reasons"], answer.json()["next_allowed_at"]) == (
        "2026-03-04T23:30:00-05:00", ["outside_hours"], "2026-03-05T13:00:00Z")
