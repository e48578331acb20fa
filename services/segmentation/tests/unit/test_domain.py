"""Segmentation's rules at bucket edges, aging without drift, and the treatment choice."""

import datetime as dt
from decimal import Decimal

import pytest

from segmentation.domain.buckets import bucket_for, days_past_due_on
from segmentation.domain.treatment import assign, scorecard

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


def test_treatment_weighs_cost_against_expected_recovery() -> None:
    score = scorecard(days_past_due=45, balance=Decimal("2000000"), contactable=True)
    worked = assign(bucket="31-60", days_past_due=45, balance=Decimal("2000000"), score=score)
    assert worked.treatment.name == "digital_and_voicebot"
    assert worked.cost_to_collect == Decimal("0.27")
    assert worked.expected_net_recovery == (Decimal("2000000") * score.propensity - Decimal("0.27")).quantize(
        Decimal("0.01"))
    tiny = assign(bucket="361+", days_past_due=400, balance=Decimal("1"), score=scorecard(days_past_due=400, balance=Decimal("1"),
                                                                          contactable=False))
    assert tiny.treatment.name == "do_not_pursue" and "do not pursue" in tiny.why


def test_closed_accounts_get_no_treatment() -> None:
    score = scorecard(days_past_due=10, balance=Decimal("100"), contactable=True)
    assert assign(bucket="1-30", days_past_due=10, balance=Decimal("100"), score=score, status="recalled").treatment.channels == ()


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
