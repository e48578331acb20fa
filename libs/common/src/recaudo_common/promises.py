"""The promise window: how far ahead of the client company's today a promise to pay may fall due (30 days
unless the client company set its own, `promise_window_days` on the client company)."""

from __future__ import annotations

import datetime as dt

DEFAULT_PROMISE_WINDOW_DAYS = 30
MAX_PROMISE_WINDOW_DAYS = 365


def latest_promise_date(today: dt.date, window_days: int | None) -> dt.date:
    """The last day a promise made on `today` may fall due."""
    return today + dt.timedelta(days=window_days or DEFAULT_PROMISE_WINDOW_DAYS)


def within_promise_window(due_date: dt.date, *, today: dt.date, window_days: int | None) -> bool:
    """From today (inclusive) to today plus the window (inclusive), both in the client company's calendar."""
    return today <= due_date <= latest_promise_date(today, window_days)
