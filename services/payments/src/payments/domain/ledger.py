"""The ledger's arithmetic: balance = placed + adjustments - payments + reversals + chargebacks - write-offs
+ write-off recoveries (domain/write_offs.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from recaudo_common.accounts import LedgerStatus as AccountStatus
from recaudo_common.accounts import ledger_status

# How far ahead of the moment a payment is recorded its date may be: the payer's, the bank's or a gateway's clock
# running a little fast (as much as a webhook's signature timestamp may be off, webhook_signatures). Beyond it, a
# payment dated in the future is refused: it would keep a promise or reach a settlement before the money came.
PAID_AT_TOLERANCE = dt.timedelta(minutes=5)

EntryKind = Literal["placement", "adjustment", "payment", "reversal", "chargeback", "write_off", "write_off_recovery",
                    "write_off_reversal"]

# Entries are stored with the sign they carry into the balance.
SIGN: dict[str, int] = {"placement": 1, "adjustment": 1, "payment": -1, "reversal": 1, "chargeback": 1,
                        "write_off": -1, "write_off_recovery": 1, "write_off_reversal": 1}


@dataclass(frozen=True)
class Entry:
    kind: EntryKind
    amount: Decimal  # signed as it moves the balance


def entry(kind: EntryKind, amount: Decimal) -> Entry:
    """An entry from a positive amount (an adjustment carries its own sign)."""
    if kind == "adjustment":
        return Entry(kind, amount)
    if amount <= 0:
        raise ValueError(f"a {kind} amount must be positive")
    return Entry(kind, amount * SIGN[kind])


def balance(entries: Iterable[Entry]) -> Decimal:
    return sum((e.amount for e in entries), Decimal("0"))


@dataclass(frozen=True)
class AfterPayment:
    balance: Decimal
    credit: Decimal  # an overpayment is kept as a credit, never lost
    status: AccountStatus


def after_payment(current_balance: Decimal, amount: Decimal, current_status: AccountStatus, *,
                  written_off: Decimal = Decimal("0")) -> AfterPayment:
    """`current_balance` includes any written-off money this payment recovers (written back first); `written_off`
    is what stays written off after it."""
    new_balance = current_balance - amount
    credit = -new_balance if new_balance < 0 else Decimal("0")
    return AfterPayment(new_balance, credit, ledger_status(balance=new_balance, settled=current_status == "settled",
                                                           written_off=written_off))


def paid_in_future(paid_at: dt.datetime, now: dt.datetime) -> bool:
    """Whether a payment dated `paid_at`, recorded at `now`, is dated after it (beyond PAID_AT_TOLERANCE)."""
    return paid_at > now + PAID_AT_TOLERANCE
