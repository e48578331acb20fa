"""A treatment becomes dated attempts: its channels in turn, one touch every `cadence_days`."""

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
