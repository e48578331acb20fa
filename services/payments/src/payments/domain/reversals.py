"""Reversals, refunds and chargebacks, whole or partial: how much one may take back, and the account after it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from recaudo_common.accounts import LedgerStatus, ledger_status


class ReversalRefusedError(ValueError):
    """A reversal that cannot be booked; `code` is the stable reason."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code, self.detail = code, detail


def reversal_amount(*, requested: Decimal | None, paid: Decimal, reversed_so_far: Decimal) -> Decimal:
    """The amount to reverse: what was asked (more than 0, at most what remains un-reversed of the payment), or
    all that remains when nothing was asked."""
    remaining = paid - reversed_so_far
    if requested is None:
        return remaining
    if requested <= 0:
        raise ReversalRefusedError("invalid_amount", "a reversal amount must be greater than 0")
    if requested != requested.quantize(Decimal("0.01")):
        raise ReversalRefusedError("invalid_amount", "a reversal amount has at most 2 decimal places")
    if requested > remaining:
        raise ReversalRefusedError(
            "reversal_exceeds_payment",
            f"{requested} is more than what remains un-reversed of this payment ({remaining} of {paid})")
    return requested


@dataclass(frozen=True)
class AfterReversal:
    balance: Decimal
    status: LedgerStatus


def after_reversal(current_balance: Decimal, amount: Decimal, current_status: LedgerStatus, *,
                   written_off: Decimal = Decimal("0")) -> AfterReversal:
    """The money goes back on the balance; an account with something to pay again is open again (a reversal
    that leaves something to pay undoes a settlement too, and reopens a written-off account for what it owes
    again; what was written off stays written off)."""
    new_balance = current_balance + amount
    return AfterReversal(new_balance, ledger_status(balance=new_balance,
                                                    settled=current_status == "settled" and new_balance <= 0,
                                                    written_off=written_off))
