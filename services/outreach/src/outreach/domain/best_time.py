"""The best time to contact a debtor: which weekday and hour, in the debtor's local time, got good outcomes for
a client company's segment on a channel, and the slot the contact law allows that has the best learned rate.

Pure: the caller passes the observed counts, the contact law's rules and the instants; nothing reads a clock.

A *good outcome* of a message sent in a slot is its reply (not an opt-out), or a promise or a payment it was the
last message before (last touch, within a window; the store says which). Counts are per (segment, channel,
weekday, hour): n messages sent, g good outcomes. The rate is a Beta-binomial posterior mean with
empirical-Bayes shrinkage in two levels, prior strength k:

    channel prior      p_c    = (G_c + 1) / (N_c + 2)                   (all the client's segments on the channel)
    segment prior      p_sc   = (G_sc + k * p_c) / (N_sc + k)           (the segment on the channel, all slots)
    slot rate          r_sch  = (g + k * p_sc) / (n + k)                (the segment on the channel at this slot)

A slot with few observations keeps (nearly) its segment's prior; a segment with few keeps the channel's. Every
slot of a segment and channel that has any history is learned, the unobserved ones at the segment's prior.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from outreach.domain.contact_law import ContactRequest, CountryRules, decide_contact, is_holiday

DAYS = 7
HOURS = 24
# Weekday names as the user-facing reasons say them (Monday first, like datetime.weekday()).
DAY_NAMES = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
MAX_HORIZON = dt.timedelta(days=7)  # a week holds every weekday and hour once


@dataclass(frozen=True)
class Observation:
    """Messages sent to a segment on a channel in one local weekday and hour, and how many went well."""

    segment: str
    channel: str
    dow: int  # 0 = Monday, in the debtor's local time
    hour: int  # 0-23, in the debtor's local time
    sent: int
    good: int


@dataclass(frozen=True)
class LearnedWindow:
    """One learned slot: its shrunk rate of good outcomes and the messages it was learned from."""

    segment: str
    channel: str
    dow: int
    hour: int
    rate: float
    n: int

    @property
    def label(self) -> str:
        """The slot in Spanish: 'martes 19h'."""
        return f"{DAY_NAMES[self.dow]} {self.hour}h"

    @property
    def reason(self) -> str:
        """Why an attempt was put in this slot, as its reasons show it."""
        return f"best_time: {self.label} (tasa {self.rate:.2f}, n={self.n})"


def local_slot(instant: dt.datetime, timezone: str) -> tuple[int, int]:
    """The (weekday, hour) of an instant in the debtor's zone."""
    if instant.tzinfo is None:
        raise ValueError("the instant must be timezone-aware")
    local = instant.astimezone(zoneinfo.ZoneInfo(timezone))
    return local.weekday(), local.hour


def learn(observations: Iterable[Observation], *, prior_strength: float) -> list[LearnedWindow]:
    """Every slot of each segment and channel observed, its rate shrunk as the module's docstring says."""
    if prior_strength <= 0:
        raise ValueError("the prior strength must be positive")
    k = prior_strength
    cells: dict[tuple[str, str], dict[tuple[int, int], list[int]]] = defaultdict(dict)
    for o in observations:
        if not (0 <= o.dow < DAYS and 0 <= o.hour < HOURS) or o.sent < 0 or not 0 <= o.good <= o.sent:
            raise ValueError(f"not an observation: {o}")
        counts = cells[(o.segment, o.channel)].setdefault((o.dow, o.hour), [0, 0])
        counts[0] += o.sent
        counts[1] += o.good
    channel_totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for (_, channel), slots in cells.items():
        for sent, good in slots.values():
            channel_totals[channel][0] += sent
            channel_totals[channel][1] += good
    learned: list[LearnedWindow] = []
    for (segment, channel), slots in sorted(cells.items()):
        big_n, big_g = channel_totals[channel]
        channel_prior = (big_g + 1) / (big_n + 2)
        seg_n = sum(c[0] for c in slots.values())
        seg_g = sum(c[1] for c in slots.values())
        segment_prior = (seg_g + k * channel_prior) / (seg_n + k)
        for dow in range(DAYS):
            for hour in range(HOURS):
                n, g = slots.get((dow, hour), (0, 0))
                learned.append(LearnedWindow(segment, channel, dow, hour, (g + k * segment_prior) / (n + k), n))
    return learned


@dataclass(frozen=True)
class SlotChoice:
    """Where an attempt goes: the instant, and the learned slot that put it there (None: the first allowed)."""

    at: dt.datetime
    window: LearnedWindow | None


def _allowed(rules: CountryRules, country: str, timezone: str, channel: str, at: dt.datetime) -> bool:
    """Whether the contact law's hours, days and holidays allow `at` (no history: its limits cannot block)."""
    return decide_contact(ContactRequest(country=country, timezone=timezone, channel=channel, at=at,
                                         authorised_channels=(channel,), rules=rules)).allowed


def allowed_slots(*, rules: CountryRules, country: str, timezone: str, start: dt.datetime,
                  horizon: dt.timedelta) -> list[dt.datetime]:
    """The instants in [start, start + horizon) the contact law's hours, days and holidays allow: the first one,
    then the start of each later local hour that is open (or the moment in it the window opens). Read from the
    rules' windows directly (a week's slots cost microseconds, not a decision each); consent, holds and
    frequency are the send's own check and do not depend on the hour chosen here."""
    zone = zoneinfo.ZoneInfo(timezone)
    end = start + min(horizon, MAX_HORIZON)
    found: list[dt.datetime] = []
    day = start.astimezone(zone).date()
    while dt.datetime.combine(day, dt.time(0), tzinfo=zone) < end:
        window = rules.windows.get(day.weekday())
        if window is not None and not (rules.no_holidays and is_holiday(country, day)):
            opens = dt.datetime.combine(day, window.start, tzinfo=zone)
            for hour in range(window.start.hour, HOURS):
                at = max(dt.datetime.combine(day, dt.time(hour), tzinfo=zone), opens, start)
                local = at.astimezone(zone)
                if at >= end or local.date() != day or local.time() >= window.end:
                    break
                if not found or at > found[-1]:
                    found.append(at)
        day += dt.timedelta(days=1)
    return found


def choose_slot(slots: list[dt.datetime], windows: Mapping[tuple[int, int], LearnedWindow],
                timezone: str) -> SlotChoice | None:
    """The allowed slot with the highest learned rate, the earliest among equals; with nothing learned, the
    first allowed slot. None when no slot is allowed."""
    if not slots:
        return None
    if not windows:
        return SlotChoice(slots[0], None)
    best: SlotChoice | None = None
    for at in slots:
        window = windows.get(local_slot(at, timezone))
        if window is not None and (best is None or best.window is None or window.rate > best.window.rate):
            best = SlotChoice(at, window)
    return best or SlotChoice(slots[0], None)


def best_slot(*, rules: CountryRules, country: str, timezone: str, channel: str, start: dt.datetime,
              horizon: dt.timedelta, windows: Mapping[tuple[int, int], LearnedWindow]) -> SlotChoice | None:
    """Where an attempt due at `start` goes within its horizon (the cadence's spacing); the slot chosen is checked
    once more by the contact law's own engine, and a slot it would refuse is never returned."""
    choice = choose_slot(allowed_slots(rules=rules, country=country, timezone=timezone, start=start,
                                       horizon=horizon), windows, timezone)
    if choice is None or not _allowed(rules, country, timezone, channel, choice.at):
        return None
    return choice


def best_of_each(windows: Iterable[LearnedWindow], *, per_channel: int, limit: int) -> list[tuple[int, LearnedWindow]]:
    """Each segment and channel's `per_channel` best slots with their rank (1 = best; the earliest among equal
    rates, as planning picks), by segment, channel and rank; at most `limit` in all, the segments and channels
    with the most messages sent kept first when there are more."""
    by_pair: dict[tuple[str, str], list[LearnedWindow]] = defaultdict(list)
    for w in windows:
        by_pair[(w.segment, w.channel)].append(w)
    pairs = sorted(by_pair, key=lambda pair: (-sum(w.n for w in by_pair[pair]), pair))
    kept: list[tuple[int, LearnedWindow]] = []
    for pair in pairs:
        ranked = sorted(by_pair[pair], key=lambda w: (-w.rate, w.dow, w.hour))[:per_channel]
        room = limit - len(kept)
        if room < len(ranked):
            break
        kept.extend((rank, w) for rank, w in enumerate(ranked, start=1))
    return sorted(kept, key=lambda kept_one: (kept_one[1].segment, kept_one[1].channel, kept_one[0]))
