"""The compliance engine: may this debtor be contacted on this channel at this instant, and if not, when?

Rules are data per country (MISSION §6), evaluated in the debtor's local time. This first version
applies contact hours and days; frequency limits, holidays and consent come with issue #6.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

MONDAY, SATURDAY, SUNDAY = 0, 5, 6


@dataclass(frozen=True)
class Window:
    start: dt.time
    end: dt.time  # exclusive: a contact at exactly `end` is outside hours


@dataclass(frozen=True)
class CountryRules:
    windows: dict[int, Window]  # weekday -> allowed window; a missing weekday is a day not allowed


def _weekdays(start: str, end: str) -> dict[int, Window]:
    w = Window(dt.time.fromisoformat(start), dt.time.fromisoformat(end))
    return dict.fromkeys(range(MONDAY, SATURDAY), w)


RULES: dict[str, CountryRules] = {
    # Ley 2300 de 2023: Mon-Fri 07-19, Sat 08-15, never Sundays.
    "CO": CountryRules({**_weekdays("07:00", "19:00"), SATURDAY: Window(dt.time(8), dt.time(15))}),
    # Ley 29571 art. 62: Mon-Fri 07-20.
    "PE": CountryRules(_weekdays("07:00", "20:00")),
    # CONDUSEF: every day 07-22.
    "MX": CountryRules(dict.fromkeys(range(7), Window(dt.time(7), dt.time(22)))),
    # Regulation F: 08-21 local.
    "US": CountryRules(dict.fromkeys(range(7), Window(dt.time(8), dt.time(21)))),
    # Argentina: per client; default Mon-Fri 09-20.
    "AR": CountryRules(_weekdays("09:00", "20:00")),
}
DEFAULT_RULES = RULES["CO"]  # the strictest common ground for a country without its own table


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reasons: tuple[str, ...]
    next_allowed_at: dt.datetime | None
    local_time: dt.datetime


def _reasons(rules: CountryRules, local: dt.datetime) -> tuple[str, ...]:
    window = rules.windows.get(local.weekday())
    if window is None:
        return ("day_not_allowed",)
    if not window.start <= local.time() < window.end:
        return ("outside_hours",)
    return ()


def next_allowed(rules: CountryRules, local: dt.datetime) -> dt.datetime | None:
    """The first allowed local instant at or after `local` (None if no day of the week is allowed)."""
    for offset in range(8):
        day = local.date() + dt.timedelta(days=offset)
        window = rules.windows.get(day.weekday())
        if window is None:
            continue
        opens = dt.datetime.combine(day, window.start, tzinfo=local.tzinfo)
        closes = dt.datetime.combine(day, window.end, tzinfo=local.tzinfo)
        if local < opens:
            return opens
        if local < closes:
            return local
    return None


def decide(*, country: str, timezone: str, at: dt.datetime) -> Decision:
    """Decides at the instant `at` (timezone-aware) in the debtor's local time zone."""
    if at.tzinfo is None:
        raise ValueError("`at` must be timezone-aware")
    rules = RULES.get(country, DEFAULT_RULES)
    local = at.astimezone(zoneinfo.ZoneInfo(timezone))
    reasons = _reasons(rules, local)
    if not reasons:
        return Decision(True, (), None, local)
    upcoming = next_allowed(rules, local)
    return Decision(False, reasons, upcoming.astimezone(dt.UTC) if upcoming else None, local)
