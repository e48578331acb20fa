"""Segmentation's rules at bucket edges, aging without drift, and the treatment choice."""

import datetime as dt
from decimal import Decimal

import pytest

from segmentation.domain.assignment import assign
from segmentation.domain.buckets import DEFAULT_BUCKETS, Bucket, aging_held, bucket_for, days_past_due_on
from segmentation.domain.strategy import Strategy, default_strategy, full_costs, uncovered_buckets
from segmentation.domain.treatment import scorecard

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("dpd", "bucket"), [
    (-5, "0"), (0, "0"), (1, "1-30"), (30, "1-30"), (31, "31-60"), (60, "31-60"), (61, "61-90"), (90, "61-90"),
    (91, "91-120"), (120, "91-120"), (121, "121-180"), (180, "121-180"), (181, "181-360"), (360, "181-360"),
    (361, "361+"), (36500, "361+"),
])
def test_bucket_edges(dpd: int, bucket: str) -> None:
    assert bucket_for(dpd) == bucket


def test_aging_counts_from_the_stated_date_so_a_missed_run_never_drifts() -> None:
    as_of = dt.date(2026, 1, 31)
    assert days_past_due_on(dt.date(2026, 1, 31), days_past_due_at_as_of=29, as_of=as_of) == 29
    assert days_past_due_on(dt.date(2026, 2, 2), days_past_due_at_as_of=29, as_of=as_of) == 31
    assert days_past_due_on(dt.date(2026, 3, 1), days_past_due_at_as_of=29, as_of=as_of) == 58


def test_days_past_due_stand_still_under_a_plan_and_once_closed() -> None:
    assert not aging_held(status="open", held_since=None)
    assert aging_held(status="open", held_since=dt.date(2026, 3, 1))  # an instalment plan
    for closed in ("paid", "settled", "written_off", "recalled"):
        assert aging_held(status=closed, held_since=None)


def test_treatment_weighs_cost_against_expected_recovery() -> None:
    score = scorecard(days_past_due=45, balance=Decimal("2000000"), contactable=True)
    strategy, costs = default_strategy(), full_costs(None)
    worked = assign(bucket="31-60", balance=Decimal("2000000"), score=score, strategy=strategy, costs=costs)
    assert (worked.treatment.name, worked.tier) == ("digital_and_voicebot", "high")
    assert worked.cost_to_collect == Decimal("0.27")
    assert worked.expected_net_recovery == Decimal("2000000") * score.propensity - Decimal("0.27")
    tiny = assign(bucket="361+", balance=Decimal("1"), score=scorecard(days_past_due=400, balance=Decimal("1"),
                                                                      contactable=False), strategy=strategy, costs=costs)
    assert tiny.treatment.name == "do_not_pursue" and "do not pursue" in tiny.why
    old = assign(bucket="181-360", balance=Decimal("20000"), score=scorecard(days_past_due=200, balance=Decimal("20000"),
                                                                            contactable=True), strategy=strategy, costs=costs)
    assert (old.tier, old.offer.kind, old.offer.discount_pct) == ("low", "settlement", Decimal("30"))
    assert "settlement with 30% discount" in old.why


def test_closed_accounts_get_no_treatment() -> None:
    score = scorecard(days_past_due=10, balance=Decimal("100"), contactable=True)
    closed = assign(bucket="1-30", balance=Decimal("100"), score=score, strategy=default_strategy(),
                    costs=full_costs(None), status="recalled")
    assert closed.treatment.channels == ()


def test_strategy_validation_names_every_problem() -> None:
    from segmentation.domain.buckets import DEFAULT_BUCKETS
    from segmentation.domain.strategy import Offer, Rule, Strategy, Tiers, strategy_errors
    from segmentation.domain.treatment import Treatment

    good = default_strategy()
    assert strategy_errors(good, DEFAULT_BUCKETS) == []
    broken = Strategy(1, (*good.rules[1:], Rule("0", "high", Treatment("x", ("fax",), 1), 0, Offer("settlement", Decimal("90"))),
                          Rule("9-9", "low", Treatment("y", ("sms",), 1))), Tiers(Decimal(5), Decimal(10)))
    errors = strategy_errors(broken, DEFAULT_BUCKETS)
    assert "rule for unknown bucket '9-9'" in errors
    assert "0/high: unknown channels ['fax']" in errors
    assert "0/high: cadence_days must be 1..60" in errors
    assert "0/high: discount 90% is outside 0..60%" in errors
    assert "the high tier threshold must be above the medium one" in errors


def test_champion_challenger_split_is_stable_and_near_its_share() -> None:
    from segmentation.domain.strategy import arm_of

    arms = [arm_of("banco", f"A-{i}", Decimal("0.2")) for i in range(5000)]
    assert arms == [arm_of("banco", f"A-{i}", Decimal("0.2")) for i in range(5000)]
    assert 900 <= arms.count("challenger") <= 1100
    assert all(arm_of("banco", f"A-{i}", Decimal("0")) == "champion" for i in range(100))


def test_bucket_sets_must_be_contiguous_and_cover_the_range() -> None:
    from segmentation.domain.buckets import DEFAULT_BUCKETS, Bucket, bucket_errors

    assert bucket_errors(DEFAULT_BUCKETS) == []
    assert bucket_errors((Bucket("all", -365, 36500),)) == []
    gap = (Bucket("a", -365, 0), Bucket("b", 2, 36500))
    assert bucket_errors(gap) == ["a gap between 'a' (to 0) and 'b' (from 2)"]
    overlap = (Bucket("a", -365, 10), Bucket("b", 5, 36500))
    assert bucket_errors(overlap) == ["buckets 'a' and 'b' overlap"]
    short = (Bucket("a", -10, 100), Bucket("a", 101, 200))
    assert bucket_errors(short) == ["bucket labels must be unique", "the first bucket must start at -365, not -10",
                                    "the last bucket must end at 36500, not 200"]


def test_a_bucket_the_strategy_has_no_rule_for_gets_no_contact_and_says_why() -> None:
    strategy = Strategy(4, tuple(r for r in default_strategy().rules if not (r.bucket == "361+" and r.tier == "low")))
    buckets = (*DEFAULT_BUCKETS[:-1], Bucket("361+", 361, 36500), Bucket("nuevo", 36501, 40000))
    assert uncovered_buckets(strategy, buckets) == ("361+", "nuevo")
    assert uncovered_buckets(default_strategy(buckets), buckets) == ()
    score = scorecard(days_past_due=400, balance=Decimal("100"), contactable=True)
    left = assign(bucket="nuevo", balance=Decimal("100"), score=score, strategy=strategy, costs=full_costs(None),
                  arm="challenger")
    assert (left.treatment.name, left.treatment.channels, left.offer.kind, left.cost_to_collect) == (
        "no_rule", (), "none", Decimal(0))
    assert left.segment == "nuevo/low/no_rule"
    assert "challenger strategy v4 has no rule for bucket nuevo and low value: not contacted" in left.why


def test_a_strategy_plan_stays_within_the_client_company_instalments() -> None:
    from segmentation.domain.buckets import DEFAULT_BUCKETS
    from segmentation.domain.strategy import Offer, Rule, Strategy, strategy_errors

    good = default_strategy()
    first = good.rules[0]

    def with_plan(count: int) -> Strategy:
        return Strategy(1, (Rule(first.bucket, first.tier, first.treatment, 3, Offer("instalment_plan", Decimal(0),
                                                                                       count)), *good.rules[1:]))

    assert strategy_errors(with_plan(12), DEFAULT_BUCKETS) == []
    assert strategy_errors(with_plan(24), DEFAULT_BUCKETS) == [f"{first.bucket}/high: an instalment plan has 2..12 "
                                                               "instalments"]
    assert strategy_errors(with_plan(2), DEFAULT_BUCKETS, instalments=(3, 6)) == [
        f"{first.bucket}/high: an instalment plan has 3..6 instalments"]
