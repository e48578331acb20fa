"""A client company's limits on arrangements (largest settlement discount, how many instalments, the smallest
instalment) and the instalment schedule, computed the same way by the debtor page that offers it and by payments
that accepts it."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from recaudo_common.money import minor_unit

MIN_INSTALMENTS = 2  # one instalment is a settlement or a promise, not a plan
MAX_INSTALMENTS = 12  # a year of monthly instalments: beyond that a collections plan is a new loan
DEFAULT_MAX_DISCOUNT_PCT = Decimal("40")
FIRST_INSTALMENT_DAYS = 7  # the first instalment falls due a week after the plan is agreed, then monthly


@dataclass(frozen=True)
class ArrangementLimits:
    """What a client company lets an arrangement be (`client.*` events carry it; every copy keeps it).
    `min_instalment_amount` 0 means no minimum."""

    max_discount_pct: Decimal = DEFAULT_MAX_DISCOUNT_PCT
    instalments_min: int = MIN_INSTALMENTS
    instalments_max: int = MAX_INSTALMENTS
    min_instalment_amount: Decimal = Decimal(0)


def limits_errors(limits: ArrangementLimits) -> list[str]:
    """Why a client company's limits cannot be used (each refusal says why)."""
    errors: list[str] = []
    if not Decimal(0) <= limits.max_discount_pct <= 100:
        errors.append("max_discount_pct must be between 0 and 100")
    for name, value in (("instalments_min", limits.instalments_min), ("instalments_max", limits.instalments_max)):
        if not MIN_INSTALMENTS <= value <= MAX_INSTALMENTS:
            errors.append(f"{name} must be between {MIN_INSTALMENTS} and {MAX_INSTALMENTS}")
    if limits.instalments_min > limits.instalments_max:
        errors.append("instalments_min must not be above instalments_max")
    if limits.min_instalment_amount < 0:
        errors.append("min_instalment_amount must not be negative")
    return errors


def split_evenly(total: Decimal, count: int, currency: str | None = None) -> list[Decimal]:
    """`count` instalments of `total`, each in the currency's minor units (to the cent; whole pesos for CLP),
    rounded down; the remainder goes on the last one, so they add up to `total` exactly."""
    if count < 1:
        raise ValueError("at least one instalment")
    part = (total / count).quantize(minor_unit(currency), rounding=ROUND_DOWN)
    return [part] * (count - 1) + [total - part * (count - 1)]


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later, or that month's last day when it has no such day (31 Jan -> 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def schedule(total: Decimal, count: int, today: dt.date,
             currency: str | None = None) -> list[tuple[dt.date, Decimal]]:
    """A plan of `count` monthly instalments of `total` in `currency`, the first a week from `today` (the client
    company's)."""
    first = today + dt.timedelta(days=FIRST_INSTALMENT_DAYS)
    return list(zip([add_months(first, i) for i in range(count)], split_evenly(total, count, currency), strict=True))


def instalment_counts(total: Decimal, limits: ArrangementLimits, currency: str | None = None) -> list[int]:
    """The numbers of instalments a debtor may choose for `total`: within the client company's limits, and none
    whose instalments would fall below its smallest instalment or the currency's minor unit (1 CLP, 0.01 COP)."""
    return [n for n in range(limits.instalments_min, limits.instalments_max + 1)
            if min(split_evenly(total, n, currency)) >= max(limits.min_instalment_amount, minor_unit(currency))]


def plan_errors(amounts: list[Decimal], limits: ArrangementLimits) -> list[str]:
    """Why an instalment plan breaks the client company's limits."""
    errors: list[str] = []
    if not limits.instalments_min <= len(amounts) <= limits.instalments_max:
        errors.append(f"an instalment plan has {limits.instalments_min} to {limits.instalments_max} instalments "
                      "for this client company")
    if limits.min_instalment_amount > 0 and any(a < limits.min_instalment_amount for a in amounts):
        errors.append(f"every instalment must be at least {limits.min_instalment_amount}")
    return errors


def settlement_discount(offered_pct: Decimal, limits: ArrangementLimits) -> Decimal:
    """The discount a settlement offers: the strategy's, never more than the client company allows."""
    return max(Decimal(0), min(offered_pct, limits.max_discount_pct))
