"""KPI definitions."""

from decimal import Decimal

import pytest

from reporting.domain.kpis import Facts, recovery_rate, summed

pytestmark = pytest.mark.unit


def test_recovery_rate_is_a_fraction_of_the_placed_balance() -> None:
    assert recovery_rate(Decimal("250.00"), Decimal("1000.00")) == Decimal("0.25")
    assert recovery_rate(Decimal("1"), Decimal("3")) == Decimal("0.333333")
    assert recovery_rate(Decimal("10"), Decimal("0")) == Decimal("0")


def test_groups_that_split_the_facts_add_up_to_the_totals() -> None:
    a = Facts(accounts_placed=2, placed_balance=Decimal("100.50"), recovered=Decimal("10"), accounts_contacted=1)
    b = Facts(accounts_placed=1, placed_balance=Decimal("0.25"), outstanding=Decimal("3"), accounts_contacted=1)
    assert summed([a, b]) == Facts(accounts_placed=3, placed_balance=Decimal("100.75"), recovered=Decimal("10"),
                                   outstanding=Decimal("3"), accounts_contacted=2)
    assert summed([]) == Facts()
