"""The outbox relay: moves a service's committed outbox rows to the transport, in order."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from recaudo_common.bus.base import InDatabaseLog, OutgoingMessage, Transport
from recaudo_common.db import Database, asyncpg_dsn, sql
from recaudo_common.events import topic_name
from recaudo_common.telemetry import EVENTS_PRODUCED, OUTBOX_BACKLOG

log = logging.getLogger("recaudo.relay")


@dataclass
class RelayCursor:
    """Where a relay's last scan ended, so the next one starts after it.

    The relay deletes what it publishes, and ids only grow, so between vacuums a busy outbox holds a long run
    of dead rows below its live ones; a scan from the start walks all of them (over a second a scan at
    400,000 dead rows, in the 1M-account pipeline run). Starting after the last id relayed skips them.

    A transaction that took an id but committed after a higher one was relayed (a straggler: two requests
    committing in the other order) is behind the cursor. The ids a scan skipped are kept as gaps and looked
    up by id on every scan, so a straggler goes out on the next one; a gap is let go after `gap_wait_s` (a
    rolled-back transaction leaves one forever). Every `rescan_every_s` a scan starts from the beginning
    again, so nothing is ever left behind, whatever held it."""

    rescan_every_s: float = 60.0
    gap_wait_s: float = 30.0
    max_gaps: int = 1000
    clock: Callable[[], float] = time.monotonic
    after: int = 0
    gaps: dict[int, float] = field(default_factory=dict)  # id skipped -> when it was first missed
    _rescan_at: float = float("-inf")

    def start(self) -> tuple[int, list[int]]:
        """The id to scan after (0 when the full rescan is due) and the gaps to look up."""
        now = self.clock()
        self.gaps = {gap: seen for gap, seen in self.gaps.items() if now - seen < self.gap_wait_s}
        if now >= self._rescan_at:
            self._rescan_at = now + self.rescan_every_s
            return 0, []
        return self.after, list(self.gaps)

    def advance(self, after: int, relayed: list[int]) -> None:
        """Moves past the rows relayed by a scan that started after `after`, noting the ids it skipped."""
        now, seen = self.clock(), set(relayed)
        for gap in seen & self.gaps.keys():
            del self.gaps[gap]
        last = max(relayed)
        if last <= self.after:
            return
        # Below the first row a cold cursor sees lie rows long deleted, not gaps: the full rescan covers them.
        start = max(after, self.after) or min(seen)
        if last - start - len(seen) + len(self.gaps) > self.max_gaps:
            # Too many to look up one by one (another replica relayed them, most likely): the full rescan
            # will find any straggler among them.
            self._rescan_at = min(self._rescan_at, now + self.gap_wait_s)
        else:
            self.gaps.update((gap, now) for gap in range(start + 1, last) if gap not in seen)
        self.after = last


async def relay_once(db: Database, transport: Transport, *, schema: str, prefix: str, limit: int = 1000,
                     cursor: RelayCursor | None = None) -> int:
    """Publishes up to `limit` outbox rows (after the cursor's position, when given) and deletes them, in one
    transaction.

    A transaction-scoped advisory lock keeps one relay per schema at a time, so replicas never
    publish one account's events out of order. A crash after publishing and before the delete
    republishes the rows: consumers are idempotent by event_id.
    """
    after, gaps = cursor.start() if cursor is not None else (0, [])
    in_database = transport if isinstance(transport, InDatabaseLog) else None
    async with db.transaction() as session:
        locked = await session.scalar(
            sql("SELECT pg_try_advisory_xact_lock(hashtext(:k))"), {"k": f"recaudo.relay.{schema}"}
        )
        if not locked:
            return 0
        # A log in the same database takes the rows straight from the outbox: only their ids are read here.
        columns = "id, family" if in_database is not None else "id, family, key, envelope::text AS envelope, headers"
        # Two index lookups, never a walk from the lowest id: the cursor's range, and the gaps by id.
        rows = (await session.execute(
            sql(f"SELECT * FROM ((SELECT {columns} FROM {schema}.outbox WHERE id = ANY(:gaps)) UNION ALL "
                f"(SELECT {columns} FROM {schema}.outbox WHERE id > :after ORDER BY id LIMIT :n)) o "
                "ORDER BY id LIMIT :n"),
            {"after": after, "gaps": gaps, "n": limit},
        )).mappings().all()
        if not rows:
            return 0
        ids = [r["id"] for r in rows]
        topics = [topic_name(prefix, r["family"]) for r in rows]
        if in_database is not None:
            await in_database.move_outbox_rows(session, schema=schema, topic_prefix=topic_name(prefix, ""), ids=ids)
        else:
            await transport.publish(session, [OutgoingMessage(topic, r["key"], r["envelope"], _headers(r["headers"]))
                                              for topic, r in zip(topics, rows, strict=True)])
            await session.execute(sql(f"DELETE FROM {schema}.outbox WHERE id = ANY(:ids)"), {"ids": ids})
    if cursor is not None:
        cursor.advance(after, ids)
    for topic in topics:
        EVENTS_PRODUCED.labels(schema, topic).inc()
    return len(rows)


# The outbox's rows are counted one by one up to here (ten times the alert's threshold, deploy/prometheus): past it
# the gauge is their id range instead.
BACKLOG_COUNTED_UP_TO = 50_000


async def outbox_backlog(conn: asyncpg.Connection, schema: str, *, counted_up_to: int = BACKLOG_COUNTED_UP_TO
                         ) -> int:
    """How many events the outbox holds unpublished, for the gauge every relay sets every few seconds: exact up
    to `counted_up_to`, and past it the span of its ids (two index lookups), an upper bound by the ids that
    rolled-back transactions drew. A `count(*)` read the whole table each time: millions of rows while the broker
    is down, in every replica, just when PostgreSQL has the most to do."""
    counted = int(await conn.fetchval(
        f"SELECT count(*) FROM (SELECT 1 FROM {schema}.outbox LIMIT $1) o", counted_up_to))
    if counted < counted_up_to:
        return counted
    return int(await conn.fetchval(f"SELECT max(id) - min(id) + 1 FROM {schema}.outbox") or counted)


def _headers(value: Any) -> dict[str, str]:
    return dict(json.loads(value) if isinstance(value, str) else value or {})


async def run_relay(
    db: Database, transport: Transport, *, schema: str, prefix: str, database_url: str,
    stop: asyncio.Event, idle_wait_s: float = 1.0, backlog_every_s: float = 5.0,
) -> None:
    """Relays until `stop` is set, woken by the outbox trigger's NOTIFY or every `idle_wait_s`."""
    wake = asyncio.Event()
    conn = await asyncpg.connect(asyncpg_dsn(database_url))

    def _on_notify(*args: Any) -> None:
        if args[3] == schema:
            wake.set()

    await conn.add_listener("recaudo_outbox", _on_notify)
    cursor = RelayCursor()
    measured_at = 0.0
    try:
        while not stop.is_set():
            wake.clear()
            if time.monotonic() - measured_at >= backlog_every_s:
                # Measured on a clock, not only when idle, so the gauge (and its alert) keeps up while the
                # broker is down and every relay attempt fails.
                OUTBOX_BACKLOG.labels(schema).set(await outbox_backlog(conn, schema))
                measured_at = time.monotonic()
            try:
                moved = await relay_once(db, transport, schema=schema, prefix=prefix, cursor=cursor)
            except Exception:
                log.exception("relay failed; retrying", extra={"fields": {"schema": schema}})
                await asyncio.sleep(1.0)
                continue
            if moved:
                continue
            waiters = [asyncio.create_task(wake.wait()), asyncio.create_task(stop.wait())]
            await asyncio.wait(waiters, timeout=idle_wait_s, return_when=asyncio.FIRST_COMPLETED)
            for w in waiters:
                w.cancel()
    finally:
        await conn.close()
