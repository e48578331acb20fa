"""Promises to pay as payments judges them and outreach holds an account for them: the promise window (how far
ahead of the client company's today a promise may fall due: 30 days unless the client company set its own,
`promise_window_days` on the client company) and a promise's deadline (the end of its due date plus one grace day in
the client company's time zone, MISSION §payments), the one instant both services read."""

from __future__ import annotations

import datetime as dt

from recaudo_common.clock import local_instant

DEFAULT_PROMISE_WINDOW_DAYS = 30
MAX_PROMISE_WINDOW_DAYS = 365
GRACE_DAYS = 1


def latest_promise_date(today: dt.date, window_days: int | None) -> dt.date:
    """The last day a promise made on `today` may fall due."""
    return today + dt.timedelta(days=window_days or DEFAULT_PROMISE_WINDOW_DAYS)


def within_promise_window(due_date: dt.date, *, today: dt.date, window_days: int | None) -> bool:
    """From today (inclusive) to today plus the window (inclusive), both in the client company's calendar."""
    return today <= due_date <= latest_promise_date(today, window_days)


def deadline(due_date: dt.date, timezone: str) -> dt.datetime:
    """The first instant after the grace day that follows `due_date`, in the client company's time zone: payments
    judges the promise then, and outreach's hold on the account ends then."""
    first_instant_after: dt.datetime = local_instant(due_date + dt.timedelta(days=GRACE_DAYS + 1), timezone)
    return first_instant_after
