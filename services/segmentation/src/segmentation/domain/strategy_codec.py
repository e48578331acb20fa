"""Strategies and cost tables to and from their stored (JSON) form."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from segmentation.domain.strategy import Offer, Rule, Strategy, Tiers
from segmentation.domain.treatment import Treatment


def strategy_from_json(body: dict[str, Any], version: int) -> Strategy:
    tiers = Tiers(Decimal(str(body["tiers"]["high"])), Decimal(str(body["tiers"]["medium"])))
    rules = tuple(
        Rule(r["bucket"], r["tier"], Treatment(r["treatment"], tuple(r["channels"]), int(r["contacts_per_channel"])),
             int(r["cadence_days"]), Offer(r["offer"]["kind"], Decimal(str(r["offer"].get("discount_pct", 0))),
                                          int(r["offer"].get("instalments", 0))))
        for r in body["rules"])
    return Strategy(version, rules, tiers)


def strategy_to_json(strategy: Strategy) -> dict[str, Any]:
    return {
        "tiers": {"high": str(strategy.tiers.high), "medium": str(strategy.tiers.medium)},
        "rules": [{"bucket": r.bucket, "tier": r.tier, "treatment": r.treatment.name,
                   "channels": list(r.treatment.channels), "contacts_per_channel": r.treatment.contacts_per_channel,
                   "cadence_days": r.cadence_days,
                   "offer": {"kind": r.offer.kind, "discount_pct": str(r.offer.discount_pct),
                             "instalments": r.offer.instalments}} for r in strategy.rules],
    }


def costs_from_json(costs: dict[str, Any] | None) -> dict[str, Decimal]:
    return {k: Decimal(str(v)) for k, v in (costs or {}).items()}
