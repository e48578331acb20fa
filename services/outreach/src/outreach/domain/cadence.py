"""A treatment becomes dated attempts: its channels in turn, one touch every `cadence_days`, the first no sooner
than one spacing after the last message that went out or the last payment (a new plan continues the rhythm). A
decision that gives the same treatment again keeps its plan and tops it up to TOUCHES attempts to come."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

TOUCHES = 4  # attempts to come: every decision of segmentation renews or tops up the plan, so four look far enough
DEFAULT_CADENCE_DAYS = 7
# A plan's cadence numbers its touches below this; an attempt added to a plan outside its cadence (the agent's
# callback a debtor asked for on a call) is numbered from it, and a kept plan's top-up counts only the cadence's.
EXTRA_SEQUENCES_FROM = 1000


@dataclass(frozen=True)
class PlannedAttempt:
    sequence: int
    channel: str
    at: dt.datetime


def spacing(cadence_days: int | None) -> dt.timedelta:
    """The time between two touches (also the horizon within which best time may move a touch)."""
    return dt.timedelta(days=cadence_days or DEFAULT_CADENCE_DAYS)


def plan(channels: list[str], cadence_days: int | None, start: dt.datetime, *, after_sequence: int = 0,
         to_come: int = 0) -> list[PlannedAttempt]:
    """The attempts that bring a plan to TOUCHES to come: a new plan's from sequence 1; a kept plan's (`to_come`
    of them still scheduled, the last numbered `after_sequence`) numbered on from it, its channels' turn going on
    where it stopped."""
    if not channels:
        return []  # do not pursue
    every = spacing(cadence_days)
    return [PlannedAttempt(after_sequence + i + 1, channels[(after_sequence + i) % len(channels)], start + i * every)
            for i in range(max(TOUCHES - to_come, 0))
            if after_sequence + i + 1 < EXTRA_SEQUENCES_FROM]  # a plan that long ends (a new treatment starts anew)


def first_touch(now: dt.datetime, cadence_days: int | None, *, last_touch_at: dt.datetime | None,
                last_paid_at: dt.datetime | None, last_to_come_at: dt.datetime | None = None) -> dt.datetime:
    """When a plan's first new touch may come. Segmentation re-decides an account on every payment, every bucket
    it ages into and every strategy change, and a decision that changes the treatment replaces the plan: started at
    `now`, the debtor who just paid through a message's link would get the next collection message a second later,
    and one who was messaged yesterday another today. So the new plan keeps the rhythm: no sooner than one spacing
    (of the new treatment) after the last message that went out, nor after the last payment (a debtor who pays is
    left in peace for a cadence, whatever the amount). A kept plan's new touches come after those it still has to
    come (`last_to_come_at`), one spacing apart."""
    every = spacing(cadence_days)
    start = now
    for last in (last_touch_at, last_paid_at, last_to_come_at):
        if last is not None and last + every > start:
            start = last + every
    return start

