"""The statistics of an experiment's read-out against published worked examples, and the verdict's gates."""

import math
from decimal import Decimal

import pytest

from reporting.domain.experiments import (
    MIN_ACCOUNTS_PER_ARM,
    Arm,
    difference_ci95,
    normal_two_sided_p,
    read_out,
    two_proportion_z_test,
)

pytestmark = pytest.mark.unit


def test_the_normal_tail_known_values() -> None:
    assert normal_two_sided_p(1.959963984540054) == pytest.approx(0.05, abs=1e-12)
    assert normal_two_sided_p(-2.5758293035489) == pytest.approx(0.01, abs=1e-12)
    assert normal_two_sided_p(0.0) == 1.0


def test_two_proportions_a_poll_of_two_cities() -> None:
    # A textbook poll: 168 of 300 voters in New York City and 96 of 200 in Washington D.C. in favour; published
    # pooled proportion 0.528, z = 1.755, two-sided p = 0.0792 (homeworksource.com/p/1078444).
    test = two_proportion_z_test(96, 200, 168, 300)
    assert test is not None
    assert test.z == pytest.approx(1.755, abs=5e-4)
    assert test.p_value == pytest.approx(0.0792, abs=5e-5)


def test_two_proportions_two_counties_as_r_prop_test_gives_them() -> None:
    # Fulton 281 for of 473, Gwinnett 214 of 443 (straightdraw.github.io/probstat/S3b.html): z = 3.3683 from
    # proportions rounded there, 3.3690 unrounded; R's prop.test(correct = FALSE) gives X-squared = 11.35 (z squared),
    # p-value = 0.000754, 95 % interval of the difference 0.0468 to 0.1752.
    test = two_proportion_z_test(214, 443, 281, 473)
    assert test is not None
    assert test.z == pytest.approx(3.3683, abs=1e-3)
    assert test.z ** 2 == pytest.approx(11.35, abs=5e-3)
    assert test.p_value == pytest.approx(0.000754, abs=5e-7)
    assert difference_ci95(214, 443, 281, 473) == pytest.approx((0.0468, 0.1752), abs=5e-5)


def test_nothing_to_tell_apart_and_empty_arms() -> None:
    none_paid = two_proportion_z_test(0, 10, 0, 10)
    assert none_paid is not None and none_paid.p_value == 1.0
    assert none_paid == two_proportion_z_test(10, 10, 10, 10)
    assert two_proportion_z_test(1, 0, 1, 10) is None and difference_ci95(1, 10, 0, 0) is None


def arm(accounts: int, paying: int, placed: str = "1000", recovered: str = "100") -> Arm:
    return Arm(accounts, paying, Decimal(placed), Decimal(recovered))


def test_lift_is_the_ratio_of_recovery_rates_less_one() -> None:
    r = read_out(arm(500, 50, "500000", "50000"), arm(500, 100, "500000", "100000"))
    assert r.lift == pytest.approx(1.0)
    assert r.p_value is not None and r.p_value < 0.001
    assert r.verdict == "challenger_better"
    assert r.ci95 is not None and r.ci95[0] < 0.1 < r.ci95[1]


def test_lift_and_p_are_given_below_the_minimum_only_the_verdict_waits() -> None:
    small = MIN_ACCOUNTS_PER_ARM - 1
    r = read_out(arm(small, 10, "1000", "100"), arm(MIN_ACCOUNTS_PER_ARM, 200, "1000", "150"))
    assert r.lift == pytest.approx(0.5) and r.p_value is not None and r.p_value < 1e-6
    assert r.verdict == "insufficient_data"
    assert MIN_ACCOUNTS_PER_ARM <= 500


def test_the_verdict_either_way_or_no_difference() -> None:
    assert read_out(arm(500, 100), arm(500, 50)).verdict == "champion_better"
    assert read_out(arm(500, 50), arm(500, 55)).verdict == "no_difference"


def test_null_only_when_an_arm_is_empty_or_the_champion_recovered_nothing() -> None:
    r = read_out(arm(0, 0, "0", "0"), arm(500, 50))
    assert (r.lift, r.p_value, r.ci95, r.verdict) == (None, None, None, "insufficient_data")
    r = read_out(arm(500, 0, "1000", "0"), arm(500, 50))
    assert r.lift is None and r.p_value is not None and not math.isnan(r.p_value)
