"""The client company's calendar: which day it is for a client company at a given instant (the caller passes
the instant in, so nothing here reads the clock)."""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo


@functools.lru_cache(maxsize=64)
def zone(timezone: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(timezone)


def local_today(timezone: str, now: dt.datetime) -> dt.date:
    """The date on the client company's calendar at `now` (an aware datetime) in its IANA `timezone`."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(zone(timezone)).date()


def local_instant(day: dt.date, timezone: str, at: dt.time = dt.time(0)) -> dt.datetime:
    """The instant a wall-clock time `at` of `day` is in the client company's time zone."""
    return dt.datetime.combine(day, at, tzinfo=zone(timezone))
