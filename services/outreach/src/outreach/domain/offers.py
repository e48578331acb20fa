"""What the debtor page offers, from the account's treatment and the client company's limits: paying in full, a
settlement at the treatment's discount (never more than the client company allows), an instalment plan whose number
of instalments the debtor chooses within the client company's limits; and the proof that the debtor answered the
identity question (verification.py)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass
from decimal import Decimal

from recaudo_common.instalments import ArrangementLimits, instalment_counts, schedule, settlement_discount
from recaudo_common.money import after_discount

SETTLEMENT_DAYS = 10  # a settlement offer must be paid within this many days
PROOF_TTL = dt.timedelta(minutes=30)


@dataclass(frozen=True)
class Offer:
    kind: str  # "settlement" | "instalment_plan"
    instalments: tuple[tuple[dt.date, Decimal], ...]
    discount_pct: Decimal = Decimal(0)

    @property
    def total(self) -> Decimal:
        return sum((a for _, a in self.instalments), Decimal(0))


@dataclass(frozen=True)
class PlanChoice:
    """An instalment plan of the whole balance whose number of instalments the debtor chooses among `counts`."""

    balance: Decimal
    counts: tuple[int, ...]
    today: dt.date
    currency: str | None = None  # its instalments are in this currency's minor units (whole pesos for CLP)

    def plan(self, count: int) -> Offer | None:
        """The plan of `count` instalments (dates and amounts, as payments will hold it), None when not offered."""
        if count not in self.counts:
            return None
        return Offer("instalment_plan", tuple(schedule(self.balance, count, self.today, self.currency)))


@dataclass(frozen=True)
class Offers:
    """Everything the page offers an account today; `full` is the balance, paid at once."""

    full: Decimal | None
    settlement: Offer | None
    plan: PlanChoice | None

    def chosen(self, kind: str, instalments: int | None) -> Offer | None:
        """The offer the debtor accepted, None when it is not (or no longer) offered."""
        if kind == "settlement":
            return self.settlement
        if kind == "instalment_plan" and self.plan is not None and instalments is not None:
            return self.plan.plan(instalments)
        return None


def offers(offer: str | None, discount_pct: Decimal | None, balance: Decimal, today: dt.date,
           limits: ArrangementLimits = ArrangementLimits(), currency: str | None = None) -> Offers:
    """The strategy's offer for the account, within the client company's limits, in the currency's minor units
    (to the cent; whole pesos for CLP, whose peso has no cents)."""
    if balance <= 0 or offer == "do_not_pursue":
        return Offers(None, None, None)
    settlement = plan = None
    discount = settlement_discount(discount_pct or Decimal(0), limits)
    if offer == "settlement" and discount > 0:
        amount = after_discount(balance, discount, currency)
        settlement = Offer("settlement", ((today + dt.timedelta(days=SETTLEMENT_DAYS), amount),), discount)
    if offer == "instalment_plan" and (counts := instalment_counts(balance, limits, currency)):
        plan = PlanChoice(balance, tuple(counts), today, currency)
    return Offers(balance, settlement, plan)


def proof(token: str, until: dt.datetime, secret: str) -> str:
    """A short-lived proof that whoever holds this page answered the identity question."""
    stamp = str(int(until.timestamp()))
    mac = hmac.new(secret.encode(), f"verified:{token}:{stamp}".encode(), hashlib.sha256).hexdigest()[:32]
    return f"{stamp}.{mac}"


def proof_valid(token: str, value: str, secret: str, now: dt.datetime) -> bool:
    stamp, _, _ = value.partition(".")
    if not (stamp.isascii() and stamp.isdigit()) or len(stamp) > 11:  # "²".isdigit() is true; int() refuses it
        return False
    until = dt.datetime.fromtimestamp(int(stamp), dt.UTC)
    return now < until and hmac.compare_digest(proof(token, until, secret).encode(), value.encode())
