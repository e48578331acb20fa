"""Segmentation's HTTP API: a client company's buckets of mora and how its accounts are segmented."""

from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from recaudo_common.client_copy import ClientCopy
from recaudo_common.clock import local_today
from recaudo_common.dependencies import OPERATOR_ONLY, PlatformDep, client_of
from recaudo_common.errors import ProblemError
from segmentation import store
from segmentation.domain.buckets import DEFAULT_BUCKETS, Bucket, bucket_errors
from segmentation.domain.strategy import cost_table_errors, default_strategy, full_costs, strategy_errors
from segmentation.domain.strategy_codec import costs_from_json, strategy_from_json, strategy_to_json
from segmentation.handlers import buckets_of


class BucketIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str = Field(min_length=1, max_length=40)
    low: int
    high: int


class BucketsIn(BaseModel):
    """v1: contiguous, non-overlapping, covering -365..36500 days past due."""

    model_config = ConfigDict(extra="forbid")
    buckets: list[BucketIn] = Field(min_length=1, max_length=50)


class BucketsOut(BaseModel):
    """v1: version 0 is the platform's default set."""

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

    model_config = ConfigDict(extra="forbid")
    tiers: TiersIn
    rules: list[RuleIn] = Field(min_length=1, max_length=2000)
    challenger: ChallengerIn | None = None


class StrategyOut(StrategyIn):
    """v1: version 0 is the platform's default."""

    version: int


class CostsIn(BaseModel):
    """v1: cost of one contact per channel in the client company's currency (unlisted channels keep defaults)."""

    model_config = ConfigDict(extra="forbid")
    costs: dict[str, Decimal]


class SegmentRow(BaseModel):
    bucket: str
    segment: str
    treatment: str
    status: str
    accounts: int
    balance: Decimal


class SegmentSummary(BaseModel):
    """v1"""

    items: list[SegmentRow]


router = APIRouter(prefix="/v1", tags=["segmentation"])

# The client company of the path's {slug}, which the caller may see (operator, or the client itself) or operate.
ClientOfCaller = Annotated[ClientCopy, Depends(client_of(store.SCHEMA))]
ClientOfOperator = Annotated[ClientCopy, Depends(client_of(store.SCHEMA, roles=OPERATOR_ONLY))]


@router.get("/clients/{slug}/buckets", response_model=BucketsOut)
async def get_buckets(client: ClientOfCaller, platform: PlatformDep) -> BucketsOut:
    async with platform.db.transaction() as s:
        stored = await store.get_buckets(s, client.slug)
    if stored is None:
        return BucketsOut(version=0, buckets=[BucketIn(label=b.label, low=b.low, high=b.high)
                                              for b in DEFAULT_BUCKETS])
    return BucketsOut(version=stored["version"], buckets=[BucketIn(**b) for b in stored["buckets"]])


@router.put("/clients/{slug}/buckets", response_model=BucketsOut)
async def put_buckets(body: BucketsIn, client: ClientOfOperator, platform: PlatformDep) -> BucketsOut:
    errors = bucket_errors(tuple(Bucket(b.label, b.low, b.high) for b in body.buckets))
    if errors:
        raise ProblemError(422, "invalid_buckets", "Invalid buckets", "; ".join(errors),
                           errors=[{"msg": e} for e in errors])
    now = platform.clock()
    ordered = sorted(body.buckets, key=lambda b: b.low)
    async with platform.db.transaction() as s:
        version = await store.put_buckets(s, client.slug, [b.model_dump() for b in ordered], now)
        await store.reopen_aging(s, client.slug, local_today(client.timezone, now))
    return BucketsOut(version=version, buckets=ordered)


def check_strategy(body: StrategyIn | ChallengerIn, buckets: tuple[Bucket, ...], limit: Decimal) -> list[str]:
    as_json = body.model_dump(mode="json")
    return strategy_errors(strategy_from_json(as_json, 0), buckets, max_discount_pct=limit)


@router.get("/clients/{slug}/strategy", response_model=StrategyOut)
async def get_strategy(client: ClientOfCaller, platform: PlatformDep) -> StrategyOut:
    async with platform.db.transaction() as s:
        settings = await store.load_client_settings(s, client.slug)
    if settings["strategy"] is None:
        buckets = buckets_of({"buckets": settings["buckets"]} if settings["buckets"] else None)
        return StrategyOut(version=0, **strategy_to_json(default_strategy(buckets)))
    return StrategyOut(version=settings["strategy_version"], **settings["strategy"])


@router.put("/clients/{slug}/strategy", response_model=StrategyOut)
async def put_strategy(body: StrategyIn, client: ClientOfOperator, platform: PlatformDep) -> StrategyOut:
    limit = client.max_discount_pct  # the client company's own ceiling
    async with platform.db.transaction() as s:
        settings = await store.load_client_settings(s, client.slug)
    buckets = buckets_of({"buckets": settings["buckets"]} if settings["buckets"] else None)
    errors = check_strategy(body, buckets, limit)
    if body.challenger is not None:
        errors += [f"challenger: {e}" for e in check_strategy(body.challenger, buckets, limit)]
    if errors:
        raise ProblemError(422, "invalid_strategy", "Invalid strategy", "; ".join(errors[:20]),
                           errors=[{"msg": e} for e in errors])
    now = platform.clock()
    async with platform.db.transaction() as s:
        version = await store.add_strategy(s, client.slug, body.model_dump(mode="json"), now)
        await store.request_resegmentation(s, client.slug, f"strategy v{version}", now)
    return StrategyOut(version=version, **body.model_dump())


@router.get("/clients/{slug}/costs", response_model=CostsIn)
async def get_costs(client: ClientOfCaller, platform: PlatformDep) -> CostsIn:
    async with platform.db.transaction() as s:
        settings = await store.load_client_settings(s, client.slug)
    return CostsIn(costs=full_costs(costs_from_json(settings["costs"])))


@router.put("/clients/{slug}/costs", response_model=CostsIn)
async def put_costs(body: CostsIn, client: ClientOfOperator, platform: PlatformDep) -> CostsIn:
    errors = cost_table_errors(body.costs)
    if errors:
        raise ProblemError(422, "invalid_costs", "Invalid cost table", "; ".join(errors))
    now = platform.clock()
    async with platform.db.transaction() as s:
        await store.put_costs(s, client.slug, {k: str(v) for k, v in body.costs.items()}, now)
        await store.request_resegmentation(s, client.slug, "channel costs", now)
    return CostsIn(costs=full_costs(body.costs))


@router.get("/clients/{slug}/segments", response_model=SegmentSummary)
async def segments(client: ClientOfCaller, platform: PlatformDep) -> SegmentSummary:
    async with platform.db.transaction() as s:
        rows = await store.segment_summary(s, client.slug)
    return SegmentSummary(items=[SegmentRow(**r) for r in rows])
