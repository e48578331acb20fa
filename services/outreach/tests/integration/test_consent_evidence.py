"""Consent evidence through outreach's real API and PostgreSQL: a placement's file grants its channels, a
restatement adds nothing it already granted, a STOP reply and an operator's do-not-contact withdraw, the record
cannot be rewritten, holds no contact point, and another client company's key cannot read it."""

import datetime as dt
import importlib.util
import json
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy

from recaudo_common.events import AccountUpdated
from recaudo_common.webhook_signatures import sign

from .conftest import Outreach, segmented

pytestmark = pytest.mark.integration
MIGRATION = Path(__file__).parents[2] / "migrations" / "versions" / "0011_consent_evidence.py"
PHONE, EMAIL, NAME, ID_NUMBER = "+573001234567", "deudor@example.com", "MARÍA PÉREZ", "1020304050"


async def consents(o: Outreach, ref: str, key: str | None = None) -> dict[str, Any]:
    answer = await o.http.get(f"/v1/clients/banco/accounts/{ref}/consents",
                              headers={"Authorization": f"Bearer {key or o.operator}"})
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def states(body: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {c["channel"]: (c["state"], c["source"]) for c in body["channels"]}


async def test_a_placement_grants_the_channels_its_file_authorises_with_the_portfolio(outreach: Outreach) -> None:
    placement = await outreach.placed("E-1", channels=("sms", "email"))
    await outreach.deliver(placement)
    body = await consents(outreach, "E-1", key=outreach.client_key)  # the client company reads its own
    assert [(e["channel"], e["what"], e["source"], e["evidence"], e["text_version"]) for e in body["evidence"]] == [
        ("sms", "granted", "client_file", str(placement.portfolio_id), None),
        ("email", "granted", "client_file", str(placement.portfolio_id), None)]
    assert states(body) == {"sms": ("granted", "client_file"), "email": ("granted", "client_file")}
    assert {c["since"] for c in body["channels"]} == {"2026-03-04T15:00:00Z"}


async def test_a_restatement_does_not_duplicate_and_records_only_what_changed(outreach: Outreach) -> None:
    placement = await outreach.placed("E-2", channels=("sms", "email"))
    await outreach.deliver(placement)
    fields = placement.model_dump()

    def restated(*channels: str) -> AccountUpdated:
        return AccountUpdated(**{**fields, "portfolio_id": uuid.uuid4(), "authorised_channels": list(channels)},
                              previous_balance=Decimal("1500000"))

    same = restated("email", "sms")
    await outreach.deliver(same)
    await outreach.deliver(restated("sms", "email"))  # another file stating the same
    assert len((await consents(outreach, "E-2"))["evidence"]) == 2
    narrower = restated("sms", "voice")
    await outreach.deliver(narrower)
    body = await consents(outreach, "E-2")
    assert [(e["channel"], e["what"], e["evidence"]) for e in body["evidence"][2:]] == [
        ("voice", "granted", str(narrower.portfolio_id)), ("email", "withdrawn", str(narrower.portfolio_id))]
    assert states(body) == {"sms": ("granted", "client_file"), "voice": ("granted", "client_file"),
                            "email": ("withdrawn", "client_file")}


async def test_a_stop_reply_withdraws_that_channel_on_the_debtors_accounts(outreach: Outreach) -> None:
    await outreach.deliver(await outreach.placed("E-3"), await outreach.placed("E-4"), segmented("E-3", ("sms",)))
    outreach.settings.sandbox_delivery_rate = 1.0
    await outreach.tick()
    [(attempt_id,)] = await outreach.sql("SELECT id FROM outreach.attempts WHERE account_ref = 'E-3' "
                                         "AND sent_at IS NOT NULL")
    raw = json.dumps({"message_id": "in-e3", "status": "reply", "detail": "STOP", "reply_from": PHONE,
                      "channel": "sms"}).encode()
    outreach.clock.now += dt.timedelta(hours=2)
    signed = {"Recaudo-Signature": sign(raw, outreach.settings.sandbox_gateway_secret, outreach.clock.now)}
    for _ in range(2):  # a provider's retry records nothing twice
        assert (await outreach.http.post("/v1/webhooks/outreach/sandbox", content=raw, headers=signed)
                ).status_code == 200
    for ref in ("E-3", "E-4"):  # the opt-out holds at every account of the debtor at this client company
        body = await consents(outreach, ref)
        [withdrawal] = [e for e in body["evidence"] if e["what"] == "withdrawn"]
        assert (withdrawal["channel"], withdrawal["source"], withdrawal["evidence"]) == ("sms", "reply",
                                                                                       str(attempt_id))
        assert states(body)["sms"] == ("withdrawn", "reply")
        assert states(body)["email"] == ("granted", "client_file")
        assert [c["since"] for c in body["channels"] if c["channel"] == "sms"] == ["2026-03-04T17:00:00Z"]
    # The client's next file cannot bring the channel back, and the debtor's next account starts withdrawn.
    restated = (await outreach.placed("E-3")).model_dump()
    await outreach.deliver(AccountUpdated(**restated, previous_balance=Decimal("1500000")))
    assert states(await consents(outreach, "E-3"))["sms"] == ("withdrawn", "reply")
    await outreach.deliver(await outreach.placed("E-8", channels=("sms", "email")))
    body = await consents(outreach, "E-8")
    assert [(e["channel"], e["what"], e["source"], e["evidence"]) for e in body["evidence"]] == [
        ("sms", "withdrawn", "reply", str(attempt_id)), ("email", "granted", "client_file",
                                                         body["evidence"][1]["evidence"])]
    assert states(body) == {"sms": ("withdrawn", "reply"), "email": ("granted", "client_file")}


async def test_an_operators_do_not_contact_withdraws_every_channel_with_the_key(outreach: Outreach) -> None:
    await outreach.deliver(await outreach.placed("E-5", channels=("sms",)))
    key_id, key = await outreach.platform.keys.create(role="operator", now=outreach.clock.now)
    listed = await outreach.http.post("/v1/clients/banco/do-not-contact", headers={"Authorization": f"Bearer {key}"},
                                      json={"debtor_id": ID_NUMBER, "reason": "solicitud escrita"})
    assert listed.status_code == 201, listed.text
    assert listed.headers["Location"] == "/v1/clients/banco/accounts/E-5/consents"  # where the withdrawal shows
    body = await consents(outreach, "E-5")
    withdrawals = [e for e in body["evidence"] if e["what"] == "withdrawn"]
    assert {e["channel"] for e in withdrawals} == {"sms", "email", "whatsapp", "voice", "agent", "letter"}
    assert {(e["source"], e["evidence"]) for e in withdrawals} == {("operator", str(key_id))}
    assert {s for s, _ in states(body).values()} == {"withdrawn"}


async def test_the_evidence_cannot_be_rewritten_and_holds_no_contact_point(outreach: Outreach) -> None:
    await outreach.deliver(await outreach.placed("E-6"))
    await outreach.http.post("/v1/clients/banco/do-not-contact", headers=outreach.auth,
                             json={"debtor_id": ID_NUMBER, "reason": "solicitud escrita"})
    rows = await outreach.sql("SELECT row_to_json(e)::text FROM outreach.consent_evidence e")
    assert len(rows) == 3 + 6
    for (row,) in rows:
        for value in (PHONE, PHONE[3:], EMAIL, NAME, ID_NUMBER):
            assert value not in row
    for statement in ("UPDATE outreach.consent_evidence SET what = 'granted'",
                      "DELETE FROM outreach.consent_evidence", "TRUNCATE outreach.consent_evidence"):
        with pytest.raises(sqlalchemy.exc.DBAPIError, match="append-only"):
            await outreach.sql(statement)
    with pytest.raises(sqlalchemy.exc.DBAPIError, match="consent_evidence_text_version_check"):
        await outreach.sql("INSERT INTO outreach.consent_evidence (client_slug, account_ref, channel, what, source, "
                           "recorded_at, evidence, text_version) VALUES ('banco', 'E-6', 'sms', 'granted', "
                           "'debtor_page', now(), gen_random_uuid(), :v)", v=EMAIL)
    assert len(await outreach.sql("SELECT 1 FROM outreach.consent_evidence")) == 9


async def test_another_client_companys_key_and_an_unknown_account_get_404(outreach: Outreach) -> None:
    await outreach.deliver(await outreach.placed("E-7"))
    _, other = await outreach.platform.keys.create(role="client", client_slug="telco", now=outreach.clock.now)
    _, sre = await outreach.platform.keys.create(role="sre", now=outreach.clock.now)
    url = "/v1/clients/banco/accounts/E-7/consents"
    refused = await outreach.http.get(url, headers={"Authorization": f"Bearer {other}"})
    assert (refused.status_code, refused.json()["code"]) == (404, "not_found")
    assert "E-7" not in refused.text and "sms" not in refused.text
    assert (await outreach.http.get(url, headers={"Authorization": f"Bearer {sre}"})).status_code == 403
    assert (await outreach.http.get(url)).status_code == 401
    unknown = await outreach.http.get("/v1/clients/banco/accounts/nope/consents", headers=outreach.auth)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")


async def stop_reply(o: Outreach, ref: str) -> uuid.UUID:
    """A debtor's STOP to the SMS just sent for `ref`; the attempt it answers."""
    o.settings.sandbox_delivery_rate = 1.0
    await o.tick()
    [(attempt_id,)] = await o.sql("SELECT id FROM outreach.attempts WHERE account_ref = :r AND sent_at IS NOT NULL",
                                  r=ref)
    raw = json.dumps({"message_id": f"in-{ref}", "status": "reply", "detail": "BAJA", "reply_from": PHONE,
                      "channel": "sms"}).encode()
    signed = {"Recaudo-Signature": sign(raw, o.settings.sandbox_gateway_secret, o.clock.now)}
    assert (await o.http.post("/v1/webhooks/outreach/sandbox", content=raw, headers=signed)).status_code == 200
    return uuid.UUID(str(attempt_id))


async def test_the_withdrawals_made_before_the_record_existed_are_backfilled(outreach: Outreach) -> None:
    await outreach.deliver(await outreach.placed("B-1"), await outreach.placed("B-2"), segmented("B-1", ("sms",)),
                           await outreach.placed("B-3", debtor="99887766", phones=("+573009999999",),
                                                 email="otro@example.com"))
    attempt_id = await stop_reply(outreach, "B-1")
    key_id, key = await outreach.platform.keys.create(role="operator", now=outreach.clock.now)
    assert (await outreach.http.post("/v1/clients/banco/do-not-contact", headers={"Authorization": f"Bearer {key}"},
                                     json={"debtor_id": "99887766", "reason": "carta"})).status_code == 201
    recorded = await outreach.sql("SELECT account_ref, channel, source, evidence FROM outreach.consent_evidence "
                                  "WHERE what = 'withdrawn' ORDER BY account_ref, channel")
    # As the database was before migration 0011: opt-outs and the list, no evidence.
    spec = importlib.util.spec_from_file_location("consent_evidence_migration", MIGRATION)
    assert spec and spec.loader
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    async with outreach.platform.db.transaction() as s:
        for statement in ("ALTER TABLE outreach.consent_evidence DISABLE TRIGGER consent_evidence_append_only",
                          "DELETE FROM outreach.consent_evidence",
                          "ALTER TABLE outreach.consent_evidence ENABLE TRIGGER consent_evidence_append_only",
                          migration.BACKFILL):
            await s.execute(sqlalchemy.text(statement))
    backfilled = await outreach.sql("SELECT account_ref, channel, source, evidence FROM outreach.consent_evidence "
                                    "ORDER BY account_ref, channel")
    assert backfilled == recorded
    assert {(r[0], r[1]) for r in backfilled} == {("B-1", "sms"), ("B-2", "sms")} | {
        ("B-3", ch) for ch in ("sms", "email", "whatsapp", "voice", "agent", "letter")}
    assert {r[3] for r in backfilled} == {attempt_id, key_id}


async def test_every_piece_of_evidence_is_published_with_the_change_that_recorded_it(outreach: Outreach) -> None:
    """contact.consents_recorded goes out through the outbox in the transaction that appends the evidence: one per
    account and act, its pieces in order, with the reference and never a contact point."""
    placement = await outreach.placed("E-9", channels=("sms", "email"))
    await outreach.deliver(placement)
    key_id, key = await outreach.platform.keys.create(role="operator", now=outreach.clock.now)
    assert (await outreach.http.post("/v1/clients/banco/do-not-contact", headers={"Authorization": f"Bearer {key}"},
                                     json={"debtor_id": ID_NUMBER, "reason": "solicitud escrita"})).status_code == 201
    rows = await outreach.sql("SELECT envelope::text FROM outreach.outbox "
                              "WHERE envelope->>'type' = 'contact.consents_recorded' ORDER BY id")
    published = [json.loads(r[0]) for r in rows]
    assert len(published) == 2  # the placement's grants (sms, email) together, then the do-not-contact's withdrawals
    pieces = [(piece, p["payload"]["recorded_at"]) for p in published for piece in p["payload"]["pieces"]]
    recorded = (await consents(outreach, "E-9"))["evidence"]
    assert [(p["channel"], p["what"], p["source"], p["evidence"]) for p, _ in pieces] == [
        (e["channel"], e["what"], e["source"], e["evidence"]) for e in recorded]
    assert [dt.datetime.fromisoformat(at) for _, at in pieces] == [
        dt.datetime.fromisoformat(e["recorded_at"]) for e in recorded]
    assert {p["evidence"] for p in published[0]["payload"]["pieces"]} == {str(placement.portfolio_id)}
    assert {p["evidence"] for p in published[1]["payload"]["pieces"]} == {str(key_id)}
    assert {p["payload"]["account_ref"] for p in published} == {"E-9"} and {p["client"] for p in published} == {"banco"}
    for (row,) in rows:
        for value in (PHONE, PHONE[3:], EMAIL, NAME, ID_NUMBER):
            assert value not in row


async def test_a_new_plan_leaves_out_what_the_debtor_withdrew_and_says_so(outreach: Outreach) -> None:
    """A treatment decided after an opt-out (a re-segmentation, a restatement) plans no attempt on the channel the
    debtor left, nor any for a debtor on the do-not-contact list: the trail says why, and nothing waits that
    could never go."""
    from outreach.consent.handlers import opt_out_debtor

    o = outreach
    await o.deliver(await o.placed("E-9", channels=("sms", "email")), segmented("E-9", ("sms", "email")))
    assert set(await o.attempts("E-9")) == {("email", "scheduled"), ("sms", "scheduled")}
    [(debtor_id,)] = await o.sql("SELECT debtor_id FROM outreach.accounts WHERE account_ref = 'E-9'")
    async with o.platform.db.transaction() as s:
        await opt_out_debtor(s, "banco", debtor_id, "email", source="reply", evidence=uuid.uuid4(), now=o.clock.now)
    o.clock.now += dt.timedelta(days=1)
    await o.deliver(segmented("E-9", ("email", "sms"), cadence_days=5))
    scheduled = [r for r in await o.attempts("E-9") if r[1] == "scheduled"]
    assert set(scheduled) == {("sms", "scheduled")}, await o.attempts("E-9")
    trail = await o.sql("SELECT kind, channel, detail->>'reason' FROM outreach.trail WHERE account_ref = 'E-9' "
                        "AND kind = 'not_planned'")
    assert trail == [("not_planned", "email", "opted out")]

    listed = await o.http.post("/v1/clients/banco/do-not-contact", headers=o.auth,
                               json={"debtor_id": ID_NUMBER, "reason": "solicitud escrita"})
    assert listed.status_code == 201, listed.text
    o.clock.now += dt.timedelta(days=1)
    await o.deliver(segmented("E-9", ("sms", "email"), cadence_days=7))
    assert [r for r in await o.attempts("E-9") if r[1] == "scheduled"] == []
    trail = await o.sql("SELECT channel, detail->>'reason' FROM outreach.trail WHERE account_ref = 'E-9' "
                        "AND kind = 'not_planned' ORDER BY id")
    assert trail == [("email", "opted out"), ("sms", "do not contact"), ("email", "do not contact")]


async def test_an_act_with_more_pieces_than_an_event_holds_sends_them_in_order(outreach: Outreach) -> None:
    """A batch that states an account again and again (each statement withdrawing and granting its channels) records
    more pieces than one contact.consents_recorded holds: they go in several events, in order, one account's never
    mixed with another's (#24)."""
    from outreach.consent.handlers import append_evidence
    from outreach.domain.consent import ConsentChange
    from recaudo_common.events import MAX_CONSENT_PIECES

    channels = ("sms", "email", "whatsapp", "voice", "agent", "letter")
    portfolio = uuid.uuid4()
    many = [ConsentChange(ch, what, "client_file", portfolio) for what in ("withdrawn", "granted", "withdrawn")
            for ch in channels]  # 18 pieces: more than one event holds
    changes = [("banco", "E-1", c) for c in many[:9]] + [("banco", "E-2", many[0])] + [
        ("banco", "E-1", c) for c in many[9:]]
    async with outreach.platform.db.transaction() as s:
        await append_evidence(s, changes, outreach.clock.now)
    rows = await outreach.sql("SELECT envelope::text FROM outreach.outbox "
                              "WHERE envelope->>'type' = 'contact.consents_recorded' ORDER BY id")
    published = [json.loads(r[0]) for r in rows]
    first = [p for p in published if p["payload"]["account_ref"] == "E-1"]
    assert [len(p["payload"]["pieces"]) for p in first] == [MAX_CONSENT_PIECES, len(many) - MAX_CONSENT_PIECES]
    assert [(piece["channel"], piece["what"]) for p in first for piece in p["payload"]["pieces"]] == [
        (c.channel, c.what) for c in many]
    assert first[0]["event_id"] < first[1]["event_id"]  # time-ordered ids: reporting keeps the order by them
    [second] = [p for p in published if p["payload"]["account_ref"] == "E-2"]
    assert [(piece["channel"], piece["what"]) for piece in second["payload"]["pieces"]] == [("sms", "withdrawn")]
