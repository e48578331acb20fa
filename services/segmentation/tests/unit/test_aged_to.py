"""The day an account's days past due are counted to (domain.buckets.aged_to), worked by hand and as properties:
aging never drifts, a plan holds it, a closed account stands still from the day it closed."""

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segmentation.domain.buckets import aged_to, days_past_due_on

pytestmark = pytest.mark.unit
MARCH_31, APRIL_10, MAY_31 = dt.date(2026, 3, 31), dt.date(2026, 4, 10), dt.date(2026, 5, 31)


def test_worked_by_hand() -> None:
    assert aged_to(MAY_31, status="open", as_of=MARCH_31, held_since=None, closed_on=None) == MAY_31
    assert aged_to(MAY_31, status="open", as_of=MARCH_31, held_since=APRIL_10, closed_on=None) == APRIL_10
    for closed in ("paid", "settled", "written_off", "recalled"):
        assert aged_to(MAY_31, status=closed, as_of=MARCH_31, held_since=None, closed_on=APRIL_10) == APRIL_10
    # closed while a plan held it: from the plan's day
    assert aged_to(MAY_31, status="paid", as_of=MARCH_31, held_since=dt.date(2026, 4, 5), closed_on=APRIL_10) == \
        dt.date(2026, 4, 5)
    # restated after it closed: the statement's day, not before
    assert aged_to(MAY_31, status="paid", as_of=dt.date(2026, 5, 30), held_since=None, closed_on=APRIL_10) == \
        dt.date(2026, 5, 30)
    # reopened (closed_on cleared), or closed before the day was kept: today
    assert aged_to(MAY_31, status="paid", as_of=MARCH_31, held_since=None, closed_on=None) == MAY_31
    assert aged_to(MAY_31, status="open", as_of=MARCH_31, held_since=None, closed_on=APRIL_10) == MAY_31


days = st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2030, 12, 31))
statuses = st.sampled_from(["open", "paid", "settled", "written_off", "recalled"])


@settings(max_examples=300, derandomize=True, deadline=None)
@given(as_of=days, gaps=st.tuples(st.integers(0, 400), st.integers(0, 400)), dpd=st.integers(-365, 3000),
       held=st.none() | days, closed=st.none() | days, status=statuses)
def test_days_past_due_never_fall_and_stand_still_once_held_or_closed(
        as_of: dt.date, gaps: tuple[int, int], dpd: int, held: dt.date | None, closed: dt.date | None,
        status: str) -> None:
    if held is not None:
        held = max(held, as_of)  # the store never holds from before the statement's day
    d1 = as_of + dt.timedelta(days=gaps[0])
    d2 = d1 + dt.timedelta(days=gaps[1])

    def on(day: dt.date) -> int:
        return days_past_due_on(aged_to(day, status=status, as_of=as_of, held_since=held, closed_on=closed),
                                days_past_due_at_as_of=dpd, as_of=as_of)

    assert on(as_of) == dpd
    assert on(d1) <= on(d2)  # never falling, whatever day a run is missed
    if status == "open" and held is None:
        assert on(d2) == dpd + (d2 - as_of).days  # no drift: straight from the statement
    if held is not None and d1 >= held:
        assert on(d1) == on(d2)
    if status != "open" and closed is not None and d1 >= max(closed, as_of):
        assert on(d1) == on(d2)
