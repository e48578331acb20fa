"""An account's status, the one rule every service applies: from what is left to pay, whether a settlement
closed it, whether a write-off closed it, and whether the client company recalled it."""

from __future__ import annotations

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


def is_open(status: str) -> bool:
    """Only an open account is worked (segmented, contacted, offered an arrangement)."""
    return status == "open"
