"""Segmentation's wire bodies (v1), and a strategy document to and from the domain's strategy; a strategy version
is stored as the document its PUT carried."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from segmentation.domain.buckets import DEFAULT_BUCKETS, Bucket
from segmentation.domain.strategy import CostSource, Offer, Rule, Strategy, Tiers, default_strategy
from segmentation.domain.treatment import Treatment


class BucketIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str = Field(min_length=1, max_length=40)
    low: int
    high: int

    def to_domain(self) -> Bucket:
        return Bucket(self.label, self.low, self.high)

    @classmethod
    def of(cls, bucket: Bucket) -> BucketIn:
        return cls(label=bucket.label, low=bucket.low, high=bucket.high)


class BucketsIn(BaseModel):
    """v1: contiguous, non-overlapping, covering -365..36500 days past due; refused (409) while the strategy in
    force has no rule for one of them, unless `strategy` comes with them."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"buckets": [{"label": b.label, "low": b.low, "high": b.high} for b in DEFAULT_BUCKETS]}]})
    buckets: list[BucketIn] = Field(min_length=1, max_length=50)
    strategy: StrategyIn | None = Field(None, description="a strategy for these buckets, kept as the next version "
                                        "in the same change (needed when the current one does not name them)")


class BucketsOut(BaseModel):
    """v1: version 0 is the platform's default set."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"version": 2, "buckets": [{"label": b.label, "low": b.low, "high": b.high} for b in DEFAULT_BUCKETS]}]})
    version: int
    buckets: list[BucketIn]


class OfferIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["none", "settlement", "instalment_plan", "do_not_pursue"] = "none"
    discount_pct: Decimal = Decimal(0)
    instalments: int = 0


class RuleIn(BaseModel):
    """One cell of the matrix: what accounts of this bucket and value tier get."""

    model_config = ConfigDict(extra="forbid")
    bucket: str
    tier: Literal["high", "medium", "low"]
    treatment: str = Field(min_length=1, max_length=60)
    channels: list[str]
    contacts_per_channel: int = Field(1, ge=0, le=60)
    cadence_days: int = 3
    offer: OfferIn = OfferIn()
    when: dict[Literal["capacity", "willingness", "contactability", "trust"], Literal["high", "medium", "low"]] = \
        Field(default_factory=dict, description="indicator levels an account must all meet for this rule to apply "
              "before the cell's rule without conditions (which every cell still needs); empty: every account")


class TiersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    high: Decimal = Field(description="expected recovery from which an account is high value")
    medium: Decimal


class ChallengerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    share: Decimal = Field(gt=0, lt=1, description="the stable share of accounts (by hash) that get it")
    tiers: TiersIn
    rules: list[RuleIn]


class StrategyIn(BaseModel):
    """v1: a complete matrix bucket x value tier -> treatment; a new version re-segments the accounts."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=lambda schema, model: strategy_examples(schema, model))
    tiers: TiersIn
    rules: list[RuleIn] = Field(min_length=1, max_length=2000)
    challenger: ChallengerIn | None = None


class StrategyOut(StrategyIn):
    """v1: version 0 is the platform's default."""

    version: int


class CostsIn(BaseModel):
    """v1: cost of one contact per channel in the client company's currency (unlisted channels keep defaults).
    Deprecated where the client company has its own cost table (PUT /v1/clients/{slug}/cost-table in ingest): the
    table's cost wins on every channel it prices; these still price the others (`letter`, which no cost table
    prices, and every channel while the client company has no table)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"costs": {"sms": "45.00", "whatsapp": "120.00", "voice": "350.00", "letter": "3200.00"}}]})
    costs: dict[str, Decimal]


class CostsOut(CostsIn):
    """v1: the cost of one contact per channel in force for cost to collect, and where each comes from: the client
    company's cost table, segmentation's own /costs, or the platform's default."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "costs": {"sms": "45.00", "email": "8.50", "whatsapp": "120.00", "voice": "350.00", "agent": "2800.00",
                  "letter": "3200.00"},
        "sources": {"sms": "cost_table", "email": "cost_table", "whatsapp": "cost_table", "voice": "cost_table",
                    "agent": "cost_table", "letter": "segmentation"}}]})
    sources: dict[str, CostSource] = Field(
        description="per channel: cost_table (the client company's own), segmentation (PUT .../costs) or default")


class SegmentRow(BaseModel):
    bucket: str
    segment: str
    treatment: str
    status: str
    accounts: int
    balance: Decimal


class SegmentSummary(BaseModel):
    """v1"""

    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [
        {"bucket": "31-60", "segment": "31-60/high", "treatment": "digital_and_voicebot", "status": "open",
         "accounts": 1843, "balance": "2764500000.00"},
        {"bucket": "181-360", "segment": "181-360/low", "treatment": "late_settlement", "status": "open",
         "accounts": 412, "balance": "98880000.00"}]}]})
    items: list[SegmentRow]


def strategy_of(document: StrategyIn | ChallengerIn, version: int) -> Strategy:
    """The matrix a strategy document (or its challenger) describes, as the domain applies it."""
    return Strategy(version, tuple(
        Rule(r.bucket, r.tier, Treatment(r.treatment, tuple(r.channels), r.contacts_per_channel), r.cadence_days,
             Offer(r.offer.kind, r.offer.discount_pct, r.offer.instalments), tuple(r.when.items()))
        for r in document.rules), Tiers(document.tiers.high, document.tiers.medium))


def document_of(strategy: Strategy) -> StrategyIn:
    """A strategy (the platform's default) as the document a client company would PUT."""
    return StrategyIn(
        tiers=TiersIn(high=strategy.tiers.high, medium=strategy.tiers.medium),
        rules=[RuleIn(bucket=r.bucket, tier=r.tier, treatment=r.treatment.name,
                      channels=list(r.treatment.channels), contacts_per_channel=r.treatment.contacts_per_channel,
                      cadence_days=r.cadence_days,
                      offer=OfferIn(kind=r.offer.kind, discount_pct=r.offer.discount_pct,
                                    instalments=r.offer.instalments),
                      when={name: level for name, level in r.when})
               for r in strategy.rules])


def example_strategy() -> StrategyIn:
    """The example strategy document: the platform's default over the default buckets (a complete matrix), with a
    challenger for a fifth of the accounts that offers low-value accounts past 90 days a settlement."""
    champion = document_of(default_strategy())
    rules = [r.model_copy(update={"offer": OfferIn(kind="settlement", discount_pct=Decimal("20"))})
             if r.tier == "low" and r.bucket in ("91-120", "121-180") else r for r in champion.rules]
    return champion.model_copy(update={"challenger": ChallengerIn(share=Decimal("0.20"), tiers=champion.tiers,
                                                                   rules=rules)})


def strategy_examples(schema: JsonDict, model: type[Any]) -> None:
    """A strategy document's example (`example_strategy`); the strategy in force answers it with its version. Not
    for a version (StrategyVersionOut), which has more fields and its own."""
    if model not in (StrategyIn, StrategyOut):
        return
    schema["examples"] = [example_strategy().model_dump(mode="json") | ({"version": 4} if model is StrategyOut
                                                                         else {})]
