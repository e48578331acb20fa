"""The reconciliation's rules, pure: a client company's local day as an instant range, and the comparison of what a
gateway reports with what the ledger holds, per gateway payment id, into the differences an operator settles."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Literal

from recaudo_common.clock import local_instant, local_today
from recaudo_common.money import CENT

DifferenceKind = Literal["missing_here", "missing_there", "amount_mismatch", "status_mismatch"]
# What the gateway says a payment is, in the notifications' words (payments.gateways.domain.notifications).
TAKEN_BACK = frozenset({"refunded", "charged_back", "voided"})
ZERO = Decimal("0")


@dataclass(frozen=True, slots=True)
class Reported:
    """A payment as the gateway's API reports it: its id (the one payments applies it once by), status, amount in
    major units, currency, and what the gateway has refunded of it in all."""

    gateway_payment_id: str
    status: str
    amount: Decimal
    currency: str
    refunded: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class Held:
    """A gateway payment as the ledger holds it: `status` applied, reversed or unmatched (in suspense)."""

    gateway_payment_id: str
    status: str
    amount: Decimal
    currency: str
    reversed_amount: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class Difference:
    kind: DifferenceKind
    gateway_payment_id: str
    currency: str
    amount_there: Decimal | None = None
    amount_here: Decimal | None = None
    status_there: str | None = None
    status_here: str | None = None
    in_suspense: bool = False  # missing_here: the payment is here, waiting in suspense, not applied


@dataclass(frozen=True)
class Comparison:
    differences: list[Difference] = field(default_factory=list)
    reported: int = 0
    approved_there: int = 0
    approved_there_total: Decimal = ZERO
    applied_here: int = 0
    applied_here_total: Decimal = ZERO


def day_bounds(day: dt.date, zone: str) -> tuple[dt.datetime, dt.datetime]:
    """The client company's local day as [start, end) in UTC (23 or 25 hours where clocks move)."""
    start, end = local_instant(day, zone), local_instant(day + dt.timedelta(days=1), zone)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def yesterday(now: dt.datetime, zone: str) -> dt.date:
    """The last whole local day before `now` in the client company's zone."""
    return local_today(zone, now) - dt.timedelta(days=1)


def money(amount: Decimal) -> Decimal:
    """An amount written to the cent (12000 -> 12000.00), a finer one (a three-decimal currency) as it is."""
    cents = amount.quantize(CENT)
    return cents if cents == amount else amount


def compare(reported: Sequence[Reported], held: Mapping[str, Held], applied_that_day: Iterable[Held]) -> Comparison:
    """Each payment the gateway reports against the ledger's (`held`, by id, whatever day it was applied), and each
    payment applied here that day the gateway does not report (missing_there)."""
    differences: list[Difference] = []
    reported = [replace(r, amount=money(r.amount), refunded=money(r.refunded)) for r in reported]
    approved = [r for r in reported if r.status == "approved"]
    for r in reported:
        h = held.get(r.gateway_payment_id)
        found = _difference(r, h)
        if found is not None:
            differences.append(found)
    seen = {r.gateway_payment_id for r in reported}
    applied = [h for h in applied_that_day if h.status != "unmatched"]
    for h in applied:
        if h.gateway_payment_id not in seen:
            differences.append(Difference("missing_there", h.gateway_payment_id, h.currency, amount_here=h.amount,
                                          status_here=h.status))
    differences.sort(key=lambda d: (d.kind, d.gateway_payment_id))
    return Comparison(differences=differences, reported=len(reported), approved_there=len(approved),
                      approved_there_total=money(sum((r.amount for r in approved), ZERO)),
                      applied_here=len(applied), applied_here_total=money(sum((h.amount for h in applied), ZERO)))


def _difference(r: Reported, h: Held | None) -> Difference | None:
    here = None if h is None else h.status
    if r.status == "approved":
        if h is None or h.status == "unmatched":
            return Difference("missing_here", r.gateway_payment_id, r.currency, amount_there=r.amount,
                              amount_here=None if h is None else h.amount, status_there=r.status, status_here=here,
                              in_suspense=h is not None)
        if h.currency != r.currency or h.amount != r.amount:
            return Difference("amount_mismatch", r.gateway_payment_id, r.currency, amount_there=r.amount,
                              amount_here=h.amount, status_there=r.status, status_here=here)
        if r.refunded != h.reversed_amount:
            # Partly refunded there by another amount than was taken back here (or taken back here, not there).
            return Difference("status_mismatch", r.gateway_payment_id, r.currency, amount_there=r.amount - r.refunded,
                              amount_here=h.amount - h.reversed_amount,
                              status_there="partially_refunded" if r.refunded else r.status, status_here=here)
        return None
    if h is None or h.status == "unmatched":
        return None  # neither approved there nor applied here
    if r.status in TAKEN_BACK:
        if h.reversed_amount >= h.amount:
            return None  # taken back whole here too
        return Difference("status_mismatch", r.gateway_payment_id, r.currency, amount_there=ZERO,
                          amount_here=h.amount - h.reversed_amount, status_there=r.status, status_here=here)
    # Pending, declined or expired there, applied here.
    return Difference("status_mismatch", r.gateway_payment_id, r.currency, amount_there=ZERO,
                      amount_here=h.amount - h.reversed_amount, status_there=r.status, status_here=here)
