"""KPI definitions, one function each, as docs/kpis.md states them: the recovery report's rates, roll and cure
rates month over month, and commission with the remittance due to the client company."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

from recaudo_common.accounts import CLOSED
from recaudo_common.domain_errors import Invalid
from recaudo_common.money import CENT

SIX = Decimal("0.000001")
GROUPINGS = ("bucket", "current_bucket", "segment", "channel", "strategy_arm", "product", "day")


def ratio(numerator: Decimal | int, denominator: Decimal | int) -> Decimal | None:
    """A rate as a fraction rounded half-even to 6 decimals; None when the denominator is zero (undefined)."""
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(SIX, ROUND_HALF_EVEN)


def recovery_rate(recovered: Decimal, placed_balance: Decimal) -> Decimal:
    """Recovered (payments in the period net of their reversals) over the balance placed before `to`."""
    return ratio(recovered, placed_balance) or Decimal(0)


@dataclass(frozen=True)
class Facts:
    """What the read models count and sum for one group of a report over a period (docs/kpis.md): the figures
    every rate is made of. A fact family with nothing in the group leaves its figures at zero."""

    accounts_placed: int = 0
    placed_balance: Decimal = Decimal(0)
    accounts_recalled: int = 0
    recovered: Decimal = Decimal(0)
    payments: int = 0
    attempts: int = 0
    contact_cost: Decimal = Decimal(0)
    accounts_contacted: int = 0
    accounts_right_party: int = 0
    right_party_contacts: int = 0
    right_party_promises: int = 0  # of those, the ones that ended in a promise to pay (outcome promise_to_pay)
    simulated_attempts: int = 0  # the sandbox's: recorded, never counted in the contact figures above
    promises_made: int = 0
    promises_due: int = 0
    promises_kept: int = 0
    accounts_liquidated: int = 0
    outstanding: Decimal = Decimal(0)  # left to pay now on placed accounts still worked (not closed, not recalled)
    written_off: Decimal = Decimal(0)
    accounts_written_off: int = 0
    recovered_after_write_off: Decimal = Decimal(0)  # part of `recovered`, net of the recoveries reversed
    written_off_balance: Decimal = Decimal(0)  # written off and not recovered now, whatever the period


def summed(groups: Iterable[Facts]) -> Facts:
    """The totals of groups that split the facts without overlap: each fact in exactly one group, as when the
    groups are an attribute of the account (its bucket, segment, product...). Every figure, distinct-account
    counts included, then adds up across the groups."""
    totals = Facts()
    for group in groups:
        totals = Facts(**{f.name: getattr(totals, f.name) + getattr(group, f.name) for f in fields(Facts)})
    return totals


@dataclass(frozen=True)
class Rates:
    """Every rate of a group's facts; None where its denominator is zero."""

    contact_rate: Decimal | None
    right_party_contact_rate: Decimal | None
    ptp_rate: Decimal | None
    kept_promise_rate: Decimal | None
    cost_ratio: Decimal | None
    liquidation_rate: Decimal | None


def rates(f: Facts) -> Rates:
    """Every rate of a group's figures (see docs/kpis.md for each definition)."""
    return Rates(
        contact_rate=ratio(f.accounts_contacted, f.accounts_placed),
        right_party_contact_rate=ratio(f.accounts_right_party, f.accounts_placed),
        # Right-party contacts that ended in a promise, of all right-party contacts: a part of its whole, so never
        # above 1 (promises_made also counts each instalment of a plan and promises made on the debtor page).
        ptp_rate=ratio(f.right_party_promises, f.right_party_contacts),
        kept_promise_rate=ratio(f.promises_kept, f.promises_due),
        cost_ratio=ratio(f.contact_cost, f.recovered),
        liquidation_rate=ratio(f.accounts_liquidated, f.accounts_placed),
    )


UNKNOWN = 1 << 30  # the place of a bucket whose first day past due is not known: after every known bucket


def bucket_order(key: str) -> tuple[int, str]:
    """Buckets sort by the lower bound their label starts with ('0', '1-30', ..., '361+'); other keys
    alphabetically after them. Only a guess from the label: roll rates use the bounds segmentation says."""
    m = re.match(r"^-?\d+", key)
    return (int(m.group()) if m else UNKNOWN, key)


@dataclass(frozen=True)
class Roll:
    period: str  # "2026-01→2026-02"
    bucket: str
    accounts: int
    rolled_forward: int  # to a later bucket
    stayed: int
    rolled_back: int  # to an earlier, still delinquent bucket
    cured: int  # to a current bucket (one starting at 0 days past due or before), or paid/settled
    recalled: int
    written_off: int = 0  # to the loss (MISSION §2: a write-off moves the account to the loss bucket)

    @property
    def roll_rate(self) -> Decimal | None:
        # Into the loss is the furthest roll forward: a written-off account has left its bucket the worse way.
        return ratio(self.rolled_forward + self.written_off, self.accounts - self.recalled)

    @property
    def cure_rate(self) -> Decimal | None:
        return ratio(self.cured, self.accounts - self.recalled)


def bucket_place(bucket: str, low: int | None) -> tuple[int, str]:
    """Where a bucket goes in order: by its first day past due; a bucket whose bounds nobody said (history from
    before account.segmented v2, never assigned since) by the number its label starts with, as the default set's
    labels do, else after the others, alphabetically. Buckets with the same first day are the same place."""
    if low is not None:
        return (low, "")
    guessed = bucket_order(bucket)
    return (guessed[0], "") if guessed[0] != UNKNOWN else guessed


def is_current(place: tuple[int, str]) -> bool:
    """Not past due: a bucket starting at 0 days past due or before (`0` in the default set, `Al día` in a set of
    one's own), so it holds the accounts up to date whatever it is called."""
    return place[0] <= 0


def roll_rates(labels: list[str], states: Iterable[tuple[int, str, str | None, int | None]]) -> list[Roll]:
    """Month over month: where the accounts in each delinquent bucket at the end of month m are at the end of
    month m+1. `states` are (period index, account, state at its end, the bucket's first day past due) with
    state a bucket, 'paid', 'settled', 'written_off', 'recalled' or None (not segmented yet)."""
    by_period: dict[int, dict[str, tuple[str | None, tuple[int, str]]]] = {}
    for period, account, state, low in states:
        by_period.setdefault(period, {})[account] = (state, bucket_place(state or "", low))
    out = []
    for i in range(len(labels) - 1):
        before, after = by_period.get(i + 1, {}), by_period.get(i + 2, {})
        tallies: dict[str, Counter[str]] = {}
        places: dict[str, tuple[int, str]] = {}
        for account, (state, place) in before.items():
            if state is None or state in CLOSED or state == "recalled" or is_current(place):
                continue
            nxt, nxt_place = after.get(account, (None, place))
            t = tallies.setdefault(state, Counter())
            places[state] = min(place, places.get(state, place))
            t["accounts"] += 1
            if nxt == "recalled":
                t["recalled"] += 1
            elif nxt == "written_off":
                t["written_off"] += 1
            elif nxt in CLOSED or (nxt is not None and is_current(nxt_place)):
                t["cured"] += 1
            elif nxt is None or nxt == state or nxt_place == place:
                t["stayed"] += 1
            elif nxt_place > place:
                t["rolled_forward"] += 1
            else:
                t["rolled_back"] += 1
        for bucket in sorted(tallies, key=lambda b: (places[b], b)):
            t = tallies[bucket]
            out.append(Roll(f"{labels[i]}→{labels[i + 1]}", bucket, t["accounts"], t["rolled_forward"], t["stayed"],
                            t["rolled_back"], t["cured"], t["recalled"], t["written_off"]))
    return out


@dataclass(frozen=True)
class Commission:
    bucket: str
    recovered: Decimal
    rate: Decimal
    commission: Decimal
    remittance: Decimal


def check_commission_rates(rates_by_bucket: Mapping[str, Decimal]) -> None:
    """The agency's rates are fractions from 0 to 1, each for a named bucket ("*" stands for the default)."""
    bad = [b for b, r in rates_by_bucket.items() if not Decimal(0) <= r <= 1 or not b or b == "*"]
    if bad:
        raise Invalid("invalid_rates", f"rates are fractions from 0 to 1 per named bucket: {', '.join(bad)}",
                      title="Invalid commission rates")


def commission(recovered_by_bucket: dict[str, Decimal], rates_by_bucket: dict[str, Decimal],
               default_rate: Decimal | None = None) -> list[Commission]:
    """The agency's commission per bucket at placement (rounded half-up to the cent) and what it remits."""
    out = []
    for bucket in sorted(recovered_by_bucket, key=bucket_order):
        recovered = recovered_by_bucket[bucket]
        rate = rates_by_bucket.get(bucket, default_rate if default_rate is not None else Decimal(0))
        fee = (recovered * rate).quantize(CENT, ROUND_HALF_UP)
        out.append(Commission(bucket, recovered, rate, fee, recovered - fee))
    return out
