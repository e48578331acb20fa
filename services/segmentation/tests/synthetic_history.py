"""A deterministic synthetic history with planted effects, for the propensity model's tests: each debtor has a
hidden habit; habitual payers make partial payments, keep promises and answer, and are the ones who pay in full.
Days past due, balance and reachability carry only a little of that, so a model that reads the payment history
must beat one that reads those three alone."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal

from segmentation.domain.history import AccountHistory, Fact, Standing

START = dt.datetime(2025, 1, 6, 15, 0, tzinfo=dt.UTC)
PRODUCTS = ("tarjeta", "libranza", "consumo")


@dataclass(frozen=True)
class Debtor:
    account_ref: str
    placed_at: dt.datetime
    days_past_due: int
    balance: Decimal
    contactable: bool
    product: str
    facts: tuple[Fact, ...]


def debtors(n: int, *, seed: int, days: int = 330) -> list[Debtor]:
    rnd = random.Random(seed)
    result = []
    for i in range(n):
        habit = rnd.random()  # hidden: how much this debtor pays
        placed = START + dt.timedelta(days=7 * rnd.randint(0, days // 21))  # placed weekly, in files
        dpd = rnd.randint(1, 300)
        balance = Decimal(rnd.randint(100_000, 5_000_000))
        contactable = rnd.random() < 0.85
        facts: list[Fact] = []
        remaining = balance
        for month in range(days // 30):
            at = placed + dt.timedelta(days=30 * month + rnd.randint(1, 28))
            if at > START + dt.timedelta(days=days):
                break
            if contactable:
                channel = rnd.choice(("sms", "whatsapp", "email"))
                delivered = rnd.random() < 0.5 + 0.4 * habit
                facts.append(Fact(at - dt.timedelta(days=1), "delivered" if delivered else "failed", channel))
            if rnd.random() < 0.4 * habit:
                facts.append(Fact(at - dt.timedelta(hours=12), "promise_made", detail="agent"))
                facts.append(Fact(at, "promise_kept" if rnd.random() < habit else "promise_broken"))
            # The planted effect: a habitual payer pays in part most months, and such a month is often the last.
            if rnd.random() < 0.8 * habit ** 2:
                if rnd.random() < 0.35 * habit + 0.02 * (dpd < 60):
                    facts.append(Fact(at + dt.timedelta(hours=1), "payment", amount=remaining, closes=True))
                    break
                part = (remaining * Decimal("0.1")).quantize(Decimal(1))
                remaining -= part
                facts.append(Fact(at + dt.timedelta(hours=1), "payment", amount=part))
        facts.sort(key=lambda f: f.at)
        result.append(Debtor(f"S-{i:05d}", placed, dpd, balance, contactable, PRODUCTS[i % 3], tuple(facts)))
    return result


def history_of(d: Debtor) -> AccountHistory:
    return AccountHistory(d.account_ref, d.product, (Standing(d.placed_at, d.days_past_due, d.balance, d.contactable),),
                          d.facts)
