"""A settlement paid beyond its amount, on payments' real API and PostgreSQL: what was paid over the settlement is
the debtor's credit, as any overpayment's excess is (the ledger, the balance and payment.applied say so), whether the
payment reaching it came in one or after another, or arrived after the evaluator broke the settlement for want of
news; only the discount is forgiven."""

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import text

from .conftest import NOW, Clock, Gateway, payment
from .test_arrangements_taken_back import agree
from .test_deposits_recorded_by_hand import statement
from .test_settlements_paid_in_time import DUE, settle_then_miss

pytestmark = pytest.mark.integration


async def forgiven(gateway: Gateway, ref: str) -> Decimal:
    async with gateway.platform.db.transaction() as s:
        found = await s.scalar(text("SELECT forgiven FROM payments.arrangements WHERE account_ref = :r"), {"r": ref})
    return Decimal(found)


async def test_a_settlement_paid_beyond_its_amount_keeps_the_excess_as_a_credit(gateway: Gateway) -> None:
    await agree(gateway, "A-1", "settlement", ("2026-04-15", "70000.00"))
    applied = await gateway.manual("finiquito-0001", {"account_ref": "A-1", "amount": "75000.00",
                                                      "paid_at": "2026-03-31T14:00:00+00:00"})
    assert applied.status_code == 200, applied.text
    assert (applied.json()["new_balance"], applied.json()["credit"], applied.json()["account_status"]) == (
        "-5000.00", "5000.00", "settled")
    # 100,000 placed, 75,000 paid, the settlement's 30,000 discount forgiven: 5,000 is the debtor's.
    assert await gateway.balance("A-1") == (Decimal("-5000.00"), "settled", Decimal("-5000.00"))
    assert await forgiven(gateway, "A-1") == Decimal("30000.00")


async def test_a_settlement_reached_by_a_second_payment_beyond_it_keeps_the_excess(gateway: Gateway) -> None:
    await agree(gateway, "A-2", "settlement", ("2026-04-15", "70000.00"))
    assert (await gateway.send(payment("p-1", ref="A-2", amount="50000.00"))).json()["status"] == "applied"
    assert (await gateway.send(payment("p-2", ref="A-2", amount="30000.00"))).json()["status"] == "applied"
    assert await gateway.balance("A-2") == (Decimal("-10000.00"), "settled", Decimal("-10000.00"))


async def test_a_broken_settlement_kept_by_a_late_statement_beyond_it_keeps_the_excess(
        clocked: tuple[Gateway, Clock]) -> None:
    gateway, clock = clocked
    await settle_then_miss(gateway, clock)
    body = await statement(gateway, "extracto.csv", f"{DUE:%d/%m/%Y};A-1;72.000,00;TX-930")
    assert [r["status"] for r in body["results"]] == ["applied"]
    assert await gateway.balance("A-1") == (Decimal("-2000.00"), "settled", Decimal("-2000.00"))
    assert await forgiven(gateway, "A-1") == Decimal("30000.00")


async def test_a_payment_booked_before_the_settlement_is_no_excess_over_it(clocked: tuple[Gateway, Clock]) -> None:
    """A payment dated a few minutes ahead (within the clocks' tolerance) counts toward a settlement made in those
    minutes, but the balance the settlement was made on had already taken it: it is no money paid beyond it."""
    gateway, clock = clocked
    early = await gateway.manual("adelantado-0001", {"account_ref": "A-2", "amount": "30000.00",
                                                     "paid_at": (NOW + dt.timedelta(minutes=3)).isoformat()})
    assert early.json()["new_balance"] == "70000.00", early.text
    clock.now = NOW + dt.timedelta(minutes=1)
    await agree(gateway, "A-2", "settlement", ("2026-04-15", "49000.00"))  # 70,000 owed, 30 % off
    paid = await gateway.manual("finiquito-0002", {"account_ref": "A-2", "amount": "49000.00",
                                                   "paid_at": clock.now.isoformat()})
    assert (paid.json()["new_balance"], paid.json()["account_status"]) == ("0.00", "settled"), paid.text
    assert await forgiven(gateway, "A-2") == Decimal("21000.00")
