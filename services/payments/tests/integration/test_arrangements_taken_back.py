"""Money toward a kept arrangement taken back, on payments' real API and PostgreSQL: a settlement whose payment is
refunded (or reversed by an operator) was not reached after all, so its forgiven discount is owed again and it is
broken; what still reaches it leaves it kept; an instalment plan whose last instalment is charged back is broken too.
The ledger still adds up to the balance every time."""

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from .conftest import NOW, Clock, Gateway, payment

pytestmark = pytest.mark.integration
URL = "/v1/clients/banco/accounts/{ref}/arrangements"


async def agree(gateway: Gateway, ref: str, kind: str, *instalments: tuple[str, str]) -> None:
    body = {"kind": kind, "instalments": [{"due_date": d, "amount": a} for d, a in instalments]}
    made = await gateway.http.post(URL.format(ref=ref), json=body, headers=gateway.as_operator())
    assert made.status_code == 201, made.text


async def latest(gateway: Gateway, ref: str) -> dict[str, Any]:
    answer = await gateway.http.get(URL.format(ref=ref), headers=gateway.as_operator())
    found: dict[str, Any] = answer.json()["items"][0]
    return found


async def events(gateway: Gateway, ref: str, prefix: str) -> list[dict[str, Any]]:
    async with gateway.platform.db.transaction() as s:
        rows = (await s.execute(text(
            "SELECT envelope FROM payments.outbox WHERE envelope->>'type' LIKE :p AND envelope->>'key' = :k "
            "ORDER BY id"), {"p": f"{prefix}%", "k": f"banco/{ref}"})).scalars().all()
    return list(rows)


async def applied_id(gateway: Gateway, external_id: str) -> str:
    async with gateway.platform.db.transaction() as s:
        found = await s.scalar(text("SELECT id FROM payments.payments WHERE external_id = :x"), {"x": external_id})
    return str(found)


async def test_a_settlement_refunded_owes_its_discount_again_and_is_broken(gateway: Gateway) -> None:
    await agree(gateway, "A-1", "settlement", ("2026-04-15", "70000.00"))
    assert (await gateway.send(payment("s-1", amount="70000.00"))).json()["status"] == "applied"
    assert await gateway.balance("A-1") == (Decimal("0.00"), "settled", Decimal("0.00"))
    assert (await latest(gateway, "A-1"))["status"] == "kept"

    # The gateway gives 20,000 of it back: 50,000 paid does not reach the settlement's 70,000.
    refund = {**payment("rf-1", amount="20000.00"), "type": "refund", "refers_to": "s-1"}
    assert (await gateway.send(refund)).json()["status"] == "reversed"
    # 100,000 placed, 50,000 paid: the 30,000 discount is owed again with the 20,000 refunded.
    assert await gateway.balance("A-1") == (Decimal("50000.00"), "open", Decimal("50000.00"))
    assert (await latest(gateway, "A-1"))["status"] == "broken"
    arrangement_events = [e["type"] for e in await events(gateway, "A-1", "arrangement.")]
    assert arrangement_events == ["arrangement.made", "arrangement.kept", "arrangement.broken"]
    broken = (await events(gateway, "A-1", "arrangement.broken"))[0]["payload"]
    assert broken["missed_instalments"] == 1
    reversed_ = (await events(gateway, "A-1", "payment.reversed"))[0]["payload"]
    assert (reversed_["new_balance"], reversed_["account_status"]) == ("50000.00", "open")

    # The rest of the payment given back changes nothing more about the settlement: the discount is owed once.
    rest = {**payment("rf-2", amount="50000.00"), "type": "refund", "refers_to": "s-1"}
    assert (await gateway.send(rest)).json()["status"] == "reversed"
    assert await gateway.balance("A-1") == (Decimal("100000.00"), "open", Decimal("100000.00"))
    assert [e["type"] for e in await events(gateway, "A-1", "arrangement.")][-1] == "arrangement.broken"
    # Broken, it no longer stands in the way of another arrangement.
    await agree(gateway, "A-1", "settlement", ("2026-04-20", "80000.00"))


async def test_an_overpaid_settlement_partly_reversed_still_reached_stays_kept(gateway: Gateway) -> None:
    await agree(gateway, "A-2", "settlement", ("2026-04-15", "70000.00"))
    assert (await gateway.send(payment("s-2", ref="A-2", amount="75000.00"))).json()["status"] == "applied"
    assert (await gateway.balance("A-2"))[1] == "settled"
    reversed_ = await gateway.http.post(f"/v1/clients/banco/payments/{await applied_id(gateway, 's-2')}/reversal",
                                        json={"reason": "pagó de más", "amount": "5000.00"},
                                        headers={**gateway.as_operator(), "Idempotency-Key": "devolucion-0001"})
    assert reversed_.status_code == 200, reversed_.text
    # 70,000 still paid by the deadline: the settlement stands, and the account owes nothing.
    assert (await latest(gateway, "A-2"))["status"] == "kept"
    assert await gateway.balance("A-2") == (Decimal("0.00"), "settled", Decimal("0.00"))
    assert [e["type"] for e in await events(gateway, "A-2", "arrangement.")] == [
        "arrangement.made", "arrangement.kept"]


async def test_a_payment_from_before_the_settlement_given_back_is_owed_again(clocked: tuple[Gateway, Clock]) -> None:
    gateway, clock = clocked
    clock.now = NOW - dt.timedelta(days=2)
    early = payment("e-1", ref="A-2", amount="10000.00", paid_at=clock.now.isoformat())
    assert (await gateway.send(early, at=clock.now)).json()["status"] == "applied"
    clock.now = NOW
    await agree(gateway, "A-2", "settlement", ("2026-04-15", "63000.00"))  # 90,000 owed, 30 % off
    assert (await gateway.send(payment("s-3", ref="A-2", amount="63000.00"))).json()["status"] == "applied"
    assert (await gateway.balance("A-2"))[:2] == (Decimal("0.00"), "settled")
    cheque = await gateway.http.post(f"/v1/clients/banco/payments/{await applied_id(gateway, 'e-1')}/reversal",
                                     json={"reason": "cheque devuelto"},
                                     headers={**gateway.as_operator(), "Idempotency-Key": "cheque-0001"})
    assert cheque.status_code == 200, cheque.text
    # The settlement's terms counted those 10,000 paid: they are owed again; the settlement itself was reached.
    assert await gateway.balance("A-2") == (Decimal("10000.00"), "open", Decimal("10000.00"))
    assert (await latest(gateway, "A-2"))["status"] == "kept"


async def test_a_kept_plan_whose_last_instalment_is_charged_back_is_broken(gateway: Gateway) -> None:
    await agree(gateway, "A-1", "instalment_plan", ("2026-04-10", "50000.00"), ("2026-05-10", "50000.00"))
    for pid in ("i-1", "i-2"):
        assert (await gateway.send(payment(pid, amount="50000.00"))).json()["status"] == "applied"
    assert (await latest(gateway, "A-1"))["status"] == "kept"
    assert (await gateway.balance("A-1"))[:2] == (Decimal("0.00"), "paid")
    chargeback = {**payment("cb-1", amount="50000.00", paid_at=(NOW + dt.timedelta(days=3)).isoformat()),
                  "type": "chargeback", "refers_to": "i-2"}
    assert (await gateway.send(chargeback)).json()["status"] == "reversed"
    assert await gateway.balance("A-1") == (Decimal("50000.00"), "open", Decimal("50000.00"))
    assert (await latest(gateway, "A-1"))["status"] == "broken"
    broken = (await events(gateway, "A-1", "arrangement.broken"))[0]["payload"]
    assert broken["missed_instalments"] == 1


async def test_a_duplicate_payment_refunded_from_a_settled_accounts_credit_forgives_nothing(gateway: Gateway) -> None:
    await agree(gateway, "A-2", "settlement", ("2026-04-15", "70000.00"))
    for pid in ("s-5", "s-6"):  # the second: the debtor paid twice
        assert (await gateway.send(payment(pid, ref="A-2", amount="70000.00"))).json()["status"] == "applied"
    assert await gateway.balance("A-2") == (Decimal("-70000.00"), "settled", Decimal("-70000.00"))  # a credit
    refund = {**payment("rf-6", ref="A-2", amount="70000.00"), "type": "refund", "refers_to": "s-6"}
    assert (await gateway.send(refund)).json()["status"] == "reversed"
    # Given back out of the credit: the account owes nothing and holds nothing; no more discount was forgiven.
    assert await gateway.balance("A-2") == (Decimal("0.00"), "settled", Decimal("0.00"))
    async with gateway.platform.db.transaction() as s:
        forgiven = await s.scalar(text("SELECT forgiven FROM payments.arrangements WHERE account_ref = 'A-2'"))
    assert forgiven == Decimal("30000.00")


async def test_a_kept_plans_instalments_taken_back_are_no_longer_kept(clocked: tuple[Gateway, Clock]) -> None:
    # A plan of 3 paid at once is kept; on 20 May (the second instalment's grace day gone, the third's not yet due)
    # the 66,666.67 that paid the last two is reversed: the second is broken, the third cancelled as a broken plan's
    # pending instalments are; the first, still paid, stays kept. Each verdict is announced.
    gateway, clock = clocked
    await agree(gateway, "A-1", "instalment_plan", ("2026-04-10", "33333.33"), ("2026-05-10", "33333.33"),
                ("2026-06-10", "33333.34"))
    assert (await gateway.send(payment("q-1", amount="33333.33"))).json()["status"] == "applied"
    assert (await gateway.send(payment("q-2", amount="66666.67"))).json()["status"] == "applied"
    assert (await latest(gateway, "A-1"))["status"] == "kept"
    clock.now = dt.datetime(2026, 5, 20, 15, 0, tzinfo=dt.UTC)
    reversed_ = await gateway.http.post(f"/v1/clients/banco/payments/{await applied_id(gateway, 'q-2')}/reversal",
                                        json={"reason": "cheque devuelto"},
                                        headers={**gateway.as_operator(), "Idempotency-Key": "cheque-0002"})
    assert reversed_.status_code == 200, reversed_.text
    plan = await latest(gateway, "A-1")
    assert plan["status"] == "broken"
    assert [(i["paid"], i["status"]) for i in plan["instalments"]] == [
        ("33333.33", "kept"), ("0.00", "broken"), ("0.00", "cancelled")]
    broken = (await events(gateway, "A-1", "arrangement.broken"))[0]["payload"]
    assert broken["missed_instalments"] == 2
    verdicts = {e["payload"]["promise_id"]: e["type"] for e in await events(gateway, "A-1", "promise.")}
    ids = [i["promise_id"] for i in plan["instalments"]]
    assert [verdicts[ids[1]], verdicts[ids[2]]] == ["promise.broken", "promise.cancelled"]
    assert verdicts[ids[0]] == "promise.kept"
