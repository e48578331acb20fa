"""Strategy versions (#22): listed with who made them, the challenger promoted to champion, an old version restored
whole. Each change is a new version, kept under the same lock as a PUT of the strategy and checked as one against
the buckets and the client company's limits of today, and the client company's accounts are re-segmented after it
as after a PUT (a queued resegment request the periodic worker carries out)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from recaudo_common.client_copy import ClientCopy
from recaudo_common.db import Database
from recaudo_common.domain_errors import Conflict, NotFound
from segmentation import store, strategy_versions_store
from segmentation.domain.buckets import Bucket
from segmentation.handlers import buckets_of
from segmentation.schemas import StrategyIn
from segmentation.setup_handlers import strategy_fit_errors
from segmentation.strategy_versions_store import KeptVersion


def promoted(document: StrategyIn) -> StrategyIn | None:
    """The strategy whose champion is the document's challenger (its tiers and rules), with no challenger left;
    None when the document has no challenger."""
    challenger = document.challenger
    if challenger is None:
        return None
    return StrategyIn(tiers=challenger.tiers, rules=challenger.rules, challenger=None)


async def list_versions(db: Database, *, client: str, before: int | None, limit: int
                        ) -> tuple[list[KeptVersion], int]:
    """At most `limit` kept versions, newest first (older than `before` when given), and the version in force."""
    async with db.transaction() as s:
        return (await strategy_versions_store.versions(s, client, before=before, limit=limit),
                await strategy_versions_store.current_version(s, client))


async def get_version(db: Database, *, client: str, number: int) -> tuple[KeptVersion, int]:
    """One kept version and the version in force; NotFound when the client company never had it."""
    async with db.transaction() as s:
        kept = await strategy_versions_store.version(s, client, number)
        current = await strategy_versions_store.current_version(s, client)
    if kept is None:
        raise NotFound(f"strategy version {number} of this client company")
    return kept, current


async def promote_challenger(db: Database, *, client: ClientCopy, by: str, now: dt.datetime,
                             expected_version: int | None = None) -> KeptVersion:
    """A new version whose champion is the challenger in force, with no challenger; refused when there is none, and,
    with `expected_version`, when another version is in force (the challenger judged is not the one in force)."""
    async with db.transaction() as s:
        await store.lock_setup(s, client.slug)  # nothing replaces the strategy between reading and keeping
        setup = await store.load_client_setup(s, client.slug)
        current = setup.strategy
        version_in_force = current.version if current is not None else 0
        if expected_version is not None and expected_version != version_in_force:
            raise Conflict("version_changed", f"strategy v{version_in_force} is in force, not v{expected_version}: its "
                           "challenger may not be the one judged; read the versions and promote again",
                           title="Strategy changed")
        document = promoted(current.document) if current is not None else None
        if current is None or document is None:
            in_force = f"strategy v{current.version}" if current is not None else "the platform's default strategy"
            raise Conflict("no_challenger", f"{in_force} has no challenger to promote: PUT a strategy with a "
                           "challenger first", title="No challenger")
        refuse_unfit(document, f"the challenger of v{current.version}", setup.buckets, client)
        return await keep(s, client.slug, document, by=by, origin="promote", origin_version=current.version,
                          now=now)


async def restore_version(db: Database, *, client: ClientCopy, number: int, by: str, now: dt.datetime
                          ) -> KeptVersion:
    """A new version that is the kept version `number` again, whole (its challenger and share included)."""
    async with db.transaction() as s:
        await store.lock_setup(s, client.slug)
        old = await strategy_versions_store.version(s, client.slug, number)
        if old is None:
            raise NotFound(f"strategy version {number} of this client company")
        setup = await store.load_client_setup(s, client.slug)
        current = setup.strategy
        if current is not None and current.document == old.document:
            raise Conflict("already_current", f"strategy v{number} is already in force (v{current.version} is the "
                           "same strategy): nothing to restore", title="Already in force")
        refuse_unfit(old.document, f"strategy v{number}", setup.buckets, client)
        return await keep(s, client.slug, old.document, by=by, origin="restore", origin_version=number, now=now)


def refuse_unfit(document: StrategyIn, what: str, buckets: tuple[Bucket, ...] | None, client: ClientCopy) -> None:
    """A version kept under other buckets or other client limits may no longer fit: it is not made current again
    unchecked (its accounts would get no treatment, or an offer beyond today's limits)."""
    errors = strategy_fit_errors(document, buckets_of(buckets), client)
    if errors:
        raise Conflict("strategy_does_not_fit", f"{what} does not fit today's buckets or the client company's limits: "
                       f"{'; '.join(errors[:20])}; PUT a strategy that does", title="Strategy does not fit",
                       errors=[{"msg": e} for e in errors])


async def keep(s: AsyncSession, client: str, document: StrategyIn, *, by: str, origin: str, origin_version: int,
               now: dt.datetime) -> KeptVersion:
    version = await store.add_strategy(s, client, document, now, created_by=by, origin=origin,
                                       origin_version=origin_version)
    await store.request_resegmentation(s, client, f"strategy v{version} ({origin} of v{origin_version})", now)
    return KeptVersion(version, document, now, by, origin, origin_version)
