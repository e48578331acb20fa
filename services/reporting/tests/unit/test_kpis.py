"""KPI definitions."""

from decimal import Decimal

import pytest

from reporting.domain.kpis import recovery_rate

pytestmark = pytest.mark.unit


def test_recovery_rate_is_a_fraction_of_the_placed_balance() -> None:
    assert recovery_rate(Decimal("250.00"), Decimal("1000.00")) == Decimal("0.25")
    assert recovery_rate(Decimal("1"), Decimal("3")) == Decimal("0.333333")
    assert recovery_rate(Decimal("10"), Decimal("0")) == Decimal("0")
