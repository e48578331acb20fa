"""A settlement paid by its deadline but known only after the evaluator broke it for want of news (real API and
PostgreSQL): the bank's statement brings the deposit the debtor made on the due date two days later. The settlement
is kept after all (arrangement.kept, account.settled, its instalment kept), and what the debtor paid after the
deadline meanwhile is a credit, as it would have been; a payment made after the deadline still forgives nothing,
and a settlement another arrangement followed stays broken."""

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import text

from payments.promises.handlers import evaluate_due_promises

from .conftest import Clock, Gateway, payment
from .test_deposits_recorded_by_hand import statement
from .test_instalment_plans import after_grace, plan_of

pytestmark = pytest.mark.integration
DUE = dt.date(2026, 4, 15)
ARRANGEMENTS = "/v1/clients/banco/accounts/A-1/arrangements"


async def settle_then_miss(gateway: Gateway, clock: Clock) -> None:
    """A-1 (100,000) settles for 70,000 by DUE; nothing is known paid when the evaluator runs after the grace day."""
    made = await gateway.http.post(ARRANGEMENTS, headers=gateway.as_operator(), json={
        "kind": "settlement", "instalments": [{"due_date": DUE.isoformat(), "amount": "70000.00"}]})
    assert made.status_code == 201, made.text
    clock.now = after_grace(DUE)
    assert await evaluate_due_promises(gateway.platform.db, now=clock.now) == {"kept": 0, "broken": 1}
    assert (await plan_of(gateway, "A-1"))["status"] == "broken"


async def events_of(gateway: Gateway) -> list[str]:
    async with gateway.platform.db.transaction() as s:
        found = (await s.execute(text(
            "SELECT envelope->>'type' FROM payments.outbox WHERE envelope->>'key' = 'banco/A-1' "
            "AND envelope->>'type' NOT IN ('payment.applied') ORDER BY id"))).scalars().all()
    return list(found)


async def test_a_deposit_made_on_the_due_date_brought_by_a_later_statement_keeps_it(
        clocked: tuple[Gateway, Clock]) -> None:
    gateway, clock = clocked
    await settle_then_miss(gateway, clock)
    assert await gateway.balance("A-1") == (Decimal("100000.00"), "open", Decimal("100000.00"))
    clock.now += dt.timedelta(hours=9)  # the statement is read the morning after the grace day
    body = await statement(gateway, "extracto.csv", f"{DUE:%d/%m/%Y};A-1;70.000,00;TX-900")
    assert [r["status"] for r in body["results"]] == ["applied"]
    assert await gateway.balance("A-1") == (Decimal("0.00"), "settled", Decimal("0.00"))
    plan = await plan_of(gateway, "A-1")
    assert (plan["status"], [i["status"] for i in plan["instalments"]]) == ("kept", ["kept"])
    assert await events_of(gateway) == ["arrangement.made", "promise.broken", "arrangement.broken", "promise.kept",
                                        "arrangement.kept", "account.settled"]


async def test_what_was_paid_after_the_deadline_meanwhile_is_a_credit(clocked: tuple[Gateway, Clock]) -> None:
    gateway, clock = clocked
    await settle_then_miss(gateway, clock)
    # Told the settlement was broken, the debtor pays 5,000 more through a gateway before the statement comes.
    clock.now += dt.timedelta(hours=2)
    assert (await gateway.send(payment("after-1", amount="5000.00", paid_at=clock.now.isoformat()), at=clock.now)
            ).json()["status"] == "applied"
    assert await gateway.balance("A-1") == (Decimal("95000.00"), "open", Decimal("95000.00"))
    body = await statement(gateway, "extracto.csv", f"{DUE:%d/%m/%Y};A-1;70.000,00;TX-901")
    assert [r["status"] for r in body["results"]] == ["applied"]
    # Settled for 70,000 in time: the 5,000 paid since is the debtor's credit, not a smaller discount.
    assert await gateway.balance("A-1") == (Decimal("-5000.00"), "settled", Decimal("-5000.00"))


async def test_a_deposit_made_after_the_deadline_or_a_settlement_followed_by_another_stays_broken(
        clocked: tuple[Gateway, Clock]) -> None:
    gateway, clock = clocked
    await settle_then_miss(gateway, clock)
    late = DUE + dt.timedelta(days=2)
    body = await statement(gateway, "tarde.csv", f"{late:%d/%m/%Y};A-1;70.000,00;TX-902")
    assert [r["status"] for r in body["results"]] == ["applied"]
    assert await gateway.balance("A-1") == (Decimal("30000.00"), "open", Decimal("30000.00"))
    assert (await plan_of(gateway, "A-1"))["status"] == "broken"
    # A second settlement is agreed; then a line of a deposit made in time for the first: the first stays broken
    # (the debtor agreed new terms since) and the line, received after the second was made, keeps that one.
    clock.now += dt.timedelta(minutes=10)
    again = await gateway.http.post(ARRANGEMENTS, headers=gateway.as_operator(), json={
        "kind": "settlement", "instalments": [{"due_date": "2026-04-30", "amount": "20000.00"}]})
    assert again.status_code == 201, again.text
    body = await statement(gateway, "extracto.csv", f"{DUE:%d/%m/%Y};A-1;70.000,00;TX-903")
    assert [r["status"] for r in body["results"]] == ["applied"]
    # 30,000 owed settled for 20,000 (10,000 forgiven), and 70,000 paid toward it: 50,000 beyond it is a credit.
    assert await gateway.balance("A-1") == (Decimal("-50000.00"), "settled", Decimal("-50000.00"))
    items = (await gateway.http.get(ARRANGEMENTS, headers=gateway.as_operator())).json()["items"]
    assert [(i["status"], i["total_amount"]) for i in items] == [("kept", "20000.00"), ("broken", "70000.00")]


async def test_only_a_payment_made_in_time_keeps_it_not_a_later_one(clocked: tuple[Gateway, Clock]) -> None:
    """A deposit made in time was applied to the whole balance before this rule (or while the account was recalled,
    as here): the settlement's in-time payments reach it, yet a payment made after the deadline does not revive
    it. Nor does the in-time line on a recalled account: the client company took it back."""
    gateway, clock = clocked
    await settle_then_miss(gateway, clock)
    async with gateway.platform.db.transaction() as s:
        await s.execute(text("UPDATE payments.accounts SET recalled = true WHERE account_ref = 'A-1'"))
    await statement(gateway, "extracto.csv", f"{DUE:%d/%m/%Y};A-1;70.000,00;TX-910")
    assert (await plan_of(gateway, "A-1"))["status"] == "broken"
    async with gateway.platform.db.transaction() as s:
        await s.execute(text("UPDATE payments.accounts SET recalled = false WHERE account_ref = 'A-1'"))
    clock.now += dt.timedelta(days=30)
    assert (await gateway.send(payment("later-1", amount="5000.00", paid_at=clock.now.isoformat()), at=clock.now)
            ).json()["status"] == "applied"
    assert (await plan_of(gateway, "A-1"))["status"] == "broken"
    assert await gateway.balance("A-1") == (Decimal("25000.00"), "open", Decimal("25000.00"))


async def test_an_account_with_money_written_off_is_left_to_the_operator(clocked: tuple[Gateway, Clock]) -> None:
    gateway, clock = clocked
    await settle_then_miss(gateway, clock)
    written = await gateway.http.post("/v1/clients/banco/accounts/A-1/write-off", json={"reason": "other"},
                                      headers={**gateway.as_operator(), "Idempotency-Key": "castigo-0920"})
    assert written.status_code == 200, written.text
    await statement(gateway, "extracto.csv", f"{DUE:%d/%m/%Y};A-1;70.000,00;TX-920")
    assert (await plan_of(gateway, "A-1"))["status"] == "broken"  # applied as any payment: it recovers
    assert (await gateway.balance("A-1"))[1] == "written_off"
