"""The best-time experiment's read-out: the strategy experiment's statistics (one code, read_out) under best time's
names, first_slot the control and best_time the treatment, and each arm's contact rate."""

from decimal import Decimal

import pytest

from reporting.domain.experiments import Arm, read_out
from reporting.experiments.schemas import BestTimeExperimentReport

pytestmark = pytest.mark.unit


def report(first_slot: Arm, best_time: Arm, contacts: dict[str, tuple[int, int]]) -> BestTimeExperimentReport:
    return BestTimeExperimentReport.of(client="banco", currency="COP", date_from=None, date_to=None,
                                       arms={"first_slot": first_slot, "best_time": best_time}, contacts=contacts,
                                       readout=read_out(first_slot, best_time), min_accounts=400)


def test_the_verdict_names_the_better_arm_and_the_statistics_are_the_strategy_experiments() -> None:
    worse, better = Arm(500, 50, Decimal(500), Decimal(5)), Arm(500, 100, Decimal(500), Decimal(10))
    won = report(worse, better, {"first_slot": (10, 5), "best_time": (0, 0)})
    assert (won.verdict, won.lift) == ("best_time_better", pytest.approx(1.0))
    assert won.p_value == read_out(worse, better).p_value
    lost = report(better, worse, {"first_slot": (10, 5), "best_time": (0, 0)})
    assert (lost.verdict, lost.lift) == ("first_slot_better", pytest.approx(-0.5))
    assert (won.arms["first_slot"].contact_rate, won.arms["best_time"].contact_rate) == (0.5, None)
    small = report(Arm(10, 1, Decimal(10), Decimal(1)), Arm(10, 2, Decimal(10), Decimal(2)),
                   {"first_slot": (0, 0), "best_time": (0, 0)})
    assert small.verdict == "insufficient_data" and small.p_value is not None
