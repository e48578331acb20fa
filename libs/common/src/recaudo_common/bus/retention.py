"""Retention for the embedded event log: records older than the retention that no live consumer group still
needs are deleted, in bounded batches, on a timer.

Kafka deletes by age whatever its consumers have read. The embedded log is the only copy of an event on the
embedded default, so it is kinder: a record is deleted once it is older than the retention AND every live group
reading its topic has committed past it. A group that has not committed for longer than the retention counts as
gone (Kafka forgets such a group's offsets too, `offsets.retention.minutes`, 7 days by default): a consumer that
was removed, or a reader left behind, cannot make the log grow for ever. A group stopped that long loses, at
worst, what Kafka would have deleted anyway. Dead letters are kept at least DLQ_MIN_RETENTION (30 days, as the
Kafka DLQ topics keep them, docs/deploy.md), time for an operator to replay them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from recaudo_common.db import Database, sql

log = logging.getLogger("recaudo.bus.retention")

RETENTION_LOCK = 7_211_002  # advisory lock id: one pruner at a time, whichever process runs it
DLQ_MIN_RETENTION = dt.timedelta(days=30)

_OLDEST = sql("SELECT position, appended_at FROM bus.log ORDER BY position LIMIT 1")
_FIRST_AT_OR_AFTER = sql(
    "SELECT position, appended_at FROM bus.log WHERE position >= :p ORDER BY position LIMIT 1")
# Within the positions that are old enough: a record goes once no live group of its topic is still before it.
# Dead-letter topics (".dlq") keep theirs until the longer of the two cutoffs.
_DELETE = sql(
    """WITH live AS (SELECT topic, min(position) AS committed FROM bus.consumer_offsets
                     WHERE updated_at >= :live_since GROUP BY topic)
       DELETE FROM bus.log WHERE position IN (
         SELECT l.position FROM bus.log l LEFT JOIN live ON live.topic = l.topic
         WHERE l.position <= :boundary
           AND l.appended_at < CASE WHEN l.topic LIKE '%.dlq' THEN CAST(:dlq_cutoff AS timestamptz)
                                    ELSE CAST(:cutoff AS timestamptz) END
           AND (live.committed IS NULL OR l.position <= live.committed)
         ORDER BY l.position LIMIT :n)""")


async def _boundary(session: AsyncSession, cutoff: dt.datetime) -> int | None:
    """The last position appended before `cutoff`, found by bisection on the primary key (positions are drawn in
    commit order, so their times only grow, give or take a transaction's length): a few index probes instead of
    a scan of the log or an index on the time that every append would pay for."""
    oldest = (await session.execute(_OLDEST)).first()
    if oldest is None or oldest.appended_at >= cutoff:
        return None
    low = int(oldest.position)
    high = int(await session.scalar(sql("SELECT max(position) FROM bus.log")) or low)
    while low < high:
        middle = (low + high + 1) // 2
        row = (await session.execute(_FIRST_AT_OR_AFTER, {"p": middle})).one()
        if row.appended_at < cutoff:
            low = int(row.position)
        else:
            high = middle - 1
    return low


async def prune_once(db: Database, *, now: dt.datetime, retention: dt.timedelta, batch_rows: int = 5000) -> int:
    """Deletes one batch (at most `batch_rows`) of what retention lets go; returns how many. 0 when another
    process is pruning, or when nothing is due."""
    cutoff = now - retention
    async with db.transaction() as session:
        if not await session.scalar(sql("SELECT pg_try_advisory_xact_lock(:k)"), {"k": RETENTION_LOCK}):
            return 0
        boundary = await _boundary(session, cutoff)
        if boundary is None:
            return 0
        deleted = await session.execute(_DELETE, {
            "live_since": cutoff, "boundary": boundary, "cutoff": cutoff,
            "dlq_cutoff": min(cutoff, now - DLQ_MIN_RETENTION), "n": batch_rows})
        return int(deleted.rowcount or 0)  # type: ignore[attr-defined]


async def prune(db: Database, *, now: dt.datetime, retention: dt.timedelta, batch_rows: int = 5000,
                pause_s: float = 0.0) -> int:
    """Deletes batches until one comes back short; returns the total. Each batch is its own short transaction,
    so appends and consumers never wait long behind the pruner."""
    total = 0
    while True:
        deleted = await prune_once(db, now=now, retention=retention, batch_rows=batch_rows)
        total += deleted
        if deleted < batch_rows:
            return total
        await asyncio.sleep(pause_s)


async def run_retention(db: Database, *, hours: float, clock: Callable[[], dt.datetime], stop: asyncio.Event,
                        every_s: float = 300.0, batch_rows: int = 5000) -> None:
    """Prunes every `every_s` until `stop` is set; `hours` of 0 keeps everything."""
    if hours <= 0:
        return
    retention = dt.timedelta(hours=hours)
    while not stop.is_set():
        deleted = await prune(db, now=clock(), retention=retention, batch_rows=batch_rows, pause_s=0.05)
        if deleted:
            log.info("event log pruned", extra={"fields": {"deleted": deleted, "retention_hours": hours}})
        try:
            await asyncio.wait_for(stop.wait(), every_s)
        except TimeoutError:
            pass
