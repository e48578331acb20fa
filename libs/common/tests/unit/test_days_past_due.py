"""Days past due on the day an account is looked at (recaudo_common.accounts.days_past_due_on): one a day unless
held."""

import datetime as dt

import pytest

from recaudo_common.accounts import days_past_due_on

pytestmark = pytest.mark.unit
AS_OF = dt.date(2026, 3, 10)


def on(day: dt.date, *, held: bool | None = False, status: str = "open", as_of: dt.date | None = AS_OF,
       said: int | None = 35) -> int | None:
    return days_past_due_on(day, days_past_due=said, as_of=as_of, aging_held=held, status=status)


def test_an_open_account_not_held_ages_one_a_day_from_the_day_said() -> None:
    assert on(AS_OF) == 35
    assert on(dt.date(2026, 3, 30)) == 55
    assert on(dt.date(2026, 4, 10)) == 66  # across a month's end


def test_held_or_closed_days_stand_where_they_were_said() -> None:
    assert on(dt.date(2026, 3, 30), held=True) == 35
    for status in ("paid", "settled", "written_off", "recalled"):
        assert on(dt.date(2026, 3, 30), status=status) == 35


def test_an_event_that_did_not_say_the_day_or_the_hold_stands_as_said() -> None:
    assert on(dt.date(2026, 3, 30), held=None) == 35
    assert on(dt.date(2026, 3, 30), as_of=None) == 35
    assert on(dt.date(2026, 3, 30), said=None) is None  # never segmented


def test_a_day_before_the_one_said_takes_no_days_off() -> None:
    assert on(dt.date(2026, 3, 9)) == 35
