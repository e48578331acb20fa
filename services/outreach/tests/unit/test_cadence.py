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


def test_a_kept_plan_is_topped_up_to_four_to_come_numbered_and_turned_on_from_where_it_stopped() -> None:
    # Two of four touches went out (sequences 1 and 2: sms, email) and two are to come, the last on day 9.
    start = first_touch(NOW, 3, last_touch_at=NOW - DAY, last_paid_at=None, last_to_come_at=NOW + 9 * DAY)
    assert start == NOW + 12 * DAY
    topped = plan(["sms", "email"], 3, start, after_sequence=4, to_come=2)
    assert [(a.sequence, a.channel, a.at) for a in topped] == [(5, "sms", NOW + 12 * DAY),
                                                               (6, "email", NOW + 15 * DAY)]
    assert plan(["sms", "email"], 3, start, after_sequence=4, to_come=4) == []
    assert plan(["sms", "email"], 3, start, after_sequence=4, to_come=5) == []
