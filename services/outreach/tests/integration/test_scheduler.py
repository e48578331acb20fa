"""The scheduler against a real PostgreSQL: a treatment becomes dated attempts, each decided under the contact
law and sent through the sandbox, or moved to its next allowed instant; what stops contact stops it at once;
two scheduler replicas never send the same attempt."""

import asyncio
import csv
import datetime as dt
import io
import re
import uuid
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy.exc

from outreach.sending.handlers import run_due_attempts
from recaudo_common.bus.base import Message
from recaudo_common.bus.consumer import ConsumerRuntime
from recaudo_common.events import AccountRecalled, Event, PaymentApplied
from recaudo_common.testing import plan_of, statements_run

from .conftest import Outreach, client_event, segmented

pytestmark = pytest.mark.integration


async def test_a_treatment_becomes_a_cadence_and_the_first_message_goes_out(outreach: Outreach) -> None:
    # Segmentation may decide before the placement reaches outreach: the plan waits for the account.
    await outreach.deliver(segmented("A-1", ("sms", "email"), cadence_days=3))
    assert await outreach.attempts("A-1") == []
    await outreach.deliver(await outreach.placed("A-1"))
    assert await outreach.attempts("A-1") == [("sms", "scheduled"), ("email", "scheduled"), ("sms", "scheduled"),
                                              ("email", "scheduled")]
    assert await outreach.tick() == 1
    assert (await outreach.attempts("A-1"))[0] == ("sms", "delivered")
    [(recipient, body)] = await outreach.sql("SELECT recipient, body FROM outreach.sandbox_messages")
    assert recipient == "+573001234567"
    assert body.startswith("Banco Andino: María, su obligación A-1 tiene un saldo de $")
    assert "1.500.000,00" in body and "/pay/" in body and body.endswith("Responda BAJA para no recibir más mensajes.")
    assert "Cancele hoy con" in body  # the treatment's settlement offer
    answer = await outreach.http.get("/v1/clients/banco/accounts/A-1/contacts", headers=outreach.auth)
    assert answer.status_code == 200, answer.text
    history = answer.json()
    first = history["items"][0]
    assert (first["status"], first["provider"], first["encoding"]) == ("delivered", "sandbox", "UCS-2")
    assert first["segments"] >= 2 and first["decisions"][0]["allowed"] is True
    kinds = [t["kind"] for t in history["trail"]]
    assert kinds[:4] == ["scheduled"] * 4 and kinds[4:] == ["decision", "sending", "sent", "delivered"]
    types = [r[0] for r in await outreach.sql("SELECT envelope->>'type' FROM outreach.outbox "
                                              "WHERE envelope->>'type' NOT IN ('contact.consents_recorded', 'client.ready') ORDER BY id")]
    assert types == ["contact.attempted", "contact.delivered"]
    # The sandbox wrote to nobody: its attempt is marked simulated, so no KPI counts it as a contact (#20).
    assert await outreach.sql("SELECT envelope->'payload'->>'provider', envelope->'payload'->'simulated' FROM "
                              "outreach.outbox WHERE envelope->>'type' = 'contact.attempted'") == [("sandbox", True)]


async def test_a_sends_events_keep_the_correlation_of_the_plan_that_scheduled_it(outreach: Outreach) -> None:
    """The chain an upload started (placement, segmentation's decision) goes on through the send: contact.attempted
    and contact.delivered carry the planning event's correlation and name that event as their cause, so one
    correlation id finds a debtor's whole story from the upload to the receipt."""
    await outreach.deliver(await outreach.placed("C-1"))
    upload = uuid.uuid4()  # the correlation the upload's request started
    plan = segmented("C-1", ("sms",)).envelope(client="banco", occurred_at=outreach.clock.now,
                                               correlation_id=upload)
    runtime = ConsumerRuntime(outreach.platform.db, outreach.platform.transport, outreach.subscriptions,
                              "t", outreach.clock)
    assert await runtime.handle_batch([Message("t.account", plan.key, plan, {})]) == ["processed"]
    [(planned,)] = await outreach.sql("SELECT DISTINCT correlation_id FROM outreach.attempts "
                                      "WHERE account_ref = 'C-1'")
    assert planned == upload

    assert await outreach.tick() == 1
    rows = await outreach.sql("SELECT envelope->>'type', envelope->>'correlation_id', envelope->>'causation_id' "
                              "FROM outreach.outbox WHERE envelope->>'type' NOT IN ('contact.consents_recorded', 'client.ready') ORDER BY id")
    assert [r[0] for r in rows] == ["contact.attempted", "contact.delivered"]
    assert {(r[1], r[2]) for r in rows} == {(str(upload), str(plan.event_id))}


async def test_an_attempt_planned_before_plans_kept_their_correlation_is_sent_under_the_schedulers_run(
        outreach: Outreach) -> None:
    await outreach.deliver(await outreach.placed("C-2"), segmented("C-2", ("sms",)))
    await outreach.sql("UPDATE outreach.attempts SET correlation_id = NULL WHERE account_ref = 'C-2' RETURNING 1")
    assert await outreach.tick() == 1
    rows = await outreach.sql("SELECT envelope->>'correlation_id', envelope->>'causation_id' FROM outreach.outbox "
                              "WHERE envelope->>'type' NOT IN ('contact.consents_recorded', 'client.ready')")
    assert len(rows) == 2 and len(set(rows)) == 1  # one run: one correlation, the run its cause
    [(correlation, causation)] = set(rows)
    assert correlation == causation and correlation is not None


async def test_a_blocked_attempt_is_rescheduled_never_dropped(outreach: Outreach) -> None:
    outreach.clock.now = dt.datetime(2026, 3, 7, 21, 0, tzinfo=dt.UTC)  # Saturday 16:00 in Bogotá: closed
    await outreach.deliver(await outreach.placed("S-1"), segmented("S-1"))
    assert await outreach.tick() == 1
    [(status, scheduled_at)] = await outreach.sql(
        "SELECT status, scheduled_at FROM outreach.attempts WHERE account_ref = 'S-1' AND sequence = 1")
    monday_7 = dt.datetime(2026, 3, 9, 12, 0, tzinfo=dt.UTC)
    assert (status, scheduled_at) == ("scheduled", monday_7)
    [(reasons,)] = await outreach.sql("SELECT envelope->'payload'->'reasons' FROM outreach.outbox "
                                      "WHERE envelope->>'type' NOT IN ('contact.consents_recorded', 'client.ready')")
    assert reasons == ["outside_hours"]
    assert await outreach.tick() == 0  # nothing is due before Monday
    outreach.clock.now = monday_7
    assert await outreach.tick() == 1
    assert (await outreach.attempts("S-1"))[0] == ("sms", "delivered")


async def test_one_contact_a_day_counts_over_all_the_debtors_accounts(outreach: Outreach) -> None:
    await outreach.deliver(await outreach.placed("D-1"), await outreach.placed("D-2"), segmented("D-1"),
                           segmented("D-2"))
    assert await outreach.tick() == 2
    statuses = {ref: (await outreach.attempts(ref))[0][1] for ref in ("D-1", "D-2")}
    assert sorted(statuses.values()) == ["delivered", "scheduled"]
    [(reasons, next_at)] = await outreach.sql(
        "SELECT reasons, next_allowed_at FROM outreach.decisions WHERE NOT allowed")
    assert reasons == ["daily_limit"] and next_at == dt.datetime(2026, 3, 5, 12, 0, tzinfo=dt.UTC)


async def test_recall_and_payment_stop_queued_attempts(outreach: Outreach) -> None:
    await outreach.deliver(await outreach.placed("R-1"), segmented("R-1"), await outreach.placed("P-1", debtor="77"),
                           segmented("P-1"))
    await outreach.deliver(AccountRecalled(account_ref="R-1", recalled_at=outreach.clock.now))
    await outreach.deliver(PaymentApplied(payment_id=uuid.uuid4(), account_ref="P-1", amount=1500000, currency="COP",
                                          paid_at=outreach.clock.now, source="manual", new_balance=0,
                                          account_status="paid"))
    assert await outreach.tick() == 0
    assert {s for _, s in await outreach.attempts("R-1") + await outreach.attempts("P-1")} == {"cancelled"}
    [(n,)] = await outreach.sql("SELECT count(*) FROM outreach.sandbox_messages")
    assert n == 0


async def test_a_recall_file_stops_its_accounts_together_and_keeps_the_others(outreach: Outreach) -> None:
    refs = [f"RF-{i}" for i in range(1, 5)]
    for i, ref in enumerate(refs):
        await outreach.deliver(await outreach.placed(ref, debtor=f"8{i}"), segmented(ref, ("sms", "email")))
    # A recall file's accounts (one never placed here) in one batch, in one transaction; RF-4 stays.
    await outreach.deliver(*(AccountRecalled(account_ref=ref, recalled_at=outreach.clock.now)
                             for ref in (*refs[:3], "RF-9")), together=True)
    for ref in refs[:3]:
        assert {s for _, s in await outreach.attempts(ref)} == {"cancelled"}
    assert await outreach.sql("SELECT DISTINCT cancel_reason FROM outreach.attempts WHERE status = 'cancelled'") == [
        ("account recalled",)]
    assert {s for _, s in await outreach.attempts("RF-4")} == {"scheduled"}
    statuses = dict(await outreach.sql("SELECT account_ref, status FROM outreach.account_status"))
    assert statuses == {"RF-1": "recalled", "RF-2": "recalled", "RF-3": "recalled", "RF-9": "recalled"}
    trail = await outreach.sql("SELECT account_ref, count(*) FROM outreach.trail WHERE kind = 'cancelled' "
                               "AND detail->>'reason' = 'account recalled' GROUP BY account_ref ORDER BY account_ref")
    cancelled = await outreach.sql("SELECT account_ref, count(*) FROM outreach.attempts WHERE status = 'cancelled' "
                                   "GROUP BY account_ref ORDER BY account_ref")
    assert [tuple(t) for t in trail] == [tuple(c) for c in cancelled] and len(trail) == 3  # each with its word
    assert await outreach.tick() == 1  # RF-4's first message only


async def test_a_payment_before_its_placement_still_stops_contact(outreach: Outreach) -> None:
    await outreach.deliver(PaymentApplied(payment_id=uuid.uuid4(), account_ref="E-1", amount=1500000, currency="COP",
                                          paid_at=outreach.clock.now, source="manual", new_balance=0,
                                          account_status="paid"))
    await outreach.deliver(segmented("E-1"), await outreach.placed("E-1"))
    assert await outreach.attempts("E-1") == []


async def test_two_scheduler_replicas_never_send_the_same_attempt(outreach: Outreach) -> None:
    refs = [f"M-{i}" for i in range(40)]
    await outreach.deliver(*[await outreach.placed(r, debtor=f"9{i:04d}") for i, r in enumerate(refs)],
                           *[segmented(r) for r in refs])

    async def due_left() -> bool:
        return bool((await outreach.sql("SELECT count(*) FROM outreach.attempts WHERE status = 'scheduled' "
                                        "AND scheduled_at <= :now", now=outreach.clock.now))[0][0])

    async def replica() -> int:
        # A replica that finds the sender's pacing bucket held by the other one's claim claims nothing that round
        # (SKIP LOCKED: it stays due) and tries again, as the scheduler's next tick would, until nothing is due.
        claimed, deadline = 0, asyncio.get_running_loop().time() + 60
        while await due_left():
            assert asyncio.get_running_loop().time() < deadline, "the due attempts were never all claimed"
            claimed += await run_due_attempts(outreach.platform.db, outreach.providers, outreach.settings,
                                              now=outreach.clock.now, limit=7)
        return claimed

    a, b = await asyncio.gather(replica(), replica())
    assert a + b == 40 and a > 0 and b > 0
    [(sent, distinct, sending_rows)] = await outreach.sql(
        "SELECT count(*), count(DISTINCT attempt_id), (SELECT count(*) FROM outreach.trail WHERE kind = 'sending') "
        "FROM outreach.sandbox_messages")
    assert (sent, distinct, sending_rows) == (40, 40, 40)
    [(decisions,)] = await outreach.sql("SELECT count(*) FROM outreach.decisions")
    assert decisions == 40


async def test_the_audit_trail_cannot_be_rewritten(outreach: Outreach) -> None:
    await outreach.deliver(await outreach.placed("T-1"), segmented("T-1"))
    await outreach.tick()
    for statement in ("UPDATE outreach.trail SET kind = 'x'", "DELETE FROM outreach.decisions",
                      "TRUNCATE outreach.trail"):
        with pytest.raises(sqlalchemy.exc.DBAPIError, match="append-only"):
            await outreach.sql(statement)
    csv_export = await outreach.http.get("/v1/clients/banco/accounts/T-1/contacts?format=csv", headers=outreach.auth)
    assert csv_export.status_code == 200 and csv_export.headers["content-type"].startswith("text/csv")
    # The client company is es-CO: a BOM, `;` and Spanish headers, as Excel opens it there.
    table = list(csv.reader(io.StringIO(csv_export.content.decode("utf-8-sig")), delimiter=";"))
    assert csv_export.content.startswith("\ufeff".encode())
    assert table[0] == ["id", "fecha", "tipo", "canal", "intento", "detalle"] and len(table) == 1 + 4 + 4
    assert [row[2] for row in table[5:]] == ["decision", "sending", "sent", "delivered"]


async def test_placements_and_treatments_applied_together_match_one_at_a_time(outreach: Outreach) -> None:
    """The set-based handlers plan what the one-event handlers plan: treatments before and after their
    placement, a treatment replaced in the same batch, an account already paid, one with no phone on file.
    The same events go to two client companies, one batch for the first and one event at a time for the other."""
    async def events(client: str) -> list[Event]:
        paid = PaymentApplied(payment_id=uuid.uuid4(), account_ref="T-3", amount=Decimal(1), currency="COP",
                              paid_at=outreach.clock.now, source="manual", new_balance=Decimal(0),
                              account_status="paid")
        placements = [await outreach.placed(ref, client=client) for ref in ("T-1", "T-2", "T-3")]
        return [segmented("T-1", ("sms", "email")), paid, *placements,
                await outreach.placed("T-4", phones=(), email=None, client=client),
                segmented("T-2", ("sms",), cadence_days=2),
                segmented("T-3"), segmented("T-4"), segmented("T-2", ("email",), cadence_days=5),
                segmented("T-1", ("sms", "email"), offer="instalment_plan")]  # the same treatment: kept

    async def messages(client: str) -> list[Message]:
        return [Message(f"t.{e.family}", e.key(client), e.envelope(
            client=client, occurred_at=outreach.clock.now + dt.timedelta(microseconds=i)), {})
            for i, e in enumerate(await events(client))]

    async def outcome(client: str) -> list[list[Any]]:
        c = {"c": client}
        return [
            [tuple(r) for r in await outreach.sql(
                "SELECT account_ref, treatment, channels, cadence_days, planned FROM outreach.treatments "
                "WHERE client_slug = :c ORDER BY account_ref", **c)],
            [tuple(r) for r in await outreach.sql(
                "SELECT account_ref, channel, sequence, status, scheduled_at, cancel_reason FROM outreach.attempts "
                "WHERE client_slug = :c ORDER BY account_ref, status, sequence", **c)],
            [tuple(r) for r in await outreach.sql(
                "SELECT account_ref, kind, channel, detail FROM outreach.trail WHERE client_slug = :c "
                "ORDER BY account_ref, id", **c)],
        ]

    await outreach.deliver(client_event("caja"))
    runtime = ConsumerRuntime(outreach.platform.db, outreach.platform.transport, outreach.subscriptions,
                              "t", outreach.clock)
    assert set(await runtime.handle_batch(await messages("banco"))) == {"processed"}
    for message in await messages("caja"):
        assert await runtime.handle(message) == "processed"
    together = await outcome("banco")
    assert together == await outcome("caja")
    treatments, attempts, trail = together
    assert [t[0] for t in treatments] == ["T-1", "T-2", "T-3", "T-4"]
    t2 = [a for a in attempts if a[0] == "T-2"]
    assert {(a[1], a[3]) for a in t2} == {("sms", "cancelled"), ("email", "scheduled")}  # the second plan won
    assert [(a[1], a[2], a[3]) for a in attempts if a[0] == "T-1"] == [
        ("sms", 1, "scheduled"), ("email", 2, "scheduled"), ("sms", 3, "scheduled"), ("email", 4, "scheduled")]
    assert [a for a in attempts if a[0] in ("T-3", "T-4")] == []  # paid; nothing to reach the debtor on
    assert ("T-4", "not_planned", None, {"treatment": "digital", "reason": "no contact data on file"}) in trail


async def test_the_same_treatment_decided_again_keeps_the_plan_and_tops_it_up(outreach: Outreach) -> None:
    """Segmentation re-decides every open account on a strategy change, every payment and every bucket it ages
    into: a decision that gives the treatment it has keeps the attempts to come (a new plan would cancel them and
    restart the debtor's sequence), and the plan is topped up to four to come after the last of them."""
    await outreach.deliver(await outreach.placed("K-1"), segmented("K-1", ("sms", "email"), cadence_days=3))
    assert await outreach.tick() == 1
    before = [tuple(r) for r in await outreach.sql(
        "SELECT id, sequence, channel, scheduled_at FROM outreach.attempts WHERE account_ref = 'K-1' "
        "AND status = 'scheduled' ORDER BY sequence")]
    assert [(seq, channel) for _, seq, channel, _ in before] == [(2, "email"), (3, "sms"), (4, "email")]
    outreach.clock.now += dt.timedelta(hours=2)
    await outreach.deliver(segmented("K-1", ("sms", "email"), cadence_days=3, offer="instalment_plan", discount=None)
                           .model_copy(update={"trigger": "strategy_change"}))
    after = [tuple(r) for r in await outreach.sql(
        "SELECT id, sequence, channel, scheduled_at FROM outreach.attempts WHERE account_ref = 'K-1' "
        "AND status = 'scheduled' ORDER BY sequence")]
    assert after[:3] == before  # the same attempts, at the same times
    [(_, sequence, channel, at)] = after[3:]
    assert (sequence, channel) == (5, "sms") and at > before[-1][3]
    assert await outreach.sql("SELECT count(*) FROM outreach.attempts WHERE account_ref = 'K-1' "
                              "AND status = 'cancelled'") == [(0,)]
    [(offer,)] = await outreach.sql("SELECT offer FROM outreach.treatments WHERE account_ref = 'K-1'")
    assert offer == "instalment_plan"  # what the messages to come say follows the decision
    history = (await outreach.http.get("/v1/clients/banco/accounts/K-1/contacts", headers=outreach.auth)).json()
    assert [t["kind"] for t in history["trail"]].count("cancelled") == 0
    # The same decision once more finds four to come: nothing to add.
    await outreach.deliver(segmented("K-1", ("sms", "email"), cadence_days=3))
    assert await outreach.sql("SELECT count(*) FROM outreach.attempts WHERE account_ref = 'K-1'") == [(5,)]
    # Another treatment still replaces the plan: its attempts to come are cancelled, a new sequence begins.
    await outreach.deliver(segmented("K-1", ("email",), cadence_days=5))
    rows = await outreach.sql("SELECT sequence, channel FROM outreach.attempts WHERE account_ref = 'K-1' "
                              "AND status = 'scheduled' ORDER BY sequence")
    assert [tuple(r) for r in rows] == [(1, "email"), (2, "email"), (3, "email"), (4, "email")]
    assert await outreach.sql("SELECT count(*) FROM outreach.attempts WHERE account_ref = 'K-1' "
                              "AND status = 'cancelled'") == [(4,)]


async def test_an_accounts_first_treatment_replaces_nothing_and_the_next_one_replaces_its_plan(
        outreach: Outreach) -> None:
    """A new portfolio's accounts get their first treatment: there is no earlier plan whose attempts could wait to
    be replaced, so none is looked for (a probe per account of every upload, which found nothing, #24). The next
    treatment of those accounts replaces the first one's attempts to come, as before."""
    replacing = "SELECT id, status, confirmation, sequence FROM outreach.attempts x"
    await outreach.deliver(*[await outreach.placed(f"F-{i}") for i in range(3)])
    with statements_run(outreach.platform.db, replacing) as seen:
        await outreach.deliver(*[segmented(f"F-{i}", ("sms",), cadence_days=3) for i in range(3)], together=True)
    assert seen == []
    assert await outreach.sql("SELECT count(*) FROM outreach.attempts WHERE account_ref LIKE 'F-%' "
                              "AND status = 'scheduled'") == [(12,)]
    with statements_run(outreach.platform.db, replacing) as seen:
        await outreach.deliver(*[segmented(f"F-{i}", ("email",), cadence_days=5) for i in range(3)], together=True)
    assert len(seen) == 1
    assert await outreach.sql("SELECT channel, status, count(*) FROM outreach.attempts WHERE account_ref LIKE 'F-%' "
                              "GROUP BY channel, status ORDER BY channel") == [
        ("email", "scheduled", 12), ("sms", "cancelled", 12)]


async def test_a_touch_being_sent_when_the_plan_is_topped_up_counts_as_one_to_come(outreach: Outreach) -> None:
    """A sender has claimed the next touch (status sending) when the same treatment is decided again: it is going
    out, so the plan is topped up to four with it counted, not to four besides it (five in the debtor's week), and
    it is not cancelled by the decision even on a channel the debtor withdrew since (the sender checks that)."""
    await outreach.deliver(await outreach.placed("S-1"), segmented("S-1", ("sms", "email"), cadence_days=3))
    assert await outreach.tick() == 1
    await outreach.sql("UPDATE outreach.attempts SET status = 'sending', sending_since = scheduled_at, "
                       "lease_until = scheduled_at + interval '5 minutes', claim_token = gen_random_uuid() "
                       "WHERE account_ref = 'S-1' AND sequence = 2 RETURNING id")
    outreach.clock.now += dt.timedelta(hours=2)
    await outreach.deliver(segmented("S-1", ("sms", "email"), cadence_days=3)
                           .model_copy(update={"trigger": "strategy_change"}))
    rows = await outreach.sql("SELECT sequence, status FROM outreach.attempts WHERE account_ref = 'S-1' "
                              "ORDER BY sequence")
    assert [tuple(r) for r in rows] == [(1, "delivered"), (2, "sending"), (3, "scheduled"), (4, "scheduled"),
                                        (5, "scheduled")]


async def test_while_sending_is_paused_attempts_stay_scheduled_and_go_out_when_it_resumes(outreach: Outreach) -> None:
    await outreach.deliver(await outreach.placed("A-1"))
    await outreach.deliver(segmented("A-1", ("sms",), cadence_days=3))
    outreach.settings.sending_paused = True
    assert await outreach.tick() == 0
    planned = await outreach.attempts("A-1")
    assert planned and {status for _, status in planned} == {"scheduled"}
    assert await outreach.sql("SELECT count(*) FROM outreach.sandbox_messages") == [(0,)]
    outreach.settings.sending_paused = False
    assert await outreach.tick() == 1
    assert (await outreach.attempts("A-1"))[0] == ("sms", "delivered")


async def test_a_new_treatment_finds_the_attempts_it_replaces_by_account_even_before_statistics(
        outreach: Outreach) -> None:
    """The pipeline's PostgreSQL time went to this statement (#24): right after a portfolio's attempts arrive, the
    table's statistics still say it is empty, and the planner scanned every scheduled attempt of the client
    company for each account of a batch. The statement outreach runs must go by account, then by id."""
    from outreach.planning import store as planning

    async with outreach.platform.db.transaction() as s:
        await s.execute(sqlalchemy.text(
            "INSERT INTO outreach.attempts (id, client_slug, account_ref, plan_id, channel, sequence, status, "
            "scheduled_at, created_at) SELECT gen_random_uuid(), 'banco', 'Q-' || (i / 4), gen_random_uuid(), "
            "'sms', i % 4 + 1, 'scheduled', now() + i * interval '1 minute', now() FROM generate_series(1, 20000) i"))
    with statements_run(outreach.platform.db, "UPDATE outreach.attempts") as seen:
        async with outreach.platform.db.transaction() as s:
            cancelled = await planning.cancel_scheduled_many(s, [("banco", f"Q-{i}", "test") for i in range(1, 1001)])
    assert len(cancelled) == 4000
    [(statement, parameters)] = seen
    shown = await plan_of(outreach.platform.db, statement, parameters)
    probes = re.findall(r'"Index Name": "(\w+)"', shown)
    assert probes[0] == "attempts_account" and "attempts_pkey" in probes, shown
    assert '"Seq Scan"' not in shown and '"Function Scan"' in shown, shown
