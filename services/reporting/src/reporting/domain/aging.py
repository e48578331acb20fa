"""An account's days past due on the day it is looked at, from segmentation's last word on them."""

from __future__ import annotations

import datetime as dt

from recaudo_common.accounts import is_open


def days_past_due_on(day: dt.date, *, days_past_due: int | None, as_of: dt.date | None, aging_held: bool | None,
                     status: str) -> int | None:
    """Days past due pass one a day unless held: segmentation said `days_past_due` for its client company's local
    day `as_of` and whether they stand still from it (a plan, a closed account: `aging_held`), and its daily aging
    says nothing more until the bucket changes, so an open account not held is `days_past_due + (day − as_of)` on
    the client company's `day`. Held, or no longer open here (paid, settled, written off, recalled: reporting may
    learn of it before segmentation's next word), or said by an event that did not carry the day or the hold
    (account.segmented v1, v2 before them): as said. A `day` before `as_of` (two clocks a moment apart around
    midnight) takes no days off."""
    if days_past_due is None or as_of is None or aging_held is None or aging_held or not is_open(status):
        return days_past_due
    return days_past_due + max((day - as_of).days, 0)
