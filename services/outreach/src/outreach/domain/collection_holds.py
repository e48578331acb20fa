"""The collection holds as pure rules: an account whose debtor has a pending promise to pay on it, or that stands
under an arrangement (a settlement or an instalment plan), gets no collection message and no agent call until the
hold ends. No I/O; the caller passes `now` and the client company's time zone.

A promise holds until the first instant after its due date plus the grace day in the client company's time zone
(payments' deadline, when it judges the promise kept or broken), and never longer than the client company's promise
window from the day it was made allows: a hold ends by itself even when no verdict ever arrives. An arrangement holds
while it stands, never past its last instalment's deadline; it can only break at an instalment's deadline, so an
attempt it holds is looked at again after the next one."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from recaudo_common.clock import local_today
from recaudo_common.promises import deadline, latest_promise_date

PROMISE_PENDING = "promise_pending"
ARRANGEMENT_STANDING = "arrangement_standing"
HOLD_REASONS = (PROMISE_PENDING, ARRANGEMENT_STANDING)
# How long after an instalment's deadline a held attempt waits for payments' verdict on it (its evaluator runs
# periodically) before it is decided again: a plan broken then is worked from that moment, not a month later.
VERDICT_WAIT = dt.timedelta(hours=6)


@dataclass(frozen=True)
class PendingPromise:
    """A promise on the account payments has not judged (or reopened), as promise.made told it."""

    due_date: dt.date
    made_at: dt.datetime


@dataclass(frozen=True)
class Hold:
    """Why the account is held now, and when the held attempt is to be decided again."""

    reason: str
    until: dt.datetime


def promise_hold_ends(promise: PendingPromise, timezone: str, window_days: int) -> dt.datetime:
    """When a pending promise stops holding its account: its deadline, its due date bounded by the promise window
    counted from the client company's day it was made (a promise further out holds no longer than the window)."""
    latest = latest_promise_date(local_today(timezone, promise.made_at), window_days)  # as the page allows
    return deadline(min(promise.due_date, latest), timezone)


def collection_hold(now: dt.datetime, *, promises: Sequence[PendingPromise],
                    arrangements: Sequence[Sequence[dt.date]], timezone: str, window_days: int) -> Hold | None:
    """The hold the account is under at `now`, or None. `promises`: its pending promises; `arrangements`: the due
    dates of each standing arrangement's instalments. A promise's hold runs to its end; an arrangement's to the
    first of its instalments' deadlines after `now` (plus the wait for the verdict), while its last is ahead."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    ends = [e for e in (promise_hold_ends(p, timezone, window_days) for p in promises) if e > now]
    if ends:
        return Hold(PROMISE_PENDING, max(ends))
    for dues in arrangements:
        deadlines = sorted(deadline(d, timezone) for d in dues)
        if deadlines and now < deadlines[-1]:
            return Hold(ARRANGEMENT_STANDING, next(d for d in deadlines if d > now) + VERDICT_WAIT)
    return None
