"""The collection hold's rule (domain/collection_holds.py): a pending promise holds its account to its due date plus
the grace day in the client company's time zone, never past the promise window; a standing arrangement to its next
instalment's deadline (and the wait for the verdict), never past its last; judged at the instant given."""

import datetime as dt
import zoneinfo

import pytest

from outreach.domain.collection_holds import (
    ARRANGEMENT_STANDING,
    PROMISE_PENDING,
    VERDICT_WAIT,
    Hold,
    PendingPromise,
    collection_hold,
    promise_hold_ends,
)

pytestmark = pytest.mark.unit
BOGOTA, TOKYO = "America/Bogota", "Asia/Tokyo"


def local(zone: str, y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> dt.datetime:
    return dt.datetime(y, mo, d, h, mi, tzinfo=zoneinfo.ZoneInfo(zone))


MADE = local(BOGOTA, 2026, 3, 4, 10)
FRIDAY = PendingPromise(dt.date(2026, 3, 6), MADE)


def hold(now: dt.datetime, promises: tuple[PendingPromise, ...] = (), plans: tuple[tuple[dt.date, ...], ...] = (),
         zone: str = BOGOTA, window: int = 30) -> Hold | None:
    return collection_hold(now, promises=promises, arrangements=plans, timezone=zone, window_days=window)


def test_a_promise_holds_to_the_end_of_its_grace_day_in_the_client_companys_zone() -> None:
    ends = local(BOGOTA, 2026, 3, 8)  # due Friday, grace Saturday: held until Sunday 00:00 in Bogotá
    assert promise_hold_ends(FRIDAY, BOGOTA, 30) == ends
    assert hold(MADE, (FRIDAY,)) == Hold(PROMISE_PENDING, ends)
    assert hold(ends - dt.timedelta(microseconds=1), (FRIDAY,)) == Hold(PROMISE_PENDING, ends)
    assert hold(ends, (FRIDAY,)) is None  # no verdict needed: the hold ends by itself
    # The same instant is already past the grace day in Tokyo, where that company's day ends 14 hours sooner.
    assert hold(local(TOKYO, 2026, 3, 8, 1), (FRIDAY,), zone=TOKYO) is None
    assert hold(local(TOKYO, 2026, 3, 8, 1), (FRIDAY,), zone=BOGOTA) is not None


def test_a_promise_beyond_the_window_holds_no_longer_than_the_window() -> None:
    far = PendingPromise(dt.date(2026, 12, 31), MADE)
    assert promise_hold_ends(far, BOGOTA, 30) == local(BOGOTA, 2026, 4, 5)  # March 4 + 30 days, + the grace day
    assert promise_hold_ends(far, BOGOTA, 10) == local(BOGOTA, 2026, 3, 16)
    assert hold(local(BOGOTA, 2026, 4, 5), (far,)) is None


def test_several_promises_hold_until_the_last_still_pending_ends() -> None:
    later = PendingPromise(dt.date(2026, 3, 20), MADE)
    assert hold(MADE, (FRIDAY, later)) == Hold(PROMISE_PENDING, local(BOGOTA, 2026, 3, 22))
    assert hold(local(BOGOTA, 2026, 3, 10), (FRIDAY, later)) == Hold(PROMISE_PENDING, local(BOGOTA, 2026, 3, 22))


def test_an_arrangement_holds_to_its_next_deadline_and_never_past_its_last() -> None:
    plan = (dt.date(2026, 3, 11), dt.date(2026, 4, 11), dt.date(2026, 5, 11))
    assert hold(MADE, plans=(plan,)) == Hold(ARRANGEMENT_STANDING, local(BOGOTA, 2026, 3, 13) + VERDICT_WAIT)
    assert hold(local(BOGOTA, 2026, 3, 13, 6), plans=(plan,)) == Hold(
        ARRANGEMENT_STANDING, local(BOGOTA, 2026, 4, 13) + VERDICT_WAIT)
    assert hold(local(BOGOTA, 2026, 5, 13), plans=(plan,)) is None  # its last deadline passed: no verdict held it
    # A promise pending beside it is said first: its end is known.
    assert hold(MADE, (FRIDAY,), (plan,)) == Hold(PROMISE_PENDING, local(BOGOTA, 2026, 3, 8))
    assert hold(local(BOGOTA, 2026, 3, 9), (FRIDAY,), (plan,)) == Hold(
        ARRANGEMENT_STANDING, local(BOGOTA, 2026, 3, 13) + VERDICT_WAIT)


def test_nothing_holds_an_account_without_a_promise_or_an_arrangement() -> None:
    assert hold(MADE) is None
    assert hold(MADE, plans=((),)) is None


def test_the_instant_must_say_its_offset() -> None:
    with pytest.raises(ValueError):
        hold(dt.datetime(2026, 3, 4, 10), (FRIDAY,))
