"""Arrangements' pure rules (#21): a plan within the client company's limits, payments toward a plan allocated to
its instalments in order, an instalment broken only after its grace day."""

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payments.domain.arrangements import allocate, arrangement_errors, settlement_discount
from payments.domain.promises import verdict
from recaudo_common.instalments import ArrangementLimits, schedule, split_evenly

pytestmark = pytest.mark.unit
TODAY = dt.date(2026, 3, 31)
D = Decimal


def test_payments_fill_the_instalments_in_order() -> None:
    six = split_evenly(D("100000"), 6)  # 16666.66 x 5, 16666.70
    assert allocate(D("10000"), six) == [D("10000"), D(0), D(0), D(0), D(0), D(0)]
    assert allocate(D("33333.32"), six)[:3] == [D("16666.66"), D("16666.66"), D(0)]
    assert allocate(D("40000"), six)[:3] == [D("16666.66"), D("16666.66"), D("6666.68")]
    assert allocate(D("150000"), six) == six  # beyond the plan is the account's credit, no instalment's
    assert allocate(D("-5"), six) == [D(0)] * 6


@given(st.decimals(min_value=D(0), max_value=D("200000"), places=2), st.integers(min_value=2, max_value=12))
def test_allocation_never_skips_an_instalment_and_adds_up(paid: Decimal, count: int) -> None:
    amounts = split_evenly(D("100000"), count)
    shares = allocate(paid, amounts)
    assert sum(shares) == min(paid, D("100000"))
    for n, share in enumerate(shares[1:], start=1):
        assert share == 0 or shares[n - 1] == amounts[n - 1]


def errors(instalments: list[tuple[dt.date, Decimal]], limits: ArrangementLimits = ArrangementLimits(),
           kind: str = "instalment_plan") -> list[str]:
    return arrangement_errors(kind=kind, balance=D("100000"), instalments=instalments, limits=limits, today=TODAY)


@pytest.mark.parametrize("count", range(2, 13))
def test_every_plan_of_2_to_12_is_acceptable_by_default(count: int) -> None:
    assert errors(schedule(D("100000"), count, TODAY)) == []


def test_plans_outside_the_limits_say_why() -> None:
    assert errors(schedule(D("100000"), 13, TODAY)) == ["an instalment plan has 2 to 12 instalments for this client "
                                                        "company"]
    limits = ArrangementLimits(instalments_min=3, instalments_max=6, min_instalment_amount=D("20000"))
    assert errors(schedule(D("100000"), 6, TODAY), limits) == ["every instalment must be at least 20000"]
    assert errors(schedule(D("100000"), 4, TODAY), limits) == []
    cheap = [(TODAY + dt.timedelta(days=10), D("50000"))]
    assert "discount limit" in errors(cheap, ArrangementLimits(max_discount_pct=D("30")), kind="settlement")[0]
    assert errors(cheap, ArrangementLimits(max_discount_pct=D("50")), kind="settlement") == []


def test_a_plan_may_not_ask_more_than_the_balance() -> None:
    """As a settlement may not: the debtor would be asked for money they do not owe, and a plan paid up to the
    balance (the account paid) would then be broken for its last instalment."""
    assert errors(schedule(D("150000"), 3, TODAY)) == ["the plan pays 150000.00, more than the balance 100000"]
    assert errors(schedule(D("100000.01"), 3, TODAY)) == ["the plan pays 100000.01, more than the balance 100000"]
    assert errors(schedule(D("100000"), 3, TODAY)) == []


def test_an_instalment_is_broken_only_after_its_grace_day() -> None:
    due = dt.date(2026, 4, 7)
    args = {"amount": D("16666.66"), "due_date": due, "timezone": "America/Bogota"}
    end_of_grace = dt.datetime(2026, 4, 9, 4, 59, tzinfo=dt.UTC)  # 23:59 on the 8th in Bogotá
    assert verdict(paid=D("10000"), now=end_of_grace, **args) == "pending"  # a partial payment is not enough
    assert verdict(paid=D("10000"), now=end_of_grace + dt.timedelta(minutes=1), **args) == "broken"
    assert verdict(paid=D("16666.66"), now=end_of_grace + dt.timedelta(days=30), **args) == "kept"


def test_a_settlement_forgives_its_discount_and_leaves_what_was_paid_beyond_it_a_credit() -> None:
    # 100,000 settled for 70,000: paid exactly, 75,000 in one payment or 50,000 + 30,000.
    assert settlement_discount(owed=D("30000"), paid=D("70000"), total=D("70000")) == D("30000")
    assert settlement_discount(owed=D("25000"), paid=D("75000"), total=D("70000")) == D("30000")
    assert settlement_discount(owed=D("20000"), paid=D("80000"), total=D("70000")) == D("30000")
    # Restated below the settlement since it was agreed: nothing to forgive, all of the excess is a credit.
    assert settlement_discount(owed=D("-20000"), paid=D("70000"), total=D("70000")) == D("0")


def test_a_clp_arrangement_is_whole_pesos() -> None:
    """A Chilean peso has no cents: a plan or settlement with some would ask for money nobody can pay, and the floor
    of the discount limit is whole pesos too."""
    def clp(instalments: list[tuple[dt.date, Decimal]], kind: str = "instalment_plan",
            limits: ArrangementLimits = ArrangementLimits()) -> list[str]:
        return arrangement_errors(kind=kind, balance=D("100001"), instalments=instalments, limits=limits,
                                  today=TODAY, currency="CLP")
    assert clp(schedule(D("100001"), 3, TODAY, "CLP")) == []
    assert clp(schedule(D("100001"), 3, TODAY)) == ["every instalment must be in whole CLP (no decimals)"]
    due = TODAY + dt.timedelta(days=10)
    limits = ArrangementLimits(max_discount_pct=D("15"))
    assert clp([(due, D("85001"))], "settlement", limits) == []  # 100001 less 15 % is 85000.85: 85001 pesos
    assert clp([(due, D("85000"))], "settlement", limits) == [
        "a settlement of 85000 exceeds the client company's 15% discount limit (at least 85001)"]
