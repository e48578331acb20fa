"""Segmentation's HTTP API: a client company's buckets of mora and how its accounts are segmented."""

import zoneinfo
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from recaudo_common.auth import Principal
from recaudo_common.client_copy import get_client
from recaudo_common.errors import ProblemError, not_found
from recaudo_common.runtime import Platform
from segmentation import store
from segmentation.domain.buckets import DEFAULT_BUCKETS, Bucket, bucket_errors


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


def build_router(platform: Platform) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["segmentation"])
    Auth = Annotated[Principal, Depends(platform.auth)]

    async def known_client(slug: str) -> str:
        async with platform.db.transaction() as s:
            client = await get_client(s, store.SCHEMA, slug)
        if client is None:
            raise not_found(f"client company {slug!r}")
        return client.timezone

    @router.get("/clients/{slug}/buckets", response_model=BucketsOut)
    async def get_buckets(slug: str, principal: Auth) -> BucketsOut:
        principal.require_client(slug)
        await known_client(slug)
        async with platform.db.transaction() as s:
            stored = await store.get_buckets(s, slug)
        if stored is None:
            return BucketsOut(version=0, buckets=[BucketIn(label=b.label, low=b.low, high=b.high)
                                                  for b in DEFAULT_BUCKETS])
        return BucketsOut(version=stored["version"], buckets=[BucketIn(**b) for b in stored["buckets"]])

    @router.put("/clients/{slug}/buckets", response_model=BucketsOut)
    async def put_buckets(slug: str, body: BucketsIn, principal: Auth) -> BucketsOut:
        principal.require_client(slug, roles=("operator",))
        timezone = await known_client(slug)
        errors = bucket_errors(tuple(Bucket(b.label, b.low, b.high) for b in body.buckets))
        if errors:
            raise ProblemError(422, "invalid_buckets", "Invalid buckets", "; ".join(errors),
                               errors=[{"msg": e} for e in errors])
        now = platform.clock()
        ordered = sorted(body.buckets, key=lambda b: b.low)
        async with platform.db.transaction() as s:
            version = await store.put_buckets(s, slug, [b.model_dump() for b in ordered], now)
            await store.reopen_aging(s, slug, now.astimezone(zoneinfo.ZoneInfo(timezone)).date())
        return BucketsOut(version=version, buckets=ordered)

    @router.get("/clients/{slug}/segments", response_model=SegmentSummary)
    async def segments(slug: str, principal: Auth) -> SegmentSummary:
        principal.require_client(slug)
        await known_client(slug)
        async with platform.db.transaction() as s:
            rows = await store.segment_summary(s, slug)
        return SegmentSummary(items=[SegmentRow(**r) for r in rows])

    return router
