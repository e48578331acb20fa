"""The best time to contact an account, as the account view says it: the best slot outreach learned for the
account's segment on each channel, and the words its `why` adds for them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class BestTime:
    """A segment's best slot on a channel, as outreach announced it (contact.best_times_learned): the debtor's
    local weekday (0 = Monday) and hour, the slot in Spanish, its rate of good outcomes and the messages sent in it."""

    channel: str
    dow: int
    hour: int
    label: str
    rate: Decimal
    n: int
    learned_at: dt.datetime

    @property
    def reason(self) -> str:
        """'mejor momento (sms): martes 19h, tasa 0.31, n=420'."""
        return f"mejor momento ({self.channel}): {self.label}, tasa {self.rate:.2f}, n={self.n}"


def shown_best_times(best: Sequence[BestTime], channels: Sequence[str] | None) -> list[BestTime]:
    """The best slots of the account's own channels (every one learned when its channels are not known yet), in
    the order of its channels."""
    if channels is None:
        return sorted(best, key=lambda b: b.channel)
    by_channel = {b.channel: b for b in best}
    return [by_channel[c] for c in channels if c in by_channel]


def why_with_best_times(why: str | None, best: Sequence[BestTime]) -> str | None:
    """Segmentation's why followed by each channel's best slot; unchanged before anything is learned."""
    if not best:
        return why
    said = "; ".join(b.reason for b in best)
    return f"{why}; {said}" if why else said
