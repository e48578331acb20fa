"""An account's status, the one rule every service applies: from what is left to pay, whether a settlement
closed it, and whether the client company recalled it."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

LedgerStatus = Literal["open", "paid", "settled"]  # what the money says (payments' ledger, payment.* events)
AccountStatus = Literal["open", "paid", "settled", "recalled"]  # what an account is, recall included
CLOSED: frozenset[str] = frozenset({"paid", "settled"})


def ledger_status(*, balance: Decimal, settled: bool) -> LedgerStatus:
    """Settled while a kept settlement stands (whatever is paid after it is credit); otherwise paid once nothing
    is left to pay, open while something is."""
    if settled:
        return "settled"
    return "paid" if balance <= 0 else "open"


def account_status(ledger: str, *, recalled: bool) -> AccountStatus:
    """A recalled account stays recalled whatever the money does later (the client company took it back);
    otherwise it is what its ledger says."""
    if recalled:
        return "recalled"
    if ledger not in ("open", "paid", "settled"):
        raise ValueError(f"unknown ledger status {ledger!r}")
    return ledger  # type: ignore[return-value]


def is_open(status: str) -> bool:
    """Only an open account is worked (segmented, contacted, offered an arrangement)."""
    return status == "open"
