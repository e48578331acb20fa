"""Gateway webhooks through the real HTTP API and PostgreSQL: signed, applied exactly once (redelivered and
concurrent), forged/stale/replayed refused and recorded, secret rotation, refunds reopening the account,
and a suspense payment assigned by an operator."""

import asyncio
import datetime as dt
import json
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import text

from recaudo_common.bus.base import Message
from recaudo_common.bus.consumer import ConsumerRuntime
from recaudo_common.webhook_signatures import sign

from .conftest import NOW, READ_AT, Clock, Gateway, consumer, payment, placed

pytestmark = pytest.mark.integration


async def test_applied_once_whatever_the_redelivery(gateway: Gateway) -> None:
    first = await gateway.send(payment("pg-1"))
    assert (first.status_code, first.json()["status"]) == (200, "applied")
    again = await gateway.send(payment("pg-1"), secret="old")  # redelivered, signed with the older secret
    assert again.json()["status"] == "duplicate"
    racing = await asyncio.gather(*(gateway.send(payment("pg-2")) for _ in range(6)))
    assert sorted(r.json()["status"] for r in racing) == ["applied"] + ["duplicate"] * 5
    assert await gateway.balance("A-1") == (Decimal("40000.00"), "open", Decimal("40000.00"))


async def test_forged_stale_and_replayed_signatures_are_refused_and_recorded(gateway: Gateway) -> None:
    forged = await gateway.send(payment("pg-3"), secret="guessed")
    stale = await gateway.send(payment("pg-4"), at=NOW - dt.timedelta(minutes=6))
    raw = json.dumps(payment("pg-5")).encode()
    replayed = await gateway.send(payment("pg-5", amount="99999.00"), signature=sign(raw, "new", NOW))
    missing = await gateway.send(payment("pg-6"), signature="")
    assert [r.status_code for r in (forged, stale, replayed, missing)] == [401] * 4
    assert [r.json()["code"] for r in (forged, stale, replayed, missing)] == [
        "bad_signature", "stale_signature", "bad_signature", "missing_signature"]
    listed = await gateway.http.get("/v1/webhooks/payments/rejections",
                                    headers={"Authorization": f"Bearer {gateway.operator}"})
    # Counted per (gateway, source, reason), the latest first: the forged and the replayed one share a row.
    assert [(r["gateway"], r["reason"], r["count"]) for r in listed.json()["items"]] == [
        ("pasarela", "missing_signature", 1), ("pasarela", "stale_signature", 1), ("pasarela", "bad_signature", 2)]
    assert await gateway.balance("A-1") == (Decimal("100000.00"), "open", Decimal("100000.00"))
    bad_body = await gateway.send({"payment_id": "pg-7", "client": "banco", "amount": "-1"})
    assert (bad_body.status_code, bad_body.json()["code"]) == (422, "invalid_webhook")


async def test_a_signed_notification_refused_is_recorded_for_operators_too(gateway: Gateway) -> None:
    """A notification refused after its signature verified: one whose id was sent before with another amount, a
    refund of a payment never sent or of more than it, a body of another shape. Nothing is stored or applied, and
    each is counted where an operator reads the refused webhooks. (One in another currency is no refusal: it waits
    in suspense, test_webhook_currency_mismatch.)"""
    assert (await gateway.send(payment("pr-1"))).json()["status"] == "applied"
    refused = [await gateway.send(payment("pr-1", amount="31000.00")),
               await gateway.send({**payment("pr-3"), "type": "refund", "refers_to": "nunca"}),
               await gateway.send({**payment("pr-4", amount="30000.01"), "type": "refund", "refers_to": "pr-1"}),
               await gateway.send({**payment("pr-5"), "amount": "-1"})]
    assert [(r.status_code, r.json()["code"]) for r in refused] == [
        (409, "gateway_id_reused"), (422, "unknown_payment"),
        (422, "reversal_exceeds_payment"), (422, "invalid_webhook")]
    listed = await gateway.http.get("/v1/webhooks/payments/rejections", headers=gateway.as_operator())
    assert sorted((r["gateway"], r["reason"], r["count"]) for r in listed.json()["items"]) == [
        ("pasarela", "gateway_id_reused", 1), ("pasarela", "invalid_webhook", 1),
        ("pasarela", "reversal_exceeds_payment", 1), ("pasarela", "unknown_payment", 1)]
    assert await gateway.balance("A-1") == (Decimal("70000.00"), "open", Decimal("70000.00"))


async def test_a_key_limited_to_some_client_companies_sees_only_their_gateway_accounts_refusals(
        gateway: Gateway) -> None:
    from payments.records import RejectionSample
    from payments.rejections_store import record_webhook_rejection

    async with gateway.platform.db.transaction() as s:
        for gw in ("wompi/banco/principal", "wompi/otro-banco/principal", "pasarela"):
            await record_webhook_rejection(s, gateway=gw, reason="bad_signature", source="203.0.113.9",
                                           sample=RejectionSample(body_bytes=2, body_sha256="x", signature_header_chars=0),
                                           now=NOW, max_rows=100)
    _, scoped = await gateway.platform.keys.create(role="operator", client_scope=["banco"], now=NOW)
    seen = {}
    for key in (gateway.operator, scoped):
        listed = await gateway.http.get("/v1/webhooks/payments/rejections", headers={"Authorization": f"Bearer {key}"})
        assert listed.status_code == 200, listed.text
        seen[key] = sorted(r["gateway"] for r in listed.json()["items"])
    assert seen[gateway.operator] == ["pasarela", "wompi/banco/principal", "wompi/otro-banco/principal"]
    assert seen[scoped] == ["wompi/banco/principal"]


async def test_full_payment_then_refund_reopens_and_unmatched_is_assigned(gateway: Gateway) -> None:
    paid = await gateway.send(payment("pg-8", amount="100000.00"))
    assert paid.json()["status"] == "applied"
    assert (await gateway.balance("A-1"))[1] == "paid"
    in_dollars = {**payment("rf-0", amount="10.00"), "type": "refund", "refers_to": "pg-8", "currency": "USD"}
    refused = await gateway.send(in_dollars)  # 10 dollars are not 10 pesos
    assert (refused.status_code, refused.json()["code"]) == (422, "invalid_currency")
    assert (await gateway.balance("A-1"))[1] == "paid"
    refund = {**payment("rf-1", amount="100000.00"), "type": "refund", "refers_to": "pg-8"}
    assert (await gateway.send(refund)).json()["status"] == "reversed"
    assert (await gateway.send(refund)).json()["status"] == "duplicate"
    assert await gateway.balance("A-1") == (Decimal("100000.00"), "open", Decimal("100000.00"))
    stray = await gateway.send(payment("pg-9", ref="NO-EXISTE", amount="40000.00"))
    assert stray.json()["status"] == "unmatched"
    # 10,000 of it refunded while it waits: recorded against it, so only 30,000 is left to assign.
    partly = {**payment("rf-9", amount="10000.00"), "type": "refund", "refers_to": "pg-9"}
    assert [(await gateway.send(partly)).json()["status"] for _ in range(2)] == ["reversed", "duplicate"]
    operator = {"Authorization": f"Bearer {gateway.operator}"}
    queue = (await gateway.http.get("/v1/clients/banco/payments/unmatched", headers=operator)).json()["items"]
    assert len(queue) == 1 and (queue[0]["reason"], queue[0]["amount"]) == ("unknown_account_ref", "30000.00")
    assigned = await gateway.http.post(f"/v1/clients/banco/payments/unmatched/{queue[0]['id']}/assign",
                                       json={"account_ref": "A-2"}, headers=operator)
    assert (assigned.status_code, assigned.json()["status"]) == (200, "applied")
    assert await gateway.balance("A-2") == (Decimal("70000.00"), "open", Decimal("70000.00"))
    assert (await gateway.http.get("/v1/clients/banco/payments/unmatched", headers=operator)).json()["items"] == []
    manual_reversal = await gateway.http.post(f"/v1/clients/banco/payments/{queue[0]['id']}/reversal",
                                              json={"reason": "cheque devuelto"},
                                              headers={**operator, "Idempotency-Key": "cheque-devuelto-0001"})
    assert manual_reversal.json()["status"] == "reversed"
    assert await gateway.balance("A-2") == (Decimal("100000.00"), "open", Decimal("100000.00"))


async def test_a_refund_of_more_than_is_left_of_a_payment_in_suspense_is_refused_as_for_an_applied_one(
        gateway: Gateway) -> None:
    """40,000 waiting in suspense: a refund of 50,000 is not taken as one of 40,000 (the other 10,000 would be
    unaccounted for); it is refused, and recorded for operators, as a refund of more than an applied payment is."""
    assert (await gateway.send(payment("pg-7", ref="NO-EXISTE", amount="40000.00"))).json()["status"] == "unmatched"
    too_much = await gateway.send({**payment("rf-7", amount="50000.00"), "type": "refund", "refers_to": "pg-7"})
    assert (too_much.status_code, too_much.json()["code"]) == (422, "reversal_exceeds_payment"), too_much.text
    assert "40000.00" in too_much.json()["detail"]
    partly = await gateway.send({**payment("rf-8", amount="10000.00"), "type": "refund", "refers_to": "pg-7"})
    assert partly.json()["status"] == "reversed"
    rest = await gateway.send({**payment("rf-9", amount=None), "type": "refund", "refers_to": "pg-7"})
    assert rest.json()["status"] == "reversed"
    async with gateway.platform.db.transaction() as s:
        taken = (await s.execute(text("SELECT amount FROM payments.reversals ORDER BY reversed_at, amount"))).scalars()
        assert sorted(taken) == [Decimal("10000.00"), Decimal("30000.00")]
        assert await s.scalar(text("SELECT status FROM payments.payments WHERE external_id = 'pg-7'")) == "reversed"
    listed = await gateway.http.get("/v1/webhooks/payments/rejections", headers=gateway.as_operator())
    assert [r["reason"] for r in listed.json()["items"]] == ["reversal_exceeds_payment"]


async def test_promises_kept_at_the_edge_of_the_grace_day_and_broken_one_minute_after(
        clocked: tuple[Gateway, Clock]) -> None:
    gateway, clock = clocked
    import zoneinfo

    from payments.promises.handlers import evaluate_due_promises
    from recaudo_common.events import PromiseMade

    bogota = zoneinfo.ZoneInfo("America/Bogota")
    promises = [PromiseMade(promise_id=uuid.uuid4(), account_ref=ref, amount=Decimal("50000"),
                            due_date=dt.date(2026, 4, 10), source="agent", made_at=NOW) for ref in ("A-1", "A-2")]
    runtime = ConsumerRuntime(gateway.platform.db, gateway.platform.transport, consumer(gateway.platform), "t",
                              lambda: NOW)
    await runtime.handle_batch([Message("t", p.key("banco"), p.envelope(client="banco", occurred_at=NOW), {})
                                for p in promises])
    last_minute = dt.datetime(2026, 4, 11, 23, 59, tzinfo=bogota)
    partial = await gateway.send(payment("pp-1", amount="30000.00", paid_at=NOW.isoformat()))
    assert partial.json()["status"] == "applied"
    assert await evaluate_due_promises(gateway.platform.db, now=last_minute) == {"kept": 0, "broken": 0}
    # The rest arrives in the last minute of the grace day: kept, decided on the payment itself.
    clock.now = last_minute
    await gateway.send(payment("pp-2", amount="20000.00", paid_at=last_minute.isoformat()), at=last_minute)
    one_minute_after = dt.datetime(2026, 4, 12, 0, 1, tzinfo=bogota)
    assert await evaluate_due_promises(gateway.platform.db, now=one_minute_after) == {"kept": 0, "broken": 1}
    async with gateway.platform.db.transaction() as s:
        verdicts = dict((await s.execute(text("SELECT account_ref, status FROM payments.promises"))).all())
        emitted = sorted(r[0] for r in await s.execute(text(
            "SELECT envelope->>'type' FROM payments.outbox WHERE envelope->>'type' LIKE 'promise.%'")))
    assert verdicts == {"A-1": "kept", "A-2": "broken"}
    assert emitted == ["promise.broken", "promise.kept"]


async def test_bank_files_apply_each_payment_once(clocked: tuple[Gateway, Clock]) -> None:
    gateway, clock = clocked
    clock.now = READ_AT  # after the days the statements say were paid
    operator = {"Authorization": f"Bearer {gateway.operator}"}
    statement = ("Fecha;Referencia;Valor;Comprobante\n"
                 "05/04/2026;A-1;10.000,00;TX-1\n"
                 "05/04/2026;A-2;5.000,50;TX-2\n"
                 "06/04/2026;NO-EXISTE;1.000;TX-3\n"
                 "31/02/2026;A-1;1.000;TX-4\n"
                 "06/04/2026;A-1;abc;TX-5\n").encode("cp1252")
    first = await gateway.http.post("/v1/clients/banco/payments/files", files={"file": ("extracto.csv", statement)},
                                    headers=operator)
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["counts"] == {"applied": 2, "unmatched": 1, "duplicate": 0, "rejected": 2}
    assert [(r["row"], r["status"]) for r in body["results"]] == [
        (2, "applied"), (3, "applied"), (4, "unmatched"), (5, "rejected"), (6, "rejected")]
    assert [r.get("reason") for r in body["results"]][3:] == ["invalid_date", "invalid_amount"]
    again = await gateway.http.post("/v1/clients/banco/payments/files", files={"file": ("extracto.csv", statement)},
                                    headers=operator)
    assert (again.status_code, again.json()["id"]) == (200, body["id"])
    overlapping = "Fecha;Referencia;Valor;Comprobante\n05/04/2026;A-1;10.000,00;TX-1\n07/04/2026;A-1;2.000;TX-6\n"
    later = (await gateway.http.post("/v1/clients/banco/payments/files",
                                     files={"file": ("extracto-2.csv", overlapping.encode())}, headers=operator)).json()
    assert later["counts"] == {"applied": 1, "unmatched": 0, "duplicate": 1, "rejected": 0}
    assert await gateway.balance("A-1") == (Decimal("88000.00"), "open", Decimal("88000.00"))
    assert (await gateway.balance("A-2"))[0] == Decimal("94999.50")
    # A receipt number booked before for another amount or day is no duplicate to drop: refused, and said so.
    reused = "Fecha;Referencia;Valor;Comprobante\n09/04/2026;A-2;7.000;TX-2\n"
    refused = (await gateway.http.post("/v1/clients/banco/payments/files",
                                       files={"file": ("extracto-3.csv", reused.encode())}, headers=operator)).json()
    assert refused["counts"] == {"applied": 0, "unmatched": 0, "duplicate": 0, "rejected": 1}
    assert (refused["results"][0]["reason"], refused["results"][0]["transaction_id"]) == ("transaction_id_reused",
                                                                                          "TX-2")
    assert (await gateway.balance("A-2"))[0] == Decimal("94999.50")


async def test_a_settlement_paid_in_full_closes_the_account_as_settled(gateway: Gateway) -> None:
    operator = {"Authorization": f"Bearer {gateway.operator}"}
    url = "/v1/clients/banco/accounts/A-1/arrangements"
    too_generous = await gateway.http.post(url, headers=operator, json={
        "kind": "settlement", "instalments": [{"due_date": "2026-04-15", "amount": "50000.00"}]})
    assert too_generous.status_code == 422 and "40.00% discount limit" in too_generous.json()["detail"]
    made = await gateway.http.post(url, headers=operator, json={
        "kind": "settlement", "instalments": [{"due_date": "2026-04-15", "amount": "70000.00"}]})
    assert made.status_code == 201, made.text
    assert (await gateway.http.post(url, headers=operator, json={
        "kind": "settlement", "instalments": [{"due_date": "2026-04-15", "amount": "70000.00"}]})).status_code == 409
    await gateway.send(payment("st-1", amount="40000.00"))
    assert (await gateway.balance("A-1"))[1] == "open"
    settled = await gateway.send(payment("st-2", amount="30000.00"))
    assert settled.json()["status"] == "applied"
    assert await gateway.balance("A-1") == (Decimal("0.00"), "settled", Decimal("0.00"))
    async with gateway.platform.db.transaction() as s:
        types = [r[0] for r in await s.execute(text(
            "SELECT envelope->>'type' FROM payments.outbox WHERE envelope->>'key' = 'banco/A-1' ORDER BY id"))]
    assert types[-4:] == ["arrangement.kept", "account.settled", "promise.kept", "payment.applied"]
    assert types.count("arrangement.kept") == 1 and "arrangement.made" in types


async def test_an_instalment_plan_breaks_at_the_second_missed_instalment(gateway: Gateway) -> None:
    import zoneinfo

    from payments.promises.handlers import evaluate_due_promises

    operator = {"Authorization": f"Bearer {gateway.operator}"}
    plan = {"kind": "instalment_plan", "instalments": [{"due_date": "2026-04-10", "amount": "30000.00"},
                                                       {"due_date": "2026-05-10", "amount": "30000.00"},
                                                       {"due_date": "2026-06-10", "amount": "40000.00"}]}
    assert (await gateway.http.post("/v1/clients/banco/accounts/A-2/arrangements", json=plan,
                                    headers=operator)).status_code == 201
    await gateway.send(payment("in-1", ref="A-2", amount="30000.00"))  # the first instalment, on time
    bogota = zoneinfo.ZoneInfo("America/Bogota")
    after_may = dt.datetime(2026, 5, 12, 0, 1, tzinfo=bogota)
    assert await evaluate_due_promises(gateway.platform.db, now=after_may) == {"kept": 0, "broken": 1}
    async with gateway.platform.db.transaction() as s:
        assert await s.scalar(text("SELECT status FROM payments.arrangements WHERE account_ref = 'A-2'")) == "active"
    after_june = dt.datetime(2026, 6, 12, 0, 1, tzinfo=bogota)
    assert await evaluate_due_promises(gateway.platform.db, now=after_june) == {"kept": 0, "broken": 1}
    async with gateway.platform.db.transaction() as s:
        assert await s.scalar(text("SELECT status FROM payments.arrangements WHERE account_ref = 'A-2'")) == "broken"
        statuses = sorted(r[0] for r in await s.execute(text(
            "SELECT status FROM payments.promises WHERE account_ref = 'A-2'")))
        broken_events = await s.scalar(text(
            "SELECT count(*) FROM payments.outbox WHERE envelope->>'type' = 'arrangement.broken'"))
    assert statuses == ["broken", "broken", "kept"] and broken_events == 1


@pytest.mark.parametrize("seed", range(8))
async def test_any_sequence_keeps_the_ledger_identity(gateway: Gateway, seed: int) -> None:
    """Randomised sequences (seeded, so a failure replays) of payments, redeliveries, refunds and restatements
    through the real API: balance = placed + adjustments - applied + reversed, and every (gateway, payment_id)
    counts once. The same identity over arbitrary amounts is a hypothesis test in tests/unit."""
    import random

    from recaudo_common.events import AccountUpdated

    rnd = random.Random(seed)
    runtime = ConsumerRuntime(gateway.platform.db, gateway.platform.transport, consumer(gateway.platform), "t",
                              lambda: NOW)
    for round_ in range(3):
        ref, stated = f"P-{seed}-{round_}", Decimal("100000.00")
        placement = await placed(gateway.platform, ref, f"{stated}", debtor_id="9")
        await runtime.handle_batch([Message("t", placement.key("banco"),
                                            placement.envelope(client="banco", occurred_at=NOW), {})])
        applied: dict[str, Decimal] = {}
        reversed_ids: set[str] = set()
        adjustments = Decimal(0)
        for _ in range(rnd.randint(1, 12)):
            action, pid = rnd.choice(["pay", "pay", "redeliver", "reverse", "restate"]), f"{ref}-pay-{rnd.randint(1, 6)}"
            if action == "pay" or (action == "redeliver" and pid in applied):
                amount = applied.get(pid, Decimal(rnd.randint(1, 40_000)))
                answer = (await gateway.send(payment(pid, ref=ref, amount=f"{amount:.2f}"))).json()["status"]
                if pid in applied:
                    assert answer == "duplicate"
                else:
                    assert answer == "applied"
                    applied[pid] = amount
            elif action == "reverse" and pid in applied and pid not in reversed_ids:
                refund = {**payment(f"{pid}-refund", ref=ref, amount=f"{applied[pid]:.2f}"), "type": "refund",
                          "refers_to": pid}
                assert (await gateway.send(refund)).json()["status"] == "reversed"
                reversed_ids.add(pid)
            elif action == "restate":
                value = Decimal(rnd.randint(50_000, 150_000))
                updated = AccountUpdated(**{**placement.model_dump(), "balance": value}, previous_balance=stated)
                await runtime.handle_batch([Message("t", updated.key("banco"),
                                                    updated.envelope(client="banco", occurred_at=NOW), {})])
                adjustments += value - stated
                stated = value
        expected = Decimal("100000.00") + adjustments - sum(applied.values(), Decimal(0)) + sum(
            (applied[p] for p in reversed_ids), Decimal(0))
        balance, _, ledger = await gateway.balance(ref)
        assert balance == ledger == expected
        async with gateway.platform.db.transaction() as s:
            counted = await s.scalar(text("SELECT count(*) FROM payments.payments WHERE account_ref = :r"), {"r": ref})
        assert counted == len(applied)


async def test_link_token_matching_and_overpayment_kept_as_credit(gateway: Gateway) -> None:
    from recaudo_common.payment_links import make_token

    secret = gateway.platform.settings.link_secret
    token = make_token(client="banco", account_ref="A-2", expires_at=NOW + dt.timedelta(days=7), secret=secret)
    via_link = await gateway.send(payment("lk-1", ref=None, amount="130000.00", link_token=token))
    assert via_link.json()["status"] == "applied"
    balance, status, ledger = await gateway.balance("A-2")
    assert (balance, status, ledger) == (Decimal("-30000.00"), "paid", Decimal("-30000.00"))  # a credit of 30,000
    forged = await gateway.send(payment("lk-2", ref=None, amount="10.00", link_token=token[:-2] + "xx"))
    assert forged.json()["status"] == "unmatched"
