"""An account's status, the one rule every service applies: from what is left to pay, whether a settlement
closed it, whether a write-off closed it, and whether the client company recalled it; and its days past due on a
given day, from segmentation's last word on them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

# What the money says (payments' ledger, payment.* events). `written_off` (#22) came after the others: it appears
# only once an account is written off, and every service reads it through this module.
LedgerStatus = Literal["open", "paid", "settled", "written_off"]
AccountStatus = Literal["open", "paid", "settled", "written_off", "recalled"]  # what an account is, recall included
CLOSED: frozenset[str] = frozenset({"paid", "settled", "written_off"})


def ledger_status(*, balance: Decimal, settled: bool, written_off: Decimal = Decimal("0")) -> LedgerStatus:
    """Settled while a kept settlement stands (whatever is paid after it is credit); otherwise open while something
    is left to pay; with nothing left, written off while some written-off money is not recovered (`written_off`),
    else paid."""
    if settled:
        return "settled"
    if balance > 0:
        return "open"
    return "written_off" if written_off > 0 else "paid"


def account_status(ledger: str, *, recalled: bool) -> AccountStatus:
    """A recalled account stays recalled whatever the money does later (the client company took it back);
    otherwise it is what its ledger says."""
    if recalled:
        return "recalled"
    if ledger not in ("open", "paid", "settled", "written_off"):
        raise ValueError(f"unknown ledger status {ledger!r}")
    return ledger  # type: ignore[return-value]


def is_active_obligation(*, balance: Decimal, status: str, recalled: bool) -> bool:
    """An account is an active obligation, the legal basis to keep its debtor's data, while something is left to
    pay, it is not closed (paid, settled, written off) and the client company has not recalled it."""
    return not recalled and status not in CLOSED and status != "recalled" and balance > 0


def is_open(status: str) -> bool:
    """Only an open account is worked (segmented, contacted, offered an arrangement)."""
    return status == "open"


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
