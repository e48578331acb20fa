"""Rebuilding the read models: every topic replayed from its beginning into fresh tables, then compared with
the live ones, report by report, to the cent (`recaudo reporting rebuild`)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import fields
from typing import TypedDict

from recaudo_common.bus.consumer import ConsumerRuntime, Subscriptions
from recaudo_common.bus.inbox_retention import inbox_retention_ddl
from recaudo_common.client_copy import get_client
from recaudo_common.cost_tables import get_cost_table
from recaudo_common.db import sql
from recaudo_common.events import DebtorErased
from recaudo_common.outbox import outbox_inbox_ddl
from recaudo_common.runtime import Platform
from reporting import store
from reporting.consumers import SUBSCRIPTIONS
from reporting.domain.kpis import GROUPINGS, Facts

# The tables derived from events. What no event gives (the access log, erasures and their confirmations, the
# retention of each client company) is not here: a rebuild neither replays nor drops it.
READ_MODELS = ("accounts", "payments", "contacts", "promises", "bucket_changes", "status_changes", "arrangements",
               "legal_holds", "consents", "best_time_learnings", "best_times", "write_offs",
               "ledger_words", "reversals")
# Client companies are copied, not rebuilt; an erasure's events act on the vault and the erasures, not on reports.
NOT_REPLAYED = ("client", DebtorErased.family)
REBUILD_SCHEMA = "reporting_rebuild"
# Each rebuild reads with a consumer group of its own, named from this (the reporting Kafka user may read them).
REBUILD_GROUP_PREFIX = "reporting-rebuild-"


class Difference(TypedDict):
    """A report figure the rebuilt tables disagree on with the live ones (`recaudo reporting rebuild` prints it)."""

    client: str
    group_by: str | None
    key: str
    figure: str
    live: str
    rebuilt: str


async def _fresh_tables(platform: Platform, schema: str) -> None:
    async with platform.db.transaction() as s:
        await s.execute(sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        await s.execute(sql(f"CREATE SCHEMA {schema}"))
        for table in READ_MODELS:
            await s.execute(sql(f"CREATE TABLE {schema}.{table} (LIKE {store.SCHEMA}.{table} INCLUDING ALL)"))
        for statement in outbox_inbox_ddl(schema) + inbox_retention_ddl(schema):
            await s.execute(sql(statement))


async def rebuild(platform: Platform, *, client: str | None = None, schema: str = REBUILD_SCHEMA,
                  idle_s: float = 1.0) -> int:
    """Replays every event reporting consumes, from the beginning of each topic up to its end, into fresh
    tables in `schema` (only `client`'s when given). Returns the number of events applied."""
    await _fresh_tables(platform, schema)
    handlers = {cls: h for cls, h in SUBSCRIPTIONS.handlers.items() if cls.family not in NOT_REPLAYED}
    subs = Subscriptions(consumer=f"{REBUILD_GROUP_PREFIX}{uuid.uuid4().hex[:8]}", schema=schema, handlers=handlers)
    prefix = platform.settings.topic_prefix
    runtime = ConsumerRuntime(platform.db, platform.transport, subs, prefix, platform.clock)
    subscriber = platform.transport.subscriber(subs.consumer, subs.topics(prefix))
    await subscriber.start()
    applied = 0
    try:
        with store.tables_in(schema):
            while True:
                batch = await subscriber.fetch(max_records=1000, timeout_s=idle_s)
                if not batch:
                    if await subscriber.lag() == 0:
                        break
                    continue
                # A record that is no event (the live consumer dead-lettered it) changes no report: passed over.
                mine = [m for m in batch if m.fault is None and (client is None or m.envelope.client == client)]
                outcomes = await runtime.handle_batch(mine) if mine else []
                if "dead_lettered" in outcomes:
                    raise RuntimeError("an event could not be replayed; see the dead-letter topic")
                applied += outcomes.count("processed")
                await subscriber.commit(batch)
    finally:
        await subscriber.stop()
    return applied


async def differences(platform: Platform, *, clients: list[str], schema: str = REBUILD_SCHEMA,
                      now: dt.datetime) -> list[Difference]:
    """Every report figure, in total and in every grouping, where the rebuilt tables disagree with the live."""
    found: list[Difference] = []
    async with platform.db.transaction() as s:
        for slug in clients:
            copy = await get_client(s, store.SCHEMA, slug)
            if copy is None:
                continue
            prices = await get_cost_table(s, store.SCHEMA, slug)  # the same prices on both sides
            for group_by in (None, *GROUPINGS):
                live = await store.report(s, client=slug, group_by=group_by, date_from=None, date_to=now,
                                          timezone=copy.timezone, cost_table=prices)
                with store.tables_in(schema):
                    rebuilt = await store.report(s, client=slug, group_by=group_by, date_from=None, date_to=now,
                                                 timezone=copy.timezone, cost_table=prices)
                for key in sorted(set(live) | set(rebuilt)):
                    a, b = live.get(key, Facts()), rebuilt.get(key, Facts())
                    for figure in sorted(f.name for f in fields(Facts)):
                        if getattr(a, figure) != getattr(b, figure):
                            found.append(Difference(client=slug, group_by=group_by, key=key, figure=figure,
                                                    live=str(getattr(a, figure)), rebuilt=str(getattr(b, figure))))
    return found


async def clients_of(platform: Platform) -> list[str]:
    async with platform.db.transaction() as s:
        return [r[0] for r in (await s.execute(sql(f"SELECT slug FROM {store.SCHEMA}.clients ORDER BY slug"))).all()]
