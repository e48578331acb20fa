"""The instalment schedule and a client company's arrangement limits (#21): amounts to the cent summing exactly to
the total, the remainder on the last instalment, monthly dates, the counts a debtor may choose."""

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recaudo_common.instalments import (
    ArrangementLimits,
    add_months,
    instalment_counts,
    limits_errors,
    plan_errors,
    schedule,
    settlement_discount,
    split_evenly,
)

pytestmark = pytest.mark.unit
TODAY = dt.date(2026, 1, 24)


@pytest.mark.parametrize("count", range(2, 13))
def test_every_count_from_2_to_12_sums_exactly_with_the_remainder_on_the_last(count: int) -> None:
    total = Decimal("1000000.01")
    amounts = split_evenly(total, count)
    assert len(amounts) == count and sum(amounts) == total
    assert len(set(amounts[:-1])) == 1 and amounts[-1] >= amounts[0]
    assert amounts[-1] - amounts[0] < Decimal("0.01") * count
    assert all(a == a.quantize(Decimal("0.01")) for a in amounts)


def test_odd_amounts() -> None:
    assert split_evenly(Decimal("100"), 3) == [Decimal("33.33"), Decimal("33.33"), Decimal("33.34")]
    assert split_evenly(Decimal("2500000"), 6) == [Decimal("416666.66")] * 5 + [Decimal("416666.70")]
    assert split_evenly(Decimal("0.05"), 2) == [Decimal("0.02"), Decimal("0.03")]


@given(st.decimals(min_value=Decimal("0.12"), max_value=Decimal("999999999999.99"), places=2),
       st.integers(min_value=2, max_value=12))
def test_any_total_any_count_adds_up(total: Decimal, count: int) -> None:
    amounts = split_evenly(total, count)
    assert sum(amounts) == total and min(amounts) > 0


def test_the_schedule_is_monthly_from_a_week_ahead_and_month_ends_are_clamped() -> None:
    plan = schedule(Decimal("1200"), 6, TODAY)
    assert [d for d, _ in plan] == [dt.date(2026, 1, 31), dt.date(2026, 2, 28), dt.date(2026, 3, 31),
                                    dt.date(2026, 4, 30), dt.date(2026, 5, 31), dt.date(2026, 6, 30)]
    assert add_months(dt.date(2027, 11, 30), 3) == dt.date(2028, 2, 29)


def test_limits_defaults_are_2_to_12_with_no_minimum() -> None:
    assert instalment_counts(Decimal("1000"), ArrangementLimits()) == list(range(2, 13))
    assert limits_errors(ArrangementLimits()) == []


def test_limits_refused_with_their_reasons() -> None:
    errors = limits_errors(ArrangementLimits(Decimal("101"), 1, 13, Decimal("-1")))
    assert errors == ["max_discount_pct must be between 0 and 100", "instalments_min must be between 2 and 12",
                      "instalments_max must be between 2 and 12", "min_instalment_amount must not be negative"]
    assert limits_errors(ArrangementLimits(instalments_min=8, instalments_max=4)) == [
        "instalments_min must not be above instalments_max"]


def test_the_smallest_instalment_takes_away_the_counts_that_fall_below_it() -> None:
    limits = ArrangementLimits(instalments_min=3, instalments_max=10, min_instalment_amount=Decimal("200000"))
    assert instalment_counts(Decimal("1000000"), limits) == [3, 4, 5]
    assert instalment_counts(Decimal("100000"), limits) == []
    assert plan_errors([Decimal("500000")] * 2, limits) == ["an instalment plan has 3 to 10 instalments for this "
                                                            "client company"]
    assert plan_errors([Decimal("100000")] * 4, limits) == ["every instalment must be at least 200000"]
    assert plan_errors([Decimal("250000")] * 4, limits) == []


def test_a_settlement_never_discounts_more_than_the_client_allows() -> None:
    assert settlement_discount(Decimal("30"), ArrangementLimits(max_discount_pct=Decimal("20"))) == Decimal("20")
    assert settlement_discount(Decimal("15"), ArrangementLimits(max_discount_pct=Decimal("20"))) == Decimal("15")
