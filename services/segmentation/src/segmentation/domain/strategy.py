"""Strategies: a versioned matrix per client company, bucket × value tier → treatment, with a
champion/challenger split by a stable hash of the account. A cell may hold, besides its one rule for every account,
rules for accounts whose indicators meet conditions (`when`: willingness high, contactability low, ...)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from recaudo_common.events import CHANNELS
from recaudo_common.instalments import MAX_INSTALMENTS, MIN_INSTALMENTS
from segmentation.domain.buckets import DEFAULT_BUCKETS, Bucket
from segmentation.domain.history import INDICATORS, LEVELS, Indicators
from segmentation.domain.treatment import DEFAULT_CHANNEL_COSTS, Treatment

TIERS = ("high", "medium", "low")
OfferKind = Literal["none", "settlement", "instalment_plan", "do_not_pursue"]
MAX_DISCOUNT_PCT = Decimal("60")  # no client company gives away more than this without a human deciding


@dataclass(frozen=True)
class Offer:
    kind: OfferKind = "none"
    discount_pct: Decimal = Decimal(0)
    instalments: int = 0


@dataclass(frozen=True)
class Rule:
    bucket: str
    tier: str
    treatment: Treatment
    cadence_days: int = 3
    offer: Offer = Offer()
    when: tuple[tuple[str, str], ...] = ()  # (indicator, level) all of which an account must meet; () = every account


@dataclass(frozen=True)
class Tiers:
    """Expected net recovery thresholds, in the client company's currency."""

    high: Decimal = Decimal("100000")
    medium: Decimal = Decimal("10000")

    def of(self, expected_net_recovery: Decimal) -> str:
        if expected_net_recovery >= self.high:
            return "high"
        return "medium" if expected_net_recovery >= self.medium else "low"


@dataclass(frozen=True)
class Strategy:
    version: int
    rules: tuple[Rule, ...]
    tiers: Tiers = Tiers()

    def rule(self, bucket: str, tier: str, indicators: Indicators | None = None) -> Rule | None:
        """The cell's first rule (in the strategy's order) whose conditions the account's indicators all meet, else
        the cell's rule for every account; None where the strategy has none (a bucket set changed under it before
        such a change was refused), which the assignment answers with no treatment, not a failure. An account not
        yet measured (no indicators) meets no condition."""
        every: Rule | None = None
        for r in self.rules:
            if r.bucket != bucket or r.tier != tier:
                continue
            if not r.when:
                every = every or r
            elif indicators is not None and all(indicators.level(name) == level for name, level in r.when):
                return r
        return every


def default_strategy(buckets: tuple[Bucket, ...] = DEFAULT_BUCKETS) -> Strategy:
    """Version 0: the platform's default treatments, laid over the client's buckets by their lower bound;
    low-value accounts past 180 days get a settlement offer, the cheapest way to close them."""
    from segmentation.domain.treatment import default_treatment

    rules = []
    for b in buckets:
        treatment = default_treatment(max(b.low, 0) if b.low <= 0 <= b.high else b.low)
        for tier in TIERS:
            offer = Offer("settlement", Decimal("30")) if b.low > 180 and tier == "low" else Offer()
            rules.append(Rule(b.label, tier, treatment, 3, offer))
    return Strategy(0, tuple(rules))


def strategy_errors(strategy: Strategy, buckets: tuple[Bucket, ...], *,
                    max_discount_pct: Decimal = MAX_DISCOUNT_PCT,
                    instalments: tuple[int, int] = (MIN_INSTALMENTS, MAX_INSTALMENTS)) -> list[str]:
    """Why a strategy cannot be used: every bucket × tier covered once, channels known, offers sane and within the
    client company's limits (its largest discount, its fewest and most instalments)."""
    errors: list[str] = []
    seen: dict[tuple[str, str], int] = {}
    conditions: set[tuple[str, str, tuple[tuple[str, str], ...]]] = set()
    labels = {b.label for b in buckets}
    for r in strategy.rules:
        if r.when:
            errors += when_errors(r)
            key = (r.bucket, r.tier, tuple(sorted(r.when)))
            if key in conditions:
                errors.append(f"{r.bucket}/{r.tier}: two rules with the same conditions {dict(r.when)}")
            conditions.add(key)
        else:
            seen[(r.bucket, r.tier)] = seen.get((r.bucket, r.tier), 0) + 1
        if r.bucket not in labels:
            errors.append(f"rule for unknown bucket {r.bucket!r}")
        if r.tier not in TIERS:
            errors.append(f"rule for unknown tier {r.tier!r}; tiers are {', '.join(TIERS)}")
        unknown = [c for c in r.treatment.channels if c not in CHANNELS]
        if unknown:
            errors.append(f"{r.bucket}/{r.tier}: unknown channels {unknown}")
        if r.offer.kind != "do_not_pursue" and not r.treatment.channels:
            errors.append(f"{r.bucket}/{r.tier}: a treatment needs at least one channel (or do_not_pursue)")
        if not 1 <= r.cadence_days <= 60:
            errors.append(f"{r.bucket}/{r.tier}: cadence_days must be 1..60")
        if not Decimal(0) <= r.offer.discount_pct <= max_discount_pct:
            errors.append(f"{r.bucket}/{r.tier}: discount {r.offer.discount_pct}% is outside 0..{max_discount_pct}%")
        if r.offer.kind == "instalment_plan" and not instalments[0] <= r.offer.instalments <= instalments[1]:
            errors.append(f"{r.bucket}/{r.tier}: an instalment plan has {instalments[0]}..{instalments[1]} "
                          "instalments")
    for label in sorted(labels):
        for tier in TIERS:
            count = seen.get((label, tier), 0)
            if count == 0:
                errors.append(f"no rule for bucket {label!r} and tier {tier!r}")
            elif count > 1:
                errors.append(f"{count} rules for bucket {label!r} and tier {tier!r} (rules with conditions aside)")
    if strategy.tiers.high <= strategy.tiers.medium:
        errors.append("the high tier threshold must be above the medium one")
    return errors


def when_errors(rule: Rule) -> list[str]:
    return [f"{rule.bucket}/{rule.tier}: unknown condition {name}={level!r}; indicators are "
            f"{', '.join(INDICATORS)}, levels {', '.join(LEVELS)}"
            for name, level in rule.when if name not in INDICATORS or level not in LEVELS]


def uncovered_buckets(strategy: Strategy, buckets: tuple[Bucket, ...]) -> tuple[str, ...]:
    """The labels of the buckets, in their order, for which the strategy lacks a rule (for every account) in at
    least one tier."""
    cells = {(r.bucket, r.tier) for r in strategy.rules if not r.when}
    return tuple(b.label for b in buckets if any((b.label, tier) not in cells for tier in TIERS))


def arm_of(client: str, account_ref: str, challenger_share: Decimal) -> Literal["champion", "challenger"]:
    """A stable arm per account: the same account always lands in the same arm for a given share."""
    digest = hashlib.sha256(f"{client}/{account_ref}".encode()).digest()
    slot = int.from_bytes(digest[:4], "big") % 10_000
    return "challenger" if slot < int(challenger_share * 10_000) else "champion"


def cost_table_errors(costs: dict[str, Decimal]) -> list[str]:
    errors = [f"unknown channel {c!r}" for c in costs if c not in CHANNELS]
    errors += [f"{c}: a cost must be between 0 and 1000" for c, v in costs.items() if not Decimal(0) <= v <= 1000]
    return errors


CostSource = Literal["cost_table", "segmentation", "default"]


def full_costs(overrides: dict[str, Decimal] | None, cost_table: dict[str, Decimal] | None = None
               ) -> dict[str, Decimal]:
    """The cost of one contact on every channel, by precedence: the client company's own cost table (PUT
    /v1/clients/{slug}/cost-table in ingest) for the channels it prices, then segmentation's own `/costs`, then the
    platform's defaults."""
    return {**DEFAULT_CHANNEL_COSTS, **(overrides or {}), **(cost_table or {})}


def cost_sources(overrides: dict[str, Decimal] | None, cost_table: dict[str, Decimal] | None
                 ) -> dict[str, CostSource]:
    """Where each channel's cost in force comes from, by the precedence of full_costs."""
    return {c: "cost_table" if c in (cost_table or {}) else "segmentation" if c in (overrides or {}) else "default"
            for c in full_costs(overrides, cost_table)}
