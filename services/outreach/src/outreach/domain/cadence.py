"""A treatment becomes dated attempts: its channels in turn, one touch every `cadence_days`, the first no sooner
than one spacing after the last message that went out or the last payment (a new plan continues the rhythm)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

TOUCHES = 4  # a treatment is re-planned whenever segmentation re-decides, so four touches look far enough ahead
DEFAULT_CADENCE_DAYS = 7


@dataclass(frozen=True)
class PlannedAttempt:
    sequence: int
    channel: str
    at: dt.datetime


def spacing(cadence_days: int | None) -> dt.timedelta:
    """The time between two touches (also the horizon within which best time may move a touch)."""
    return dt.timedelta(days=cadence_days or DEFAULT_CADENCE_DAYS)


def plan(channels: list[str], cadence_days: int | None, start: dt.datetime) -> list[PlannedAttempt]:
    if not channels:
        return []  # do not pursue
    every = spacing(cadence_days)
    return [PlannedAttempt(i + 1, channels[i % len(channels)], start + i * every) for i in range(TOUCHES)]


def first_touch(now: dt.datetime, cadence_days: int | None, *, last_touch_at: dt.datetime | None,
                last_paid_at: dt.datetime | None) -> dt.datetime:
    """When a plan's first touch may come. Segmentation re-decides an account on every payment, every bucket it
    ages into and every strategy change, and each decision replaces the plan: started at `now`, the debtor who
    just paid through a message's link would get the next collection message a second later, and one who was
    messaged yesterday another today. So the new plan keeps the rhythm: no sooner than one spacing (of the new
    treatment) after the last message that went out, nor after the last payment (a debtor who pays is left in
    peace for a cadence, whatever the amount)."""
    every = spacing(cadence_days)
    start = now
    for last in (last_touch_at, last_paid_at):
        if last is not None and last + every > start:
            start = last + every
    return start

