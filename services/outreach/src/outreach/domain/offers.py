"""What the debtor page offers, from the account's treatment: a settlement at the treatment's discount, an
instalment plan, or neither; and the proof that the debtor answered the identity question (verification.py)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from recaudo_common.money import after_discount

SETTLEMENT_DAYS = 10  # a settlement offer must be paid within this many days
PLAN_INSTALMENTS = 3
PROOF_TTL = dt.timedelta(minutes=30)


@dataclass(frozen=True)
class Offer:
    kind: str  # "settlement" | "instalment_plan"
    instalments: tuple[tuple[dt.date, Decimal], ...]

    @property
    def total(self) -> Decimal:
        return sum((a for _, a in self.instalments), Decimal(0))


def offers(offer: str | None, discount_pct: Decimal | None, balance: Decimal, today: dt.date) -> list[Offer]:
    if balance <= 0 or offer in (None, "none", "do_not_pursue"):
        return []
    if offer == "settlement" and discount_pct:
        amount = after_discount(balance, discount_pct)
        return [Offer("settlement", ((today + dt.timedelta(days=SETTLEMENT_DAYS), amount),))]
    if offer == "instalment_plan":
        part = (balance / PLAN_INSTALMENTS).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
        amounts = [part] * (PLAN_INSTALMENTS - 1) + [balance - part * (PLAN_INSTALMENTS - 1)]
        dates = [today + dt.timedelta(days=7 + 30 * i) for i in range(PLAN_INSTALMENTS)]
        return [Offer("instalment_plan", tuple(zip(dates, amounts, strict=True)))]
    return []


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
