"""The periods a report covers: instants with a UTC offset or days of the client company's calendar, or whole
months of it."""

from __future__ import annotations

import datetime as dt

from recaudo_common.clock import local_instant
from recaudo_common.domain_errors import Invalid

MAX_MONTHS = 37  # roll rates over three years and a month at most: one query per month-end


def instant_of(bound: dt.datetime | dt.date | None, timezone: str) -> dt.datetime | None:
    """A period's end as given: an instant as it is, a day as its first instant in the client company's time zone
    (`from=2026-11-01&to=2026-12-01` is November there, `to` excluded as always)."""
    if bound is None or isinstance(bound, dt.datetime):
        return bound
    return local_instant(bound, timezone)


def period_end(date_from: dt.datetime | None, to: dt.datetime | None, now: dt.datetime) -> dt.datetime:
    """The end of the period [from, to): `to`, or now when it is open; both ends need a UTC offset."""
    for value in (date_from, to):
        if value is not None and value.tzinfo is None:
            raise Invalid("naive_datetime", "`from` and `to` are each a day (YYYY-MM-DD, its first instant in the "
                          "client company's time zone) or an instant with a UTC offset (2026-11-01T00:00:00-05:00); "
                          "a time without an offset could be any of 24 instants", title="Invalid period")
    date_to = to or now
    if date_from is not None and date_from >= date_to:
        raise Invalid("empty_period", "`from` must be before `to`", title="Invalid period")
    return date_to


def month(text: str) -> dt.date:
    """The first day of a month written YYYY-MM."""
    try:
        return dt.datetime.strptime(text, "%Y-%m").date()
    except ValueError as e:
        raise Invalid("invalid_month", f"{text!r} is not a month: roll rates take months as YYYY-MM, both included "
                      "(from=2026-03&to=2026-05)", title="Invalid month") from e


def next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def months(date_from: str, to: str) -> list[dt.date]:
    """Every month from `from` to `to` (YYYY-MM, both included): 2 to MAX_MONTHS of them."""
    first, last = month(date_from), month(to)
    if not first < last or (last.year - first.year) * 12 + last.month - first.month > MAX_MONTHS - 1:
        raise Invalid("invalid_months", "give 2 to 37 months, `from` before `to`", title="Invalid months")
    out = [first]
    while out[-1] < last:
        out.append(next_month(out[-1]))
    return out
