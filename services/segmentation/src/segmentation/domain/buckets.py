"""Buckets of mora (tramos de mora) and the aging rule of MISSION §5."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

from recaudo_common.accounts import is_open


@dataclass(frozen=True)
class Bucket:
    label: str
    low: int  # inclusive
    high: int  # inclusive


DEFAULT_BUCKETS: tuple[Bucket, ...] = (
    Bucket("0", -365, 0),  # preventiva: not yet due
    Bucket("1-30", 1, 30),
    Bucket("31-60", 31, 60),
    Bucket("61-90", 61, 90),
    Bucket("91-120", 91, 120),
    Bucket("121-180", 121, 180),
    Bucket("181-360", 181, 360),
    Bucket("361+", 361, 36500),
)


def bucket_holding(days_past_due: int, buckets: tuple[Bucket, ...] = DEFAULT_BUCKETS) -> Bucket:
    """The bucket of the set that holds these days past due; the first or last beyond the set's ends."""
    for b in buckets:
        if b.low <= days_past_due <= b.high:
            return b
    return buckets[0] if days_past_due < buckets[0].low else buckets[-1]


def bucket_for(days_past_due: int, buckets: tuple[Bucket, ...] = DEFAULT_BUCKETS) -> str:
    return bucket_holding(days_past_due, buckets).label


def days_past_due_on(day: dt.date, *, days_past_due_at_as_of: int, as_of: dt.date) -> int:
    """Days past due on `day`, from what the file stated as of `as_of`: a missed daily run never drifts."""
    return days_past_due_at_as_of + (day - as_of).days


def aged_to(today: dt.date, *, status: str, as_of: dt.date, held_since: dt.date | None,
            closed_on: dt.date | None) -> dt.date:
    """The day an account's days past due are counted to (MISSION §5): today while it ages; no later than the day an
    instalment plan began holding them; for an account no longer open, the day it closed (paid, settled, written
    off, recalled), but never before the day the client company's latest statement of them is for (a file may
    restate a closed account). An account that closed before its day was kept (`closed_on` None) counts to today."""
    day = min(today, held_since) if held_since is not None else today
    if closed_on is not None and not is_open(status):
        day = min(day, max(closed_on, as_of))
    return day


def aging_held(*, status: str, held_since: dt.date | None) -> bool:
    """Whether an account's days past due stand still rather than grow one a day (MISSION §5): an instalment plan
    holds them from `held_since` until it is kept or broken, and an account no longer open (paid, settled, written
    off, recalled) stops aging. A legal hold stops contact, not aging. The daily aging moves only the others
    (store.accounts_changing_bucket says the same in SQL), and account.segmented says it, so a consumer knows
    whether the days it was told go on counting."""
    return held_since is not None or not is_open(status)


MIN_DAYS, MAX_DAYS = -365, 36500


def bucket_errors(buckets: tuple[Bucket, ...]) -> list[str]:
    """Why a bucket set is not usable: it must be contiguous, without overlaps, and cover -365..36500."""
    errors: list[str] = []
    if not buckets:
        return ["at least one bucket"]
    labels = [b.label for b in buckets]
    if len(set(labels)) != len(labels):
        errors.append("bucket labels must be unique")
    ordered = sorted(buckets, key=lambda b: b.low)
    for b in ordered:
        if b.low > b.high:
            errors.append(f"bucket {b.label!r}: low {b.low} is above high {b.high}")
    if ordered[0].low != MIN_DAYS:
        errors.append(f"the first bucket must start at {MIN_DAYS}, not {ordered[0].low}")
    if ordered[-1].high != MAX_DAYS:
        errors.append(f"the last bucket must end at {MAX_DAYS}, not {ordered[-1].high}")
    for before, after in itertools.pairwise(ordered):
        if after.low <= before.high:
            errors.append(f"buckets {before.label!r} and {after.label!r} overlap")
        elif after.low != before.high + 1:
            errors.append(f"a gap between {before.label!r} (to {before.high}) and {after.label!r} (from {after.low})")
    return errors
