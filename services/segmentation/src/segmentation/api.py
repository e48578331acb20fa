"""Segmentation's HTTP API: a client company's buckets of mora and how its accounts are segmented."""

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from recaudo_common.auth import Principal
from recaudo_common.client_copy import ClientCopy
from recaudo_common.dependencies import OPERATOR_ONLY, CurrentPrincipal, PlatformDep, client_of
from recaudo_common.preconditions import IfMatchHeader
from recaudo_common.routing import AuthorisedFirstRoute
from segmentation import setup_handlers
from segmentation.rows import BucketSet, ChannelCosts, StrategyVersion
from segmentation.schemas import (
    BucketIn,
    BucketsIn,
    BucketsOut,
    CostsIn,
    CostsOut,
    SegmentRow,
    SegmentSummary,
    StrategyIn,
    StrategyOut,
)
from segmentation.store import SCHEMA

router = APIRouter(route_class=AuthorisedFirstRoute, prefix="/v1", tags=["segmentation"])

# The client company of the path's {slug}, which the caller may see (operator, or the client itself) or operate.
ClientOfCaller = Annotated[ClientCopy, Depends(client_of(SCHEMA))]
ClientOfOperator = Annotated[ClientCopy, Depends(client_of(SCHEMA, roles=OPERATOR_ONLY))]


def caller_of(principal: Principal) -> str:
    """Who made a change, as the auth layer knows the caller: a signed-in person by their e-mail ("user <e-mail>"),
    a machine by its key's id ("key <id>", never the key), as the model's trainings record it."""
    return principal.actor


def buckets_out(bucket_set: BucketSet) -> BucketsOut:
    return BucketsOut(version=bucket_set.version, buckets=[BucketIn.of(b) for b in bucket_set.buckets])


def strategy_out(strategy: StrategyVersion) -> StrategyOut:
    return StrategyOut(version=strategy.version, **strategy.document.model_dump())


@router.get("/clients/{slug}/buckets", response_model=BucketsOut)
async def get_buckets(client: ClientOfCaller, platform: PlatformDep) -> BucketsOut:
    """The client company's buckets of days past due in force (version 0: the platform's default set)."""
    return buckets_out(await setup_handlers.bucket_set(platform.db, client=client.slug))


@router.put("/clients/{slug}/buckets", response_model=BucketsOut)
async def put_buckets(body: BucketsIn, client: ClientOfOperator, principal: CurrentPrincipal,
                      platform: PlatformDep) -> BucketsOut:
    """An operator replaces the client company's buckets; the accounts are aged again into them. Refused 422
    invalid_buckets (gaps, overlaps, not covering -365..36500), 409 strategy_does_not_cover_buckets while the
    strategy in force has no rule for a new label (send `strategy` with them), 422 invalid_strategy for one that
    does not fit them."""
    buckets = [b.to_domain() for b in body.buckets]
    return buckets_out(await setup_handlers.replace_buckets(platform.db, client=client, buckets=buckets,
                                                            strategy=body.strategy, now=platform.clock(),
                                                            by=caller_of(principal)))


@router.get("/clients/{slug}/strategy", response_model=StrategyOut)
async def get_strategy(client: ClientOfCaller, platform: PlatformDep, response: Response) -> StrategyOut:
    """The strategy in force, its `ETag` to send back as `If-Match` with a change."""
    strategy = await setup_handlers.current_strategy(platform.db, client=client.slug)
    response.headers["ETag"] = setup_handlers.strategy_etag(strategy)
    return strategy_out(strategy)


@router.put("/clients/{slug}/strategy", response_model=StrategyOut, responses={
    412: {"description": "precondition_failed: If-Match names a strategy no longer in force"}})
async def put_strategy(body: StrategyIn, client: ClientOfOperator, principal: CurrentPrincipal,
                       platform: PlatformDep, if_match: IfMatchHeader, response: Response) -> StrategyOut:
    """A new version of the strategy; with `If-Match` (optional), only if the one in force is still the one read."""
    kept = await setup_handlers.replace_strategy(platform.db, client=client, document=body, now=platform.clock(),
                                                 by=caller_of(principal), if_match=if_match)
    response.headers["ETag"] = setup_handlers.strategy_etag(kept)
    return strategy_out(kept)


def costs_out(costs: ChannelCosts) -> CostsOut:
    return CostsOut(costs=costs.costs, sources=costs.sources)


@router.get("/clients/{slug}/costs", response_model=CostsOut)
async def get_costs(client: ClientOfCaller, platform: PlatformDep) -> CostsOut:
    """The cost of one contact per channel in force for cost to collect: the client company's own cost table wins
    on the channels it prices; segmentation's own costs, then the platform's defaults, price the rest."""
    return costs_out(await setup_handlers.channel_costs(platform.db, client=client.slug))


@router.put("/clients/{slug}/costs", response_model=CostsOut)
async def put_costs(body: CostsIn, client: ClientOfOperator, platform: PlatformDep) -> CostsOut:
    """Segmentation's own costs (deprecated where the client company has a cost table: its table wins on the
    channels it prices); answers the costs in force."""
    return costs_out(await setup_handlers.replace_costs(platform.db, client=client.slug, costs=body.costs,
                                                        now=platform.clock()))


@router.get("/clients/{slug}/segments", response_model=SegmentSummary)
async def segments(client: ClientOfCaller, platform: PlatformDep) -> SegmentSummary:
    """How the client company's accounts are segmented now: per bucket, segment, treatment and status, the number
    of accounts and their balance."""
    return SegmentSummary(items=[SegmentRow(bucket=c.bucket, segment=c.segment, treatment=c.treatment,
                                            status=c.status, accounts=c.accounts, balance=c.balance)
                                 for c in await setup_handlers.segment_counts(platform.db, client=client.slug)])
