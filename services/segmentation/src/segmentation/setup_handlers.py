"""Handlers behind segmentation's API: a client company's setup (buckets, strategy, channel costs) read and
replaced, and how its accounts are segmented. A new strategy or channel costs queue a re-segmentation; new buckets
make today's aging run again. Buckets and strategy are checked against each other under one lock: new buckets the
strategy in force has no rule for are refused unless they come with a strategy that covers them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from recaudo_common.client_copy import ClientCopy
from recaudo_common.clock import local_today
from recaudo_common.cost_tables import get_cost_table
from recaudo_common.db import Database
from recaudo_common.domain_errors import Conflict, Invalid
from recaudo_common.preconditions import IfMatch, check_if_match, etag_of
from segmentation import store
from segmentation.domain.buckets import DEFAULT_BUCKETS, Bucket, bucket_errors
from segmentation.domain.strategy import (
    cost_sources,
    cost_table_errors,
    default_strategy,
    full_costs,
    strategy_errors,
    uncovered_buckets,
)
from segmentation.handlers import buckets_of
from segmentation.rows import BucketSet, ChannelCosts, ClientSetup, SegmentCount, StrategyVersion
from segmentation.schemas import StrategyIn, document_of, strategy_of


async def bucket_set(db: Database, *, client: str) -> BucketSet:
    """The client company's buckets; version 0, the platform's default set, until it sets its own."""
    async with db.transaction() as s:
        stored = await store.get_buckets(s, client)
    return stored or BucketSet(0, DEFAULT_BUCKETS)


async def replace_buckets(db: Database, *, client: ClientCopy, buckets: Sequence[Bucket], now: dt.datetime,
                          strategy: StrategyIn | None = None, by: str | None = None) -> BucketSet:
    """A new bucket set, refused while the strategy in force has no rule for one of its buckets; with `strategy`,
    that strategy becomes the next version in the same change (checked against the new buckets), so moving to
    new bucket labels is one step."""
    errors = bucket_errors(tuple(buckets))
    if errors:
        raise Invalid("invalid_buckets", "; ".join(errors), title="Invalid buckets",
                      errors=[{"msg": e} for e in errors])
    ordered = tuple(sorted(buckets, key=lambda b: b.low))
    async with db.transaction() as s:
        await store.lock_setup(s, client.slug)
        if strategy is None:
            refuse_uncovered((await store.load_client_setup(s, client.slug)).strategy, ordered)
        else:
            refuse_invalid_strategy(strategy, ordered, client)
        version = await store.put_buckets(s, client.slug, ordered, now)
        await store.reopen_aging(s, client.slug, local_today(client.timezone, now))
        if strategy is not None:
            strategy_version = await store.add_strategy(s, client.slug, strategy, now, created_by=by,
                                                        origin="buckets")
            await store.request_resegmentation(s, client.slug, f"strategy v{strategy_version}", now)
    return BucketSet(version, ordered)


def refuse_uncovered(stored: StrategyVersion | None, buckets: tuple[Bucket, ...]) -> None:
    """Refuses buckets the stored strategy (its champion or its challenger) has no rule for: its accounts would
    get no treatment. The platform's default strategy (none stored) is laid over any buckets."""
    if stored is None:
        return
    arms = [("champion", strategy_of(stored.document, stored.version))]
    if stored.document.challenger is not None:
        arms.append(("challenger", strategy_of(stored.document.challenger, stored.version)))
    missing = [(arm, label) for arm, strategy in arms for label in uncovered_buckets(strategy, buckets)]
    if not missing:
        return
    labels = list(dict.fromkeys(label for _, label in missing))
    raise Conflict(
        "strategy_does_not_cover_buckets",
        f"strategy v{stored.version} has no rule for bucket{'s' if len(labels) > 1 else ''} "
        f"{', '.join(repr(label) for label in labels)}: send these buckets with a strategy that covers them "
        '(the field "strategy" of this body), or only buckets the strategy names',
        title="Strategy does not cover buckets",
        errors=[{"msg": f"{'' if arm == 'champion' else 'challenger: '}no rule for bucket {label!r}", "arm": arm,
                 "bucket": label} for arm, label in missing])


def refuse_invalid_strategy(document: StrategyIn, buckets: tuple[Bucket, ...], client: ClientCopy) -> None:
    """Refuses a strategy that does not fit the buckets or the client company's own limits (its discount ceiling,
    its fewest and most instalments)."""
    errors = strategy_fit_errors(document, buckets, client)
    if errors:
        raise Invalid("invalid_strategy", "; ".join(errors[:20]), title="Invalid strategy",
                      errors=[{"msg": e} for e in errors])


def strategy_fit_errors(document: StrategyIn, buckets: tuple[Bucket, ...], client: ClientCopy) -> list[str]:
    """Why a strategy document (its champion, then its challenger) does not fit the buckets and the client
    company's own limits; empty when it does."""
    limit, instalments = client.max_discount_pct, (client.instalments_min, client.instalments_max)
    errors = strategy_errors(strategy_of(document, 0), buckets, max_discount_pct=limit, instalments=instalments)
    if document.challenger is not None:
        errors += [f"challenger: {e}" for e in strategy_errors(strategy_of(document.challenger, 0), buckets,
                                                               max_discount_pct=limit, instalments=instalments)]
    return errors


def _in_force(setup: ClientSetup) -> StrategyVersion:
    if setup.strategy is None:
        return StrategyVersion(0, document_of(default_strategy(buckets_of(setup.buckets))))
    return setup.strategy


def strategy_etag(strategy: StrategyVersion) -> str:
    """The ETag of a strategy as read: its version and its whole document (version 0 follows the buckets)."""
    return etag_of(strategy.version, strategy.document)


async def current_strategy(db: Database, *, client: str) -> StrategyVersion:
    """The strategy in force; version 0, the platform's default laid over the client's buckets, until it sets one."""
    async with db.transaction() as s:
        return _in_force(await store.load_client_setup(s, client))


async def replace_strategy(db: Database, *, client: ClientCopy, document: StrategyIn, now: dt.datetime,
                           by: str | None = None, if_match: IfMatch | None = None) -> StrategyVersion:
    """A new version of the client company's strategy, checked against its buckets and its own discount ceiling;
    with `if_match`, only if the strategy in force is still the one the caller read."""
    async with db.transaction() as s:
        await store.lock_setup(s, client.slug)  # the buckets it is checked against stay as read until it is kept
        setup = await store.load_client_setup(s, client.slug)
        check_if_match(if_match, strategy_etag(_in_force(setup)), "the strategy")
        refuse_invalid_strategy(document, buckets_of(setup.buckets), client)
        version = await store.add_strategy(s, client.slug, document, now, created_by=by, origin="put")
        await store.request_resegmentation(s, client.slug, f"strategy v{version}", now)
    return StrategyVersion(version, document)


async def channel_costs(db: Database, *, client: str) -> ChannelCosts:
    """The cost of one contact per channel in force: the client company's own cost table for the channels it
    prices, then what was PUT on segmentation's /costs, then the platform's defaults."""
    async with db.transaction() as s:
        setup = await store.load_client_setup(s, client)
    return costs_in_force(setup.costs, setup.cost_table)


async def replace_costs(db: Database, *, client: str, costs: dict[str, Decimal], now: dt.datetime
                        ) -> ChannelCosts:
    """Segmentation's own costs replaced (kept whole, though a channel the client company's cost table prices
    keeps the table's cost while it does); answers what is in force."""
    errors = cost_table_errors(costs)
    if errors:
        raise Invalid("invalid_costs", "; ".join(errors), title="Invalid cost table")
    async with db.transaction() as s:
        await store.put_costs(s, client, costs, now)
        await store.request_resegmentation(s, client, "channel costs", now)
        cost_table = await get_cost_table(s, store.SCHEMA, client)
    return costs_in_force(costs, cost_table)


def costs_in_force(costs: dict[str, Decimal], cost_table: dict[str, Decimal] | None) -> ChannelCosts:
    return ChannelCosts(full_costs(costs, cost_table), cost_sources(costs, cost_table))


async def segment_counts(db: Database, *, client: str) -> list[SegmentCount]:
    async with db.transaction() as s:
        return await store.segment_summary(s, client)
