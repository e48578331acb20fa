"""Handlers behind segmentation's API: a client company's setup (buckets, strategy, channel costs) read and
replaced, and how its accounts are segmented. A new strategy or cost table queues a re-segmentation; new buckets
make today's aging run again."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from recaudo_common.client_copy import ClientCopy
from recaudo_common.clock import local_today
from recaudo_common.db import Database
from recaudo_common.domain_errors import Invalid
from segmentation import store
from segmentation.domain.buckets import DEFAULT_BUCKETS, Bucket, bucket_errors
from segmentation.domain.strategy import cost_table_errors, default_strategy, full_costs, strategy_errors
from segmentation.handlers import buckets_of
from segmentation.rows import BucketSet, SegmentCount, StrategyVersion
from segmentation.schemas import StrategyIn, document_of, strategy_of


async def bucket_set(db: Database, *, client: str) -> BucketSet:
    """The client company's buckets; version 0, the platform's default set, until it sets its own."""
    async with db.transaction() as s:
        stored = await store.get_buckets(s, client)
    return stored or BucketSet(0, DEFAULT_BUCKETS)


async def replace_buckets(db: Database, *, client: ClientCopy, buckets: Sequence[Bucket], now: dt.datetime
                          ) -> BucketSet:
    errors = bucket_errors(tuple(buckets))
    if errors:
        raise Invalid("invalid_buckets", "; ".join(errors), title="Invalid buckets",
                      errors=[{"msg": e} for e in errors])
    ordered = tuple(sorted(buckets, key=lambda b: b.low))
    async with db.transaction() as s:
        version = await store.put_buckets(s, client.slug, ordered, now)
        await store.reopen_aging(s, client.slug, local_today(client.timezone, now))
    return BucketSet(version, ordered)


async def current_strategy(db: Database, *, client: str) -> StrategyVersion:
    """The strategy in force; version 0, the platform's default laid over the client's buckets, until it sets one."""
    async with db.transaction() as s:
        setup = await store.load_client_setup(s, client)
    if setup.strategy is None:
        return StrategyVersion(0, document_of(default_strategy(buckets_of(setup.buckets))))
    return setup.strategy


async def replace_strategy(db: Database, *, client: ClientCopy, document: StrategyIn, now: dt.datetime
                           ) -> StrategyVersion:
    """A new version of the client company's strategy, checked against its buckets and its own discount ceiling."""
    async with db.transaction() as s:
        setup = await store.load_client_setup(s, client.slug)
    buckets, limit = buckets_of(setup.buckets), client.max_discount_pct
    errors = strategy_errors(strategy_of(document, 0), buckets, max_discount_pct=limit)
    if document.challenger is not None:
        errors += [f"challenger: {e}" for e in strategy_errors(strategy_of(document.challenger, 0), buckets,
                                                               max_discount_pct=limit)]
    if errors:
        raise Invalid("invalid_strategy", "; ".join(errors[:20]), title="Invalid strategy",
                      errors=[{"msg": e} for e in errors])
    async with db.transaction() as s:
        version = await store.add_strategy(s, client.slug, document, now)
        await store.request_resegmentation(s, client.slug, f"strategy v{version}", now)
    return StrategyVersion(version, document)


async def channel_costs(db: Database, *, client: str) -> dict[str, Decimal]:
    """The cost of one contact per channel: the client company's own, the platform's for the channels it left."""
    async with db.transaction() as s:
        setup = await store.load_client_setup(s, client)
    return full_costs(setup.costs)


async def replace_costs(db: Database, *, client: str, costs: dict[str, Decimal], now: dt.datetime
                        ) -> dict[str, Decimal]:
    errors = cost_table_errors(costs)
    if errors:
        raise Invalid("invalid_costs", "; ".join(errors), title="Invalid cost table")
    async with db.transaction() as s:
        await store.put_costs(s, client, costs, now)
        await store.request_resegmentation(s, client, "channel costs", now)
    return full_costs(costs)


async def segment_counts(db: Database, *, client: str) -> list[SegmentCount]:
    async with db.transaction() as s:
        return await store.segment_summary(s, client)
