"""The compliance engine of MISSION §6: may this debtor be contacted on this channel at this instant, and if
not, why and when next? Pure: the caller passes the instant, the debtor's contact history (over all their
accounts at the client company) and the account's state.

The rules are data per country (`RULES`), in the debtor's local time, with public holidays from the `holidays`
library. A client company may only make them stricter (`stricter_rules`); Argentina's are the client's own.
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from dataclasses import dataclass, field, replace

import holidays as holiday_calendars

MONDAY, SATURDAY, SUNDAY = 0, 5, 6
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
REASONS = ("outside_hours", "day_not_allowed", "holiday", "daily_limit", "weekly_channel_limit",
           "channel_not_authorised", "opted_out", "do_not_contact", "account_inactive", "call_limit_7_in_7",
           "call_after_conversation", "legal_hold")
ALWAYS_BLOCKING = frozenset({"opted_out", "do_not_contact", "account_inactive", "legal_hold",
                             "channel_not_authorised"})
PHONE_CALLS = frozenset({"voice", "agent"})


@dataclass(frozen=True)
class Window:
    start: dt.time
    end: dt.time  # exclusive: a contact at exactly `end` is outside hours


@dataclass(frozen=True)
class CountryRules:
    windows: dict[int, Window]  # weekday -> allowed window; a missing weekday is a day not allowed
    no_holidays: bool = False
    daily_limit: int | None = None  # contacts a calendar day over all channels
    one_channel_per_week: bool = False  # within a Mon-Sun week
    calls_in_7_days: int | None = None  # per account (Regulation F)
    days_after_conversation: int | None = None
    opt_out_line: bool = False  # every written message must say how to opt out


def _weekdays(start: str, end: str) -> dict[int, Window]:
    w = Window(dt.time.fromisoformat(start), dt.time.fromisoformat(end))
    return dict.fromkeys(range(MONDAY, SATURDAY), w)


RULES: dict[str, CountryRules] = {
    # Ley 2300 de 2023: Mon-Fri 07-19, Sat 08-15, no Sundays or holidays, one contact a day, one channel a week.
    "CO": CountryRules({**_weekdays("07:00", "19:00"), SATURDAY: Window(dt.time(8), dt.time(15))},
                       no_holidays=True, daily_limit=1, one_channel_per_week=True, opt_out_line=True),
    # Ley 29571 art. 62: Mon-Fri 07-20, no Saturdays, Sundays or holidays.
    "PE": CountryRules(_weekdays("07:00", "20:00"), no_holidays=True),
    # CONDUSEF: every day 07-22.
    "MX": CountryRules(dict.fromkeys(range(7), Window(dt.time(7), dt.time(22)))),
    # Regulation F: 08-21 local; 7 calls in 7 days per account; none within 7 days after a conversation.
    "US": CountryRules(dict.fromkeys(range(7), Window(dt.time(8), dt.time(21))), calls_in_7_days=7,
                       days_after_conversation=7, opt_out_line=True),
    # Argentina: per client; default Mon-Fri 09-20, no Sundays or holidays.
    "AR": CountryRules(_weekdays("09:00", "20:00"), no_holidays=True),
}
DEFAULT_RULES = RULES["CO"]  # the strictest common ground for a country without its own table
# Where the hours and limits are the client's own (`stricter_rules`), the days the law closes stay closed.
OWN_RULES_CLOSED_DAYS: dict[str, frozenset[int]] = {"AR": frozenset({SUNDAY})}


class RulesError(ValueError):
    """A client's override would loosen the law."""


def stricter_rules(country: str, override: dict[str, object] | None, *,
                   refuse_closed_days: bool = False) -> CountryRules:
    """The country's rules narrowed by a client's override:
    `{"windows": {"mon": ["08:00", "18:00"], ...}, "daily_limit": 1, "one_channel_per_week": true}`.
    A window may only shrink and a limit only tighten, except in Argentina, where the hours and limits are the
    client's but Sundays stay closed, as holidays do: a Sunday window is refused when the client sets its rules
    (`refuse_closed_days`) and left out of rules saved before it was."""
    base = RULES.get(country, DEFAULT_RULES)
    if not override:
        return base
    own = country in OWN_RULES_CLOSED_DAYS
    rules = base
    if "windows" in override:
        raw = override["windows"]
        if not isinstance(raw, dict):
            raise RulesError("windows must map weekday names (mon..sun) to [start, end]")
        windows: dict[int, Window] = {}
        for name, span in raw.items():
            if name not in WEEKDAY_NAMES:
                raise RulesError(f"unknown weekday {name!r}; use {', '.join(WEEKDAY_NAMES)}")
            if span is None:
                continue  # the day is closed
            try:
                start, end = (dt.time.fromisoformat(str(x)) for x in span)
            except (TypeError, ValueError) as e:
                raise RulesError(f"{name}: a window is [\"HH:MM\", \"HH:MM\"]") from e
            if not start < end:
                raise RulesError(f"{name}: the window must open before it closes")
            day = WEEKDAY_NAMES.index(name)
            legal = base.windows.get(day)
            closed_by_law = day in OWN_RULES_CLOSED_DAYS.get(country, ())
            if (closed_by_law and refuse_closed_days) or (
                    not own and (legal is None or start < legal.start or end > legal.end)):
                raise RulesError(f"{name}: {start:%H:%M}-{end:%H:%M} is outside what the law allows in {country}")
            if closed_by_law:
                continue  # saved before such a window was refused: the day is closed all the same
            windows[day] = Window(start, end)
        rules = replace(rules, windows=windows)
    for key in ("daily_limit", "calls_in_7_days"):
        if key in override:
            value = override[key]
            if not isinstance(value, int) or value < 1:
                raise RulesError(f"{key} must be a positive integer")
            legal_limit = getattr(base, key)
            if not own and legal_limit is not None and value > legal_limit:
                raise RulesError(f"{key} may not exceed {legal_limit} in {country}")
            rules = replace(rules, daily_limit=value) if key == "daily_limit" else replace(rules, calls_in_7_days=value)
    if "one_channel_per_week" in override:
        value = override["one_channel_per_week"]
        if not isinstance(value, bool) or (base.one_channel_per_week and not value and not own):
            raise RulesError(f"one_channel_per_week is required by law in {country}")
        rules = replace(rules, one_channel_per_week=value)
    unknown = set(override) - {"windows", "daily_limit", "calls_in_7_days", "one_channel_per_week"}
    if unknown:
        raise RulesError(f"unknown rule(s): {', '.join(sorted(unknown))}")
    return rules


@dataclass(frozen=True)
class PastContact:
    at: dt.datetime
    channel: str
    conversation: bool = False  # a right-party phone conversation
    account_ref: str | None = None  # Regulation F counts calls per account
    # The debtor started it (phoned or wrote to the agency): the law limits the contacts the collector starts, so
    # it counts toward no limit; a conversation in it still starts Regulation F's seven days (1006.14(b)(2)(i)(B)).
    inbound: bool = False


@dataclass(frozen=True)
class ContactRequest:
    country: str
    timezone: str
    channel: str
    at: dt.datetime
    authorised_channels: tuple[str, ...]
    history: tuple[PastContact, ...] = ()
    opted_out: frozenset[str] = field(default_factory=frozenset)  # channels, or "all"
    do_not_contact: bool = False
    account_status: str = "open"
    legal_hold: str | None = None
    rules: CountryRules | None = None  # the country's, or a client's stricter override
    account_ref: str | None = None
    # Other zones the debtor may be in (their phone number's): a contact must fall within the hours and days in
    # each of them as well as in `timezone`, which alone dates the limits per day and week.
    also_zones: tuple[str, ...] = ()


@dataclass(frozen=True)
class ContactDecision:
    allowed: bool
    reasons: tuple[str, ...]
    next_allowed_at: dt.datetime | None
    local_time: dt.datetime
    # An allowed contact's deadline: the end of the hours that allow it (the earliest of the debtor's zones). A
    # message decided allowed but not yet handed to its provider by then is not sent (sending.handlers).
    open_until: dt.datetime | None = None


@functools.cache
def _holidays(country: str, year: int) -> frozenset[dt.date]:
    try:
        return frozenset(holiday_calendars.country_holidays(country, years=year))
    except NotImplementedError:
        return frozenset()


def is_holiday(country: str, day: dt.date) -> bool:
    return day in _holidays(country, day.year)


def _time_reasons(req: ContactRequest, rules: CountryRules, local: dt.datetime) -> list[str]:
    window = rules.windows.get(local.weekday())
    if window is None:
        return ["day_not_allowed"]
    if rules.no_holidays and is_holiday(req.country, local.date()):
        return ["holiday"]
    if not window.start <= local.time() < window.end:
        return ["outside_hours"]
    return []


def _frequency_reasons(req: ContactRequest, rules: CountryRules, local: dt.datetime) -> list[str]:
    zone = local.tzinfo
    reasons: list[str] = []
    past = [c for c in req.history if c.at <= local and not c.inbound]
    if rules.daily_limit is not None:
        if sum(1 for c in past if c.at.astimezone(zone).date() == local.date()) >= rules.daily_limit:
            reasons.append("daily_limit")
    if rules.one_channel_per_week:
        week = local.date() - dt.timedelta(days=local.weekday())
        if any(c.channel != req.channel and c.at.astimezone(zone).date() >= week for c in past):
            reasons.append("weekly_channel_limit")
    if req.channel in PHONE_CALLS:
        if rules.calls_in_7_days is not None and len(_calls_in_7_days(req, local)) >= rules.calls_in_7_days:
            reasons.append("call_limit_7_in_7")
        if rules.days_after_conversation is not None and _conversations_within(req, rules.days_after_conversation,
                                                                                local):
            reasons.append("call_after_conversation")
    return reasons


# Regulation F's days are the debtor's: `local` is an aware datetime in their zone, and Python adds and subtracts
# days to one on its wall clock, so "7 days" before or after an instant is the same local time 7 calendar days
# away (167 or 169 hours across a change of clocks). _next_candidate counts them the same way, from each past
# contact's local time, or the instant it names would be one these checks still refuse (or an hour late).

def _calls_in_7_days(req: ContactRequest, local: dt.datetime) -> list[dt.datetime]:
    """The account's calls counted at `local` (Regulation F counts per account), in the debtor's zone, oldest
    first."""
    since = local - dt.timedelta(days=7)
    return sorted(c.at.astimezone(local.tzinfo) for c in req.history
                  if c.channel in PHONE_CALLS and not c.inbound and since < c.at <= local
                  and (req.account_ref is None or c.account_ref in (None, req.account_ref)))


def _conversations_within(req: ContactRequest, days: int, local: dt.datetime) -> list[dt.datetime]:
    """The phone conversations recent enough at `local` to forbid a call, in the debtor's zone."""
    since = local - dt.timedelta(days=days)
    return [c.at.astimezone(local.tzinfo) for c in req.history if c.conversation and since < c.at <= local]


def _blocking(req: ContactRequest) -> list[str]:
    reasons = []
    if "all" in req.opted_out or req.channel in req.opted_out:
        reasons.append("opted_out")
    if req.do_not_contact:
        reasons.append("do_not_contact")
    if req.account_status != "open":
        reasons.append("account_inactive")
    if req.legal_hold:
        reasons.append("legal_hold")
    if req.channel not in req.authorised_channels:
        reasons.append("channel_not_authorised")
    return reasons


# How far ahead a next allowed instant is looked for: more than a year, so every weekday, holiday and season of the
# zones' clocks has come round; what no instant of it allows, none ever will (rules that never open, zones whose
# windows never meet).
SEARCH_DAYS = 400


def _next_candidate(req: ContactRequest, rules: CountryRules, local: dt.datetime, reasons: list[str]) -> dt.datetime:
    """The earliest instant at which the first failing rule could pass."""
    zone = local.tzinfo
    if {"day_not_allowed", "holiday", "outside_hours"} & set(reasons):
        day = local.date()
        for offset in range(0, SEARCH_DAYS):
            candidate_day = day + dt.timedelta(days=offset)
            window = rules.windows.get(candidate_day.weekday())
            if window is None or (rules.no_holidays and is_holiday(req.country, candidate_day)):
                continue
            opens = dt.datetime.combine(candidate_day, window.start, tzinfo=zone)
            if opens > local:  # the next window that opens after this instant
                return opens
        return local + dt.timedelta(days=SEARCH_DAYS)
    if "weekly_channel_limit" in reasons:
        monday = local.date() + dt.timedelta(days=7 - local.weekday())
        return dt.datetime.combine(monday, dt.time(0), tzinfo=zone)
    if "daily_limit" in reasons:
        return dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
    later = []
    # A contact leaves the window at exactly its local time so many days on (the checks count only those after
    # the window's start), added on the wall clock as the checks subtract.
    if "call_limit_7_in_7" in reasons and rules.calls_in_7_days is not None:
        calls = _calls_in_7_days(req, local)
        later.append(calls[len(calls) - rules.calls_in_7_days] + dt.timedelta(days=7))
    if "call_after_conversation" in reasons and rules.days_after_conversation is not None:
        last = max(_conversations_within(req, rules.days_after_conversation, local))
        later.append(last + dt.timedelta(days=rules.days_after_conversation))
    return max(later).astimezone(zone) if later else local + dt.timedelta(minutes=1)


def _time_reasons_everywhere(req: ContactRequest, rules: CountryRules, at: dt.datetime,
                             zones: tuple[zoneinfo.ZoneInfo, ...]) -> tuple[list[str], dt.datetime]:
    """The hours and days failing at `at` in the first of the debtor's zones where any fail, with the local time
    there; ([], `at`) when they pass in every zone."""
    for zone in zones:
        local = at.astimezone(zone)
        if failing := _time_reasons(req, rules, local):
            return failing, local
    return [], at


def _window_end(rules: CountryRules, at: dt.datetime, zones: tuple[zoneinfo.ZoneInfo, ...]) -> dt.datetime:
    """When the hours allowing a contact at `at` end: the earliest close of that day's window in the debtor's
    zones (each open at `at`, or the contact would not be allowed)."""
    ends = []
    for zone in zones:
        local = at.astimezone(zone)
        end = dt.datetime.combine(local.date(), rules.windows[local.weekday()].end, tzinfo=zone)
        ends.append(end if end > local else dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(0),
                                                                tzinfo=zone))  # a window open to midnight
    return min(ends).astimezone(dt.UTC)


def _rules_and_zones(req: ContactRequest) -> tuple[CountryRules, tuple[zoneinfo.ZoneInfo, ...]]:
    """The rules that apply, and the debtor's zones: `timezone` first (it dates the limits), then the others."""
    if req.at.tzinfo is None:
        raise ValueError("`at` must be timezone-aware")
    zones = dict.fromkeys((req.timezone, *req.also_zones))
    return req.rules or RULES.get(req.country, DEFAULT_RULES), tuple(zoneinfo.ZoneInfo(z) for z in zones)


def decide_contact(req: ContactRequest) -> ContactDecision:
    rules, zones = _rules_and_zones(req)
    zone = zones[0]
    local = req.at.astimezone(zone)
    blocking = _blocking(req)
    reasons = blocking + _time_reasons_everywhere(req, rules, local, zones)[0] + _frequency_reasons(req, rules, local)
    if not reasons:
        return ContactDecision(True, (), None, local, _window_end(rules, local, zones))
    if blocking:
        return ContactDecision(False, tuple(reasons), None, local)  # no instant is allowed until someone acts
    candidate, horizon = local, local + dt.timedelta(days=SEARCH_DAYS)
    for _ in range(500):
        # The earliest instant every rule passes at: each failing rule moves it to where that rule could pass
        # (the next window opening in the zone that is closed), until none fails; zones whose windows never
        # overlap leave no such instant, nor rules that never open.
        if candidate >= horizon:
            break
        failing_time, there = _time_reasons_everywhere(req, rules, candidate, zones)
        failing = failing_time or _frequency_reasons(req, rules, candidate)
        if not failing:
            return ContactDecision(False, tuple(reasons), candidate.astimezone(dt.UTC), local)
        candidate = _next_candidate(req, rules, there if failing_time else candidate, failing).astimezone(zone)
    return ContactDecision(False, tuple(reasons), None, local)


def violations(req: ContactRequest, *, conversation: bool = False, inbound: bool = False) -> tuple[str, ...]:
    """The rules a contact that already happened broke (for contacts agents log from outside Recaudo, often hours
    later). `req.history` may hold contacts made after it: a calendar day or week is whole, so another contact that
    same day, another channel that same week, calls that make more than the limit in seven days with it, or, for
    a `conversation`, calls in the days after it, are broken rules whichever came first (the later ones were
    decided without knowing of this one). An `inbound` contact (the debtor started it) is no contact the law
    limits: no hours, days, limits or blocks apply to it, only a conversation's seven days to the calls after it."""
    rules, zones = _rules_and_zones(req)
    local = req.at.astimezone(zones[0])
    reasons = [] if inbound else list(decide_contact(req).reasons)
    ours = () if inbound else tuple(c for c in req.history if not c.inbound)  # contacts the collector started
    later = [c for c in ours if c.at > req.at]
    day = [c for c in ours if c.at.astimezone(local.tzinfo).date() == local.date()]
    if rules.daily_limit is not None and len(day) >= rules.daily_limit:
        reasons.append("daily_limit")
    week = local.date() - dt.timedelta(days=local.weekday())
    if rules.one_channel_per_week and any(
            c.channel != req.channel and week <= c.at.astimezone(local.tzinfo).date() < week + dt.timedelta(days=7)
            for c in later):
        reasons.append("weekly_channel_limit")
    if not inbound and req.channel in PHONE_CALLS and rules.calls_in_7_days is not None and _more_calls_than_allowed(
            req, rules, local):
        reasons.append("call_limit_7_in_7")
    if conversation and rules.days_after_conversation is not None and any(
            c.channel in PHONE_CALLS and not c.inbound and local < c.at.astimezone(local.tzinfo)
            < local + dt.timedelta(days=rules.days_after_conversation) for c in req.history if c.at > req.at):
        reasons.append("call_after_conversation")
    return tuple(dict.fromkeys(reasons))  # decide_contact's reasons, then those the later contacts add


def _more_calls_than_allowed(req: ContactRequest, rules: CountryRules, local: dt.datetime) -> bool:
    """Whether some seven days that hold this call hold more calls than the limit with it, the calls after it
    counted too (for a call logged late): for each call in the week after it, those from seven days before that one
    up to it, as decide_contact counts them at that call."""
    assert rules.calls_in_7_days is not None
    calls = [c.at.astimezone(local.tzinfo) for c in req.history
             if c.channel in PHONE_CALLS and not c.inbound
             and (req.account_ref is None or c.account_ref in (None, req.account_ref))]
    ends = [local] + [t for t in calls if local < t < local + dt.timedelta(days=7)]
    return any(sum(1 for t in calls if end - dt.timedelta(days=7) < t <= end) + 1 > rules.calls_in_7_days
               for end in ends)
