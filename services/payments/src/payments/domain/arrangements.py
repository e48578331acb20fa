"""Arrangements: a settlement offer accepted (a discounted amount by a deadline) or an instalment plan;
what makes one acceptable under the client company's limits, how payments toward a plan are allocated to its
instalments, and when a plan is broken."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from recaudo_common.instalments import ArrangementLimits, plan_errors
from recaudo_common.money import after_discount, fits_minor_units, kept_places

MISSED_INSTALMENTS_TO_BREAK = 2  # a plan survives one late instalment; the second breaks it


def arrangement_errors(*, kind: str, balance: Decimal, instalments: list[tuple[dt.date, Decimal]],
                       limits: ArrangementLimits, today: dt.date, currency: str | None = None) -> list[str]:
    errors: list[str] = []
    if balance <= 0:
        return ["the account has nothing left to pay"]
    total = sum((amount for _, amount in instalments), Decimal(0))
    if not instalments:
        return ["at least one instalment (a settlement is one)"]
    if any(amount <= 0 for _, amount in instalments):
        errors.append("every instalment amount must be positive")
    if currency is not None and kept_places(currency) == 0 and any(
            not fits_minor_units(amount, currency) for _, amount in instalments):
        errors.append(f"every instalment must be in whole {currency} (no decimals)")
    if any(due < today for due, _ in instalments):
        errors.append("no instalment may fall due in the past")
    if [d for d, _ in instalments] != sorted(d for d, _ in instalments):
        errors.append("instalments must be in date order")
    max_discount_pct = limits.max_discount_pct
    floor = after_discount(balance, max_discount_pct, currency)
    if kind == "settlement":
        if len(instalments) != 1:
            errors.append("a settlement is one payment by a deadline")
        if total < floor:
            errors.append(f"a settlement of {total} exceeds the client company's {max_discount_pct}% discount limit "
                          f"(at least {floor})")
        if total > balance:
            errors.append(f"a settlement of {total} is more than the balance {balance}")
    else:
        errors += plan_errors([amount for _, amount in instalments], limits)
        if total < floor:
            errors.append(f"the plan pays {total}, below the {max_discount_pct}% discount limit ({floor})")
        if total > balance:  # as a settlement: money not owed, and a plan paid to the balance would break at its end
            errors.append(f"the plan pays {total}, more than the balance {balance}")
    return errors


def allocate(paid: Decimal, amounts: list[Decimal]) -> list[Decimal]:
    """What has been paid toward a plan, applied to its instalments in order: each takes what it asks before the
    next takes anything; what is paid beyond the plan is no instalment's (the ledger keeps it as credit)."""
    allocated: list[Decimal] = []
    left = max(paid, Decimal(0))
    for amount in amounts:
        share = min(left, amount)
        allocated.append(share)
        left -= share
    return allocated


def instalments_short(paid: Decimal, amounts: list[Decimal]) -> int:
    """How many of a plan's instalments (in due order) what has been paid toward it leaves short."""
    return sum(1 for share, amount in zip(allocate(paid, amounts), amounts, strict=True) if share < amount)


def settlement_discount(*, owed: Decimal, paid: Decimal, total: Decimal) -> Decimal:
    """What a settlement reached forgives: what the account would owe (`owed`, after the `paid` toward it since it
    was made) less what its terms still ask (`total` - `paid`), below 0 when it was paid beyond its amount. So the
    debtor who pays 75,000 of a 70,000 settlement of 100,000 is forgiven the 30,000 discount and keeps 5,000 as a
    credit, as any overpayment's excess is kept, never forgiven away with the discount. Never below 0 (a balance
    restated below the settlement since: nothing to forgive)."""
    return max(owed - (total - paid), Decimal(0))
