"""An account's own history as segmentation keeps it (payments, promises, contacts), the features the propensity
model reads from it at a given instant (nothing after that instant: no leakage), the label it learns, and the four
indicators (capacity to pay, willingness to pay, contactability, trust) an operator reads and a strategy may use."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from recaudo_common.events import CHANNELS

FactKind = Literal["payment", "reversal", "settled", "promise_made", "promise_kept", "promise_broken",
                   "promise_reopened", "delivered", "failed", "logged", "opted_out", "replied"]
HORIZON_DAYS = 30  # "paid": paid in full or settled within this many days after the instant scored
SNAPSHOT_EVERY_DAYS = 30  # training looks at each account at its placement and every this many days after
ANSWERED = frozenset({"right_party", "promise_to_pay", "refused"})  # a logged contact where the debtor answered
UNANSWERED = frozenset({"no_answer", "wrong_number", "third_party"})


@dataclass(frozen=True)
class Fact:
    """One thing that happened to an account, as its event said it: `closes` marks a payment that left nothing to
    pay (or a settlement); `detail` is a logged contact's outcome, a promise's source (made) or its id (kept,
    broken, reopened); `channel` is "all" for an opt-out of every channel."""

    at: dt.datetime
    kind: FactKind
    channel: str | None = None
    amount: Decimal = Decimal(0)
    detail: str | None = None
    closes: bool = False


@dataclass(frozen=True)
class Standing:
    """The account as one of its assignments saw it: days past due on that day, balance, whether reachable."""

    at: dt.datetime
    days_past_due: int
    balance: Decimal
    contactable: bool


@dataclass(frozen=True)
class AccountHistory:
    account_ref: str
    product: str | None
    standings: tuple[Standing, ...]  # by time
    facts: tuple[Fact, ...]  # by time


@dataclass(frozen=True)
class Features:
    """What the model and the indicators read of one account at one instant."""

    days_past_due: int
    balance: Decimal
    product: str | None
    contactable: bool
    payments_30d: int
    payments_90d: int
    paid_90d: Decimal
    partial_payments_90d: int  # payments that left something to pay: a signal of its own, never the label
    largest_payment_180d: Decimal
    days_since_last_payment: int | None
    promises_kept: int
    promises_broken: int
    delivered_90d: tuple[int, ...]  # per channel, in CHANNELS' order
    failed_90d: tuple[int, ...]
    replies_90d: int
    unanswered_90d: int
    refused_90d: int
    opted_out: bool
    reversals_180d: int

    def vector(self) -> list[float]:
        """The numeric features in NUMERIC_FEATURES' order (an unknown is NaN, which gradient boosting handles)."""
        since = math.nan if self.days_since_last_payment is None else float(self.days_since_last_payment)
        balance = float(self.balance)
        return [float(self.days_past_due), math.log1p(max(balance, 0.0)), 1.0 if self.contactable else 0.0,
                float(self.payments_30d), float(self.payments_90d),
                float(self.paid_90d) / max(balance + float(self.paid_90d), 1.0), float(self.partial_payments_90d),
                since, float(self.promises_kept), float(self.promises_broken), *map(float, self.delivered_90d),
                *map(float, self.failed_90d), float(self.replies_90d), float(self.unanswered_90d),
                1.0 if self.opted_out else 0.0, float(self.reversals_180d)]


NUMERIC_FEATURES: tuple[str, ...] = (
    "days_past_due", "log_balance", "contactable", "payments_30d", "payments_90d", "paid_share_90d",
    "partial_payments_90d", "days_since_last_payment", "promises_kept", "promises_broken",
    *(f"delivered_90d_{c}" for c in CHANNELS), *(f"failed_90d_{c}" for c in CHANNELS), "replies_90d",
    "unanswered_90d", "opted_out", "reversals_180d")


def closed_by(history: AccountHistory, at: dt.datetime) -> bool:
    return any(f.closes and f.at <= at for f in history.facts)


def features_at(history: AccountHistory, at: dt.datetime) -> Features | None:
    """The account's features at `at`, from what had happened by then only; None before it was first assigned."""
    standings = [s for s in history.standings if s.at <= at]
    if not standings:
        return None
    last = standings[-1]
    dpd = last.days_past_due + (at.date() - last.at.date()).days
    facts = [f for f in history.facts if f.at <= at]
    verdicts = promise_verdicts(facts)

    def within(days: int, kind: FactKind) -> list[Fact]:
        return [f for f in facts if f.kind == kind and at - f.at <= dt.timedelta(days=days)]

    payments_90d = within(90, "payment")
    payments = [f for f in facts if f.kind == "payment"]
    logged = within(90, "logged")
    delivered, failed = within(90, "delivered"), within(90, "failed")
    # The balance as of `at`: the latest assignment's, less what was paid after it and by `at`.
    balance = last.balance - sum((f.amount for f in payments if f.at > last.at), Decimal(0))
    return Features(
        days_past_due=dpd, balance=max(balance, Decimal(0)), product=history.product, contactable=last.contactable,
        payments_30d=len(within(30, "payment")), payments_90d=len(payments_90d),
        paid_90d=sum((f.amount for f in payments_90d), Decimal(0)),
        partial_payments_90d=sum(1 for f in payments_90d if not f.closes),
        largest_payment_180d=max((f.amount for f in within(180, "payment")), default=Decimal(0)),
        days_since_last_payment=(at - payments[-1].at).days if payments else None,
        promises_kept=verdicts.count("promise_kept"), promises_broken=verdicts.count("promise_broken"),
        delivered_90d=tuple(sum(1 for f in delivered if f.channel == c) for c in CHANNELS),
        failed_90d=tuple(sum(1 for f in failed if f.channel == c) for c in CHANNELS),
        replies_90d=sum(1 for f in logged if f.detail in ANSWERED) + len(within(90, "replied"))
        + sum(1 for f in within(90, "promise_made") if f.detail == "debtor_page"),
        unanswered_90d=sum(1 for f in logged if f.detail in UNANSWERED),
        refused_90d=sum(1 for f in logged if f.detail == "refused"),
        opted_out=any(f.kind == "opted_out" and f.channel == "all" for f in facts),
        reversals_180d=len(within(180, "reversal")))


def promise_verdicts(facts: Sequence[Fact]) -> list[FactKind]:
    """Each promise's last word among `facts` (in time order): kept, broken, or reopened (pending again: neither).
    A settlement broken at its deadline is kept when a payment made by the deadline becomes known later (a bank
    statement read days after); a promise kept is reopened, or broken, when payments take back the money that kept
    it: counted by its latest verdict, never both. Facts recorded before promises carried their id here have none,
    and each counts as it was."""
    last: dict[str, FactKind] = {}
    anonymous: list[FactKind] = []
    for f in facts:
        if f.kind in ("promise_kept", "promise_broken", "promise_reopened"):
            if f.detail is None:
                anonymous.append(f.kind)
            else:
                last[f.detail] = f.kind
    return anonymous + list(last.values())


def paid_within(history: AccountHistory, at: dt.datetime, horizon_days: int = HORIZON_DAYS) -> bool:
    """The label: paid in full or settled in (at, at + horizon]. A partial payment is not "paid"."""
    end = at + dt.timedelta(days=horizon_days)
    return any(f.closes and at < f.at <= end for f in history.facts)


@dataclass(frozen=True)
class LabelledRow:
    at: dt.datetime
    features: Features
    paid: bool


def training_rows(histories: Sequence[AccountHistory], *, cutoff: dt.datetime, horizon_days: int = HORIZON_DAYS,
                  every_days: int = SNAPSHOT_EVERY_DAYS) -> list[LabelledRow]:
    """Each account looked at on its first assignment and every `every_days` after, while still open and while
    the horizon after the instant has passed by `cutoff` (so every label is known), sorted by time."""
    rows: list[LabelledRow] = []
    for history in histories:
        if not history.standings:
            continue
        at = history.standings[0].at
        while at + dt.timedelta(days=horizon_days) <= cutoff and not closed_by(history, at):
            features = features_at(history, at)
            if features is not None:
                rows.append(LabelledRow(at, features, paid_within(history, at, horizon_days)))
            at += dt.timedelta(days=every_days)
    rows.sort(key=lambda r: (r.at, r.features.days_past_due))
    return rows


Level = Literal["high", "medium", "low"]
INDICATORS = ("capacity", "willingness", "contactability", "trust")
LEVELS: tuple[Level, ...] = ("high", "medium", "low")


@dataclass(frozen=True)
class Indicator:
    value: float  # 0..1
    level: Level


@dataclass(frozen=True)
class Indicators:
    capacity: Indicator
    willingness: Indicator
    contactability: Indicator
    trust: Indicator

    def level(self, name: str) -> Level:
        indicator: Indicator = getattr(self, name)
        return indicator.level

    def words(self) -> str:
        return ", ".join(f"{name} {self.level(name)} ({getattr(self, name).value:.2f})" for name in INDICATORS)


def _level(value: float, high: float, low: float) -> Indicator:
    return Indicator(round(value, 4), "high" if value >= high else "low" if value < low else "medium")


def indicators_of(f: Features) -> Indicators:
    """The four indicators, each a number in 0..1 and its level (docs/strategy-model.md gives the formulas)."""
    balance = float(f.balance)
    capacity = 1.0 if balance <= 0 else min(1.0, float(f.largest_payment_180d) / balance)
    acts = f.payments_90d + f.promises_kept + f.replies_90d
    willingness = (acts + 1) / (acts + f.promises_broken + f.refused_90d + 2)
    reached = sum(f.delivered_90d) + f.replies_90d
    contactability = 0.0 if not f.contactable or f.opted_out else \
        (reached + 1) / (reached + sum(f.failed_90d) + f.unanswered_90d + 2)
    trust = (f.promises_kept + 1) / (f.promises_kept + f.promises_broken + 2 * f.reversals_180d + 2)
    return Indicators(capacity=_level(capacity, 0.5, 0.1), willingness=_level(willingness, 0.67, 0.4),
                      contactability=_level(contactability, 0.7, 0.4), trust=_level(trust, 0.67, 0.4))
