"""A new client company usable everywhere as soon as its registration is answered: each service that keeps a copy
of client companies says so with client.ready once it holds the new one (and, for segmentation, its default
strategy); ingest records those and the registration waits, bounded, until every expected service has."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from recaudo_common.bus.consumer import HandlerContext
from recaudo_common.db import Database, sql
from recaudo_common.events import CLIENT_COPY_KEEPERS, ClientReady

# Between two looks at the table while a registration waits: the copies arrive within a few relay and poll
# intervals of the transport (tens to hundreds of milliseconds).
_LOOK_EVERY_S = 0.05


async def on_client_ready(event: ClientReady, ctx: HandlerContext) -> None:
    """A service holds its copy: recorded once (a redelivery or a replay changes nothing). A service name that is
    not one of the keepers is a producer this platform does not have: recorded all the same, never waited for."""
    await ctx.session.execute(sql(
        "INSERT INTO ingest.client_readiness (slug, service, ready_at)"
        " SELECT :slug, :service, :at WHERE EXISTS (SELECT 1 FROM ingest.clients WHERE slug = :slug)"
        " ON CONFLICT DO NOTHING"),
        {"slug": event.slug, "service": event.service, "at": ctx.envelope.occurred_at})


async def expected_services(db: Database, configured: Sequence[str] | None) -> frozenset[str]:
    """The services a registration waits for: the configured ones (deploy/k8s names all four; `recaudo serve all`
    and `make run` those they serve), or else those that have confirmed an earlier client company (ingest alone,
    or an app without workers, waits for none)."""
    if configured is not None:
        return frozenset(configured)
    async with db.transaction() as s:
        rows = (await s.execute(sql("SELECT DISTINCT service FROM ingest.client_readiness"))).scalars().all()
    return frozenset(rows) & frozenset(CLIENT_COPY_KEEPERS)


async def services_pending(db: Database, slug: str, expected: frozenset[str], *, wait_s: float) -> list[str]:
    """Waits up to `wait_s` for every expected service to hold the client company; the ones that still do not
    (a service down or far behind), sorted. Their copies follow when they catch up."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while True:
        async with db.transaction() as s:
            ready = set((await s.execute(sql("SELECT service FROM ingest.client_readiness WHERE slug = :s"),
                                         {"s": slug})).scalars().all())
        pending = sorted(expected - ready)
        if not pending or loop.time() >= deadline:
            return pending
        await asyncio.sleep(_LOOK_EVERY_S)
