"""The assignment of one account: bucket, value tier, arm, and the treatment the strategy gives it, with
the reasons in words an operator understands."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from segmentation.domain.history import Indicators
from segmentation.domain.strategy import Offer, Rule, Strategy
from segmentation.domain.treatment import NO_RULE, NO_TREATMENT, STOPPED, Score, Treatment, cost_to_collect


@dataclass(frozen=True)
class Assignment:
    bucket: str
    tier: str
    segment: str
    treatment: Treatment
    cadence_days: int
    offer: Offer
    propensity: Decimal
    cost_to_collect: Decimal
    expected_net_recovery: Decimal
    why: str


def assign(*, bucket: str, balance: Decimal, score: Score, strategy: Strategy, costs: dict[str, Decimal],
           status: str = "open", arm: str = "champion", indicators: Indicators | None = None) -> Assignment:
    """Tier by expected recovery (balance × propensity), treatment from the strategy's rule (the first whose
    indicator conditions the account meets, else the cell's), and no pursuit where the treatment would cost more
    than it is expected to bring back."""
    if status != "open":
        return Assignment(bucket, "none", f"{bucket}/closed", STOPPED, 0, Offer(), score.propensity, Decimal(0),
                          Decimal(0), f"account is {status}: no contact")
    expected = (balance * score.propensity).quantize(Decimal("0.01"), ROUND_HALF_UP)
    tier = strategy.tiers.of(expected)
    rule: Rule | None = strategy.rule(bucket, tier, indicators)
    measured = f"; indicators: {indicators.words()}" if indicators is not None else ""
    if rule is None:
        # Contacting with a treatment nobody chose for this bucket could break the client company's own rules
        # (channels, offers): no contact, said plainly, until its strategy covers the bucket.
        return Assignment(bucket, tier, f"{bucket}/{tier}/no_rule", NO_RULE, 0, Offer(), score.propensity,
                          Decimal(0), Decimal(0),
                          f"bucket {bucket}; propensity {score.propensity} ({', '.join(score.reasons)}); expected "
                          f"recovery {expected} ({tier} value){measured}; {arm} strategy v{strategy.version} has no "
                          f"rule for bucket {bucket} and {tier} value: not contacted until the strategy covers it")
    cost = cost_to_collect(rule.treatment, costs)
    net = expected - cost
    condition = f" (rule when {', '.join(f'{k} {v}' for k, v in rule.when)})" if rule.when else ""
    why = (f"bucket {bucket}; propensity {score.propensity} ({', '.join(score.reasons)}); expected recovery "
           f"{expected} ({tier} value){measured}; {arm} strategy v{strategy.version}{condition}: "
           f"{rule.treatment.name} every {rule.cadence_days} days, cost to collect {cost}")
    if rule.offer.kind == "do_not_pursue" or net <= 0:
        reason = "the strategy says do not pursue" if rule.offer.kind == "do_not_pursue" else \
            "cost exceeds expected recovery: do not pursue"
        return Assignment(bucket, tier, f"{bucket}/{tier}/unprofitable", NO_TREATMENT, 0, Offer("do_not_pursue"),
                          score.propensity, Decimal(0), net, f"{why}; {reason}")
    if rule.offer.kind != "none":
        why += f"; offer {rule.offer.kind.replace('_', ' ')}" + (
            f" with {rule.offer.discount_pct}% discount" if rule.offer.discount_pct else "") + (
            f" in {rule.offer.instalments} instalments" if rule.offer.instalments else "")
    return Assignment(bucket, tier, f"{bucket}/{tier}", rule.treatment, rule.cadence_days, rule.offer,
                      score.propensity, cost, net, why)
