"""Write-offs (#22): which accounts may be written off and for how much, and what a payment after a write-off
does to the ledger (it recovers written-off money before it becomes a credit)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from recaudo_common.accounts import LedgerStatus, ledger_status
from recaudo_common.money import CENT

REASONS = ("uneconomic", "deceased", "statute_barred", "insolvency", "fraud", "other")


class WriteOffRefusedError(ValueError):
    """A write-off that cannot be booked; `code` is the stable reason, `conflict` whether it is the account's state
    (409) rather than the request (422)."""

    def __init__(self, code: str, detail: str, *, conflict: bool) -> None:
        super().__init__(detail)
        self.code, self.detail, self.conflict = code, detail, conflict


@dataclass(frozen=True)
class AfterWriteOff:
    amount: Decimal  # what the write-off takes off the balance
    balance: Decimal
    written_off: Decimal  # written off and not recovered, this write-off included
    status: LedgerStatus


def write_off(*, balance: Decimal, status: LedgerStatus, recalled: bool, written_off: Decimal,
              requested: Decimal | None) -> AfterWriteOff:
    """Writes off `requested` of what is left to pay (all of it when None). Only an open account with something
    left to pay can be written off: a paid, settled or already wholly written-off account has nothing to write
    off, and a recalled one is the client company's again. A partial write-off leaves the account open for the
    rest; the account is `written_off` once nothing is left to pay."""
    if recalled:
        raise WriteOffRefusedError("account_recalled", "the client company recalled this account", conflict=True)
    if status != "open" or balance <= 0:
        raise WriteOffRefusedError("account_not_open", f"this account is {status}: nothing is left to write off",
                                   conflict=True)
    amount = balance if requested is None else requested
    if amount <= 0 or amount != amount.quantize(CENT):
        raise WriteOffRefusedError("invalid_amount", "a write-off amount is more than 0, with at most 2 decimals",
                                   conflict=False)
    if amount > balance:
        raise WriteOffRefusedError("write_off_exceeds_balance",
                                   f"{amount} is more than what is left to pay ({balance})", conflict=False)
    new_balance, total = balance - amount, written_off + amount
    return AfterWriteOff(amount, new_balance, total, ledger_status(balance=new_balance, settled=False,
                                                                   written_off=total))


@dataclass(frozen=True)
class Recovery:
    recovered: Decimal  # of the payment, what recovers written-off money (booked as a write_off_recovery entry)
    written_off: Decimal  # written off and still not recovered after it


def recovery(*, balance: Decimal, written_off: Decimal, amount: Decimal) -> Recovery:
    """A payment pays what is left to pay first; what it brings beyond that recovers written-off money (the
    written-off receivable is written back by a `write_off_recovery` entry and the payment settles it), and only
    what is beyond both is a credit. An accountant's "recovered after write-off": the money is income against the
    loss, never refused and never lost."""
    beyond = amount - max(balance, Decimal("0"))
    recovered = min(max(beyond, Decimal("0")), written_off)
    return Recovery(recovered, written_off - recovered)


def unrecovery(*, balance: Decimal, recovered: Decimal, amount: Decimal) -> Decimal:
    """Of a reversal of `amount` of a payment that recovered `recovered` written-off money (net of earlier
    reversals of it), what goes back to written off rather than onto what is left to pay. A payment was applied to
    the balance, then to written-off money, then to credit: a reversal takes back in the opposite order (the
    account's credit first), so the debt a recovery paid is written off again, as it was, instead of reopening
    the account."""
    credit = max(-balance, Decimal("0"))
    return min(max(amount - credit, Decimal("0")), recovered)


@dataclass(frozen=True)
class AfterWriteOffReversal:
    amount: Decimal  # written-off money owed again
    balance: Decimal
    status: LedgerStatus


def reverse_write_off(*, balance: Decimal, status: LedgerStatus, written_off: Decimal) -> AfterWriteOffReversal:
    """Puts the written-off money not recovered back on what is left to pay (what was recovered stays paid): the
    account is open again. Nothing written off, or a settled account (its settlement closed it), is refused."""
    if written_off <= 0:
        raise WriteOffRefusedError("nothing_written_off", "this account has no written-off money to reverse",
                                   conflict=True)
    if status == "settled":
        raise WriteOffRefusedError("account_not_open", "this account is settled: its settlement closed it",
                                   conflict=True)
    new_balance = balance + written_off
    return AfterWriteOffReversal(written_off, new_balance, ledger_status(balance=new_balance, settled=False))
