"""The contact law as the agency's paths feed it, through the real API and PostgreSQL: where the debtor may be
(every phone on file), and when an agent's call really happened (a call handed out and dialled later)."""

import datetime as dt

import pytest

from .conftest import Outreach, client_event, segmented

pytestmark = pytest.mark.integration


async def check(o: Outreach, client: str, ref: str, channel: str, at: str) -> dict[str, object]:
    answer = await o.http.post("/v1/compliance/check", headers=o.auth, json={
        "client": client, "account_ref": ref, "channel": channel, "at": at})
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def us_client(o: Outreach) -> None:
    await o.deliver(client_event("acme", country="US", timezone="America/New_York", locale="en-US",
                                 currency="USD"), client="acme")


async def test_a_debtor_with_phones_in_two_us_zones_is_called_only_at_an_hour_convenient_in_both(
        outreach: Outreach) -> None:
    # Regulation F (comment 6(b)(1)(i)-1): with conflicting information on where the consumer is, a call must be
    # convenient at every location the collector's information indicates. A New York (212) and a Los Angeles (310)
    # number: 08:30 in New York is 05:30 in Los Angeles.
    await us_client(outreach)
    await outreach.deliver(await outreach.placed("US-2", client="acme", phones=("+12125551234", "+13105551234"),
                                                 channels=("voice", "sms")), client="acme")
    early = await check(outreach, "acme", "US-2", "voice", "2026-03-04T08:30:00-05:00")
    assert (early["allowed"], early["reasons"]) == (False, ["outside_hours"])
    assert early["next_allowed_at"] == "2026-03-04T16:00:00Z"  # 11:00 in New York, 08:00 in Los Angeles
    assert (await check(outreach, "acme", "US-2", "voice", "2026-03-04T11:00:00-05:00"))["allowed"] is True
async def test_an_agents_call_dialled_the_day_after_it_was_handed_out_counts_from_when_it_was_made(
        outreach: Outreach) -> None:
    # Handed out on Wednesday March 4 at 10:00 in New York, dialled on Thursday at 10:00: a conversation. The
    # seven days after it end on Thursday March 12, not on Wednesday March 11 (a week after the hand-out).
    await us_client(outreach)
    outreach.clock.now = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)
    await outreach.deliver(await outreach.placed("US-3", client="acme", phones=("+12125551234",),
                                                 channels=("voice", "agent")),
                           segmented("US-3", ("agent",)), client="acme")
    handed = (await outreach.http.get("/v1/agent/next?client=acme", headers=outreach.auth)).json()["item"]
    assert handed is not None and handed["account_ref"] == "US-3"
    outreach.clock.now = dt.datetime(2026, 3, 5, 15, 5, tzinfo=dt.UTC)
    logged = await outreach.http.post("/v1/clients/acme/accounts/US-3/contacts", headers=outreach.auth, json={
        "channel": "agent", "at": "2026-03-05T10:00:00-05:00", "outcome": "right_party",
        "attempt_id": handed["attempt_id"]})
    assert logged.status_code == 201 and logged.json()["rule_violations"] == [], logged.text
    [(at,)] = await outreach.sql("SELECT at FROM outreach.contacts WHERE account_ref = 'US-3'")
    assert at == dt.datetime(2026, 3, 5, 15, 0, tzinfo=dt.UTC)  # counted once, when it was made
    a_week_after_the_hand_out = await check(outreach, "acme", "US-3", "voice", "2026-03-11T10:30:00-04:00")
    assert (a_week_after_the_hand_out["allowed"], a_week_after_the_hand_out["reasons"]) == (
        False, ["call_after_conversation"])
    assert a_week_after_the_hand_out["next_allowed_at"] == "2026-03-12T14:00:00Z"


async def test_a_call_logged_late_is_flagged_with_the_text_sent_after_it_the_same_day(outreach: Outreach) -> None:
    # Wednesday March 4 in Bogotá: an agent calls at 09:00 from outside Recaudo, Recaudo texts at 10:00, and the
    # agent logs the call at noon. One contact a day and one channel a week (Ley 2300): the day had two, and
    # two channels, whichever came first.
    await outreach.deliver(await outreach.placed("CO-1", channels=("sms", "voice")), segmented("CO-1", ("sms",)))
    assert await outreach.tick() == 1
    assert (await outreach.attempts("CO-1"))[0][1] != "scheduled"  # the text went out at 10:00
    outreach.clock.now = dt.datetime(2026, 3, 4, 17, 0, tzinfo=dt.UTC)
    logged = await outreach.http.post("/v1/clients/banco/accounts/CO-1/contacts", headers=outreach.auth, json={
        "channel": "voice", "at": "2026-03-04T09:00:00-05:00", "outcome": "no_answer"})
    assert logged.status_code == 201, logged.text
    assert logged.json()["rule_violations"] == ["daily_limit", "weekly_channel_limit"]
    assert await outreach.sql("SELECT rule_violations FROM outreach.contacts WHERE account_ref = 'CO-1' "
                              "AND source = 'logged'") == [(["daily_limit", "weekly_channel_limit"],)]


async def test_a_call_handed_out_and_dialled_another_day_is_judged_on_the_day_it_was_made(outreach: Outreach) -> None:
    # One debtor, two accounts (Bogotá). A's call is handed out on Wednesday March 4 at 10:00 and dialled on
    # Thursday at 10:00; B's was handed out (and so made) on Thursday at 08:00. Thursday had two contacts.
    await outreach.deliver(await outreach.placed("CO-A", channels=("agent",)),
                           await outreach.placed("CO-B", channels=("agent",)),
                           segmented("CO-A", ("agent",), value="900000"), segmented("CO-B", ("agent",), value="5000"))
    url = "/v1/agent/next?client=banco"
    handed_a = (await outreach.http.get(url, headers=outreach.auth)).json()["item"]
    assert handed_a["account_ref"] == "CO-A"
    outreach.clock.now = dt.datetime(2026, 3, 5, 13, 0, tzinfo=dt.UTC)
    handed_b = (await outreach.http.get(url, headers=outreach.auth)).json()["item"]
    assert handed_b["account_ref"] == "CO-B"
    outreach.clock.now = dt.datetime(2026, 3, 5, 15, 5, tzinfo=dt.UTC)
    logged = await outreach.http.post("/v1/clients/banco/accounts/CO-A/contacts", headers=outreach.auth, json={
        "channel": "agent", "at": "2026-03-05T10:00:00-05:00", "outcome": "no_answer",
        "attempt_id": handed_a["attempt_id"]})
    assert logged.status_code == 201, logged.text
    assert logged.json()["rule_violations"] == ["daily_limit"]
    # B's call, handed out and dialled on Thursday, shares its day with A's: both are flagged, whichever came first.
    same_day = await outreach.http.post("/v1/clients/banco/accounts/CO-B/contacts", headers=outreach.auth, json={
        "channel": "agent", "at": "2026-03-05T08:30:00-05:00", "outcome": "no_answer",
        "attempt_id": handed_b["attempt_id"]})
    assert same_day.status_code == 201 and same_day.json()["rule_violations"] == ["daily_limit"], same_day.text


async def test_a_call_the_debtor_made_breaks_no_hours_and_leaves_the_agencys_contact_of_the_day(
        outreach: Outreach) -> None:
    # Bogotá. The debtor phoned the agency on Sunday March 1 at 21:00 and on Wednesday March 4 at 09:00; an agent
    # logs both as inbound. Ley 2300 limits the contacts the collector starts: neither broke the hours, and the
    # text due at 10:00 that Wednesday is still the agency's one contact of the day.
    await outreach.deliver(await outreach.placed("CO-IN", channels=("sms", "voice")), segmented("CO-IN", ("sms",)))
    url = "/v1/clients/banco/accounts/CO-IN/contacts"
    for at in ("2026-03-01T21:00:00-05:00", "2026-03-04T09:00:00-05:00"):
        logged = await outreach.http.post(url, headers=outreach.auth, json={
            "channel": "voice", "at": at, "outcome": "right_party", "direction": "inbound"})
        assert logged.status_code == 201 and logged.json()["rule_violations"] == [], logged.text
    assert await outreach.tick() == 1
    assert (await outreach.attempts("CO-IN"))[0][1] != "scheduled"  # the text went out at 10:00
    assert await outreach.sql("SELECT direction, conversation FROM outreach.contacts WHERE account_ref = 'CO-IN' "
                              "AND source = 'logged' ORDER BY at") == [("inbound", True), ("inbound", True)]
    assert await outreach.sql("SELECT envelope->'payload'->>'direction' FROM outreach.outbox "
                              "WHERE envelope->>'type' = 'contact.logged' ORDER BY id") == [("inbound",), ("inbound",)]
    # The account's contact history says who started each: the debtor here, the agency for an ordinary log.
    assert (await outreach.http.post(url, headers=outreach.auth, json={
        "channel": "voice", "at": "2026-03-04T09:45:00-05:00", "outcome": "no_answer"})).status_code == 201
    history = await outreach.http.get(url, headers=outreach.auth)
    assert [(c["at"], c["direction"]) for c in history.json()["logged"]] == [
        ("2026-03-02T02:00:00Z", "inbound"), ("2026-03-04T14:00:00Z", "inbound"),
        ("2026-03-04T14:45:00Z", "outbound")], history.text
    # A call the desk handed out is the agency's, whatever the form says.
    handed_out = await outreach.http.post(url, headers=outreach.auth, json={
        "channel": "agent", "at": "2026-03-04T09:30:00-05:00", "outcome": "no_answer", "direction": "inbound",
        "attempt_id": "0f8c2a4e-6b1d-4c3e-9a57-2d8e1f4b7c90"})
    assert (handed_out.status_code, handed_out.json()["code"]) == (422, "direction_mismatch")
