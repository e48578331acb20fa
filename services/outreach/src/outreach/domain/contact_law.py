"""The full compliance engine of MISSION §6: may this debtor be contacted on this channel at this instant,
and if not, why and when next? Pure: the caller passes the instant, the debtor's contact history (over all
their accounts at the client company) and the account's state.

Rules by country, in the debtor's local time, with public holidays from the `holidays` library:
CO (Ley 2300 de 2023): Mon–Fri 07–19, Sat 08–15, no Sundays or holidays, one contact a calendar day over all
channels, one channel a Mon–Sun week, only authorised channels. PE: Mon–Fri 07–20, no holidays. MX: every day
07–22. US (Regulation F): 08–21; calls at most 7 in 7 days, none within 7 days after a conversation. AR: per
client, default Mon–Fri 09–20, no Sundays or holidays. Opt-outs, do-not-contact, inactive accounts and legal
holds always block.
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from dataclasses import dataclass, field

import holidays as holiday_calendars

from outreach.domain.compliance import RULES, CountryRules

ALWAYS_BLOCKING = ("opted_out", "do_not_contact", "account_inactive", "legal_hold", "channel_not_authorised")
COUNTRIES_WITHOUT_HOLIDAY_CONTACT = frozenset({"CO", "PE", "AR"})


@dataclass(frozen=True)
class PastContact:
    at: dt.datetime
    channel: str
    conversation: bool = False  # a right-party phone conversation


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
    rules: CountryRules | None = None  # a client's stricter override


@dataclass(frozen=True)
class ContactDecision:
    allowed: bool
    reasons: tuple[str, ...]
    next_allowed_at: dt.datetime | None


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
    if req.country in COUNTRIES_WITHOUT_HOLIDAY_CONTACT and is_holiday(req.country, local.date()):
        return ["holiday"]
    if not window.start <= local.time() < window.end:
        return ["outside_hours"]
    return []


def _frequency_reasons(req: ContactRequest, local: dt.datetime) -> list[str]:
    zone = local.tzinfo
    reasons: list[str] = []
    past = [c for c in req.history if c.at <= local]
    if req.country == "CO":
        if any(c.at.astimezone(zone).date() == local.date() for c in past):
            reasons.append("daily_limit")
        week = local.date() - dt.timedelta(days=local.weekday())
        if any(c.channel != req.channel and c.at.astimezone(zone).date() >= week for c in past):
            reasons.append("weekly_channel_limit")
    if req.country == "US" and req.channel == "voice":
        window_start = local - dt.timedelta(days=7)
        if sum(1 for c in past if c.channel == "voice" and c.at > window_start) >= 7:
            reasons.append("call_limit_7_in_7")
        if any(c.conversation and c.at > window_start for c in past):
            reasons.append("call_after_conversation")
    return reasons


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


def _next_candidate(req: ContactRequest, rules: CountryRules, local: dt.datetime, reasons: list[str]) -> dt.datetime:
    """The earliest instant at which the first failing rule could pass."""
    zone = local.tzinfo
    if {"day_not_allowed", "holiday", "outside_hours"} & set(reasons):
        day = local.date()
        for offset in range(0, 400):
            candidate_day = day + dt.timedelta(days=offset)
            window = rules.windows.get(candidate_day.weekday())
            if window is None:
                continue
            if req.country in COUNTRIES_WITHOUT_HOLIDAY_CONTACT and is_holiday(req.country, candidate_day):
                continue
            opens = dt.datetime.combine(candidate_day, window.start, tzinfo=zone)
            if opens > local:  # the next window that opens after this instant
                return opens
        return local + dt.timedelta(days=400)
    if "weekly_channel_limit" in reasons:
        monday = local.date() + dt.timedelta(days=7 - local.weekday())
        return dt.datetime.combine(monday, dt.time(0), tzinfo=zone)
    if "daily_limit" in reasons:
        return dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
    later = []
    if "call_limit_7_in_7" in reasons:
        calls = sorted(c.at for c in req.history if c.channel == "voice" and c.at > local - dt.timedelta(days=7))
        later.append(calls[len(calls) - 7] + dt.timedelta(days=7, seconds=1))
    if "call_after_conversation" in reasons:
        last = max(c.at for c in req.history if c.conversation)
        later.append(last + dt.timedelta(days=7, seconds=1))
    return max(later).astimezone(zone) if later else local + dt.timedelta(minutes=1)


def decide_contact(req: ContactRequest) -> ContactDecision:
    if req.at.tzinfo is None:
        raise ValueError("`at` must be timezone-aware")
    rules = req.rules or RULES.get(req.country, RULES["CO"])
    zone = zoneinfo.ZoneInfo(req.timezone)
    local = req.at.astimezone(zone)
    blocking = _blocking(req)
    reasons = blocking + _time_reasons(req, rules, local) + _frequency_reasons(req, local)
    if not reasons:
        return ContactDecision(True, (), None)
    if blocking:
        return ContactDecision(False, tuple(reasons), None)  # no instant is allowed until someone acts
    candidate = local
    for _ in range(500):
        failing = _time_reasons(req, rules, candidate) + _frequency_reasons(req, candidate)
        if not failing:
            return ContactDecision(False, tuple(reasons), candidate.astimezone(dt.UTC))
        candidate = _next_candidate(req, rules, candidate, failing)
    return ContactDecision(False, tuple(reasons), None)
