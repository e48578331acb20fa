"""The cadence's first touch: a new plan keeps the rhythm of the last message and leaves a payer in peace."""

import datetime as dt

import pytest

from outreach.domain.cadence import DEFAULT_CADENCE_DAYS, first_touch, plan

pytestmark = pytest.mark.unit

NOW = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def test_nothing_before_it_starts_now() -> None:
    assert first_touch(NOW, 3, last_touch_at=None, last_paid_at=None) == NOW


def test_a_recent_message_or_payment_holds_it_one_spacing_of_the_new_treatment() -> None:
    assert first_touch(NOW, 3, last_touch_at=NOW - DAY, last_paid_at=None) == NOW + 2 * DAY
    assert first_touch(NOW, 5, last_touch_at=None, last_paid_at=NOW - dt.timedelta(seconds=1)) == (
        NOW + 5 * DAY - dt.timedelta(seconds=1))
    # The later of the two governs.
    assert first_touch(NOW, 3, last_touch_at=NOW - 2 * DAY, last_paid_at=NOW - DAY) == NOW + 2 * DAY
    assert first_touch(NOW, None, last_touch_at=NOW, last_paid_at=None) == NOW + DEFAULT_CADENCE_DAYS * DAY


def test_long_ago_changes_nothing() -> None:
    assert first_touch(NOW, 3, last_touch_at=NOW - 30 * DAY, last_paid_at=NOW - 3 * DAY) == NOW


def test_the_plan_starts_there_and_keeps_its_spacing() -> None:
    start = first_touch(NOW, 2, last_touch_at=NOW - DAY, last_paid_at=None)
    assert [a.at for a in plan(["sms", "email"], 2, start)] == [NOW + DAY + i * 2 * DAY for i in range(4)]
