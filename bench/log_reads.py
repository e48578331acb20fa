"""Log reads as the log grows (#24): the embedded default's event log (`bus.log`) read by a consumer group behind
and by one caught up, its backlog counted for the bulk lane, its lag measured and 1,000 events appended, each
timed on a log of 10,000 records and again once it holds 5,000,000 (BENCH_LOG_ROWS), in the same run on the same
server: the small log is the floor."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable

import asyncpg

from bench.common import fresh_database, machine, migrate_schemas, save, target_sentence
from recaudo_common import embedded_pg
from recaudo_common.bus.base import OutgoingMessage
from recaudo_common.bus.postgres import PostgresSubscriber, PostgresTransport
from recaudo_common.db import Database, asyncpg_dsn, make_engine

TOPICS = ("bench.account", "bench.segmentation", "bench.contact", "bench.payment")
QUIET = "bench.erasure"  # a topic with no record: all of the log after its readers' offset is other topics'
TARGET = "each read, count and append on the 5,000,000-record log within 2x its time on the small one"
REPEAT = 30


async def fill(conn: asyncpg.Connection, rows: int) -> None:
    """Appends `rows` records of about 700 bytes, the topics mixed as the pipeline mixes them, in chunks."""
    chunk = 250_000
    for start in range(0, rows, chunk):
        await conn.execute(
            """INSERT INTO bus.log (position, topic, key, event_id, envelope, headers)
               SELECT nextval('bus.log_position'), ($3::text[])[1 + g % 4], 'banco/A-' || g, gen_random_uuid(),
                      jsonb_build_object('type', 'account.placed', 'payload', repeat('x', 600)), '{}'
               FROM generate_series($1::bigint, $2::bigint) g""", start, min(start + chunk, rows) - 1, list(TOPICS))
    await conn.execute("VACUUM ANALYZE bus.log")


async def timed(action: Callable[[], Awaitable[object]],
                before: Callable[[], Awaitable[object]] | None = None) -> float:
    """The median of REPEAT runs, in milliseconds (`before` each, untimed)."""
    took = []
    for _ in range(REPEAT):
        if before is not None:
            await before()
        started = time.perf_counter()
        await action()
        took.append((time.perf_counter() - started) * 1000)
    return statistics.median(took)


async def measure(url: str, dsn: str) -> dict[str, float]:
    """Each operation's median time on the log as it is now."""
    conn = await asyncpg.connect(dsn)
    db = Database(make_engine(url, pool_size=2))
    transport = PostgresTransport(db, url)
    end = await conn.fetchval("SELECT max(position) FROM bus.log")
    behind = PostgresSubscriber(dsn, f"behind-{uuid.uuid4().hex[:6]}", list(TOPICS))
    caught_up = PostgresSubscriber(dsn, f"caught-{uuid.uuid4().hex[:6]}", list(TOPICS))
    quiet = PostgresSubscriber(dsn, f"quiet-{uuid.uuid4().hex[:6]}", [QUIET])
    try:
        for sub in (behind, caught_up, quiet):
            await sub.start()
        # One group 10,000 records behind the end (it reads up to 500 a topic a fetch), one at the end (it finds
        # nothing).
        async def put_behind() -> None:
            await conn.execute("UPDATE bus.consumer_offsets SET position = $2 WHERE group_id = $1", behind.group,
                               end - 10_000)

        await conn.execute("UPDATE bus.consumer_offsets SET position = $2 WHERE group_id = $1", caught_up.group,
                           end)

        async def read_behind() -> None:
            batch = await behind.fetch(max_records=500, timeout_s=0.01)
            assert len(batch) >= 500, len(batch)
            await behind.commit(batch)

        figures = {
            "fetch and commit a batch, 10,000 behind (ms)": await timed(read_behind, before=put_behind),
            "fetch by a group caught up, nothing new (ms)": await timed(lambda: caught_up._read(500)),
            "fetch by the reader of a quiet topic, nothing new (ms)": await timed(lambda: quiet._read(500)),
            "bulk lane's backlog count, bounded at 2,000 (ms)": await timed(
                lambda: transport.backlog(TOPICS[0], [behind.group], at_most=2000)),
            "bulk lane's backlog count of a quiet topic (ms)": await timed(
                lambda: transport.backlog(QUIET, [quiet.group], at_most=2000)),
            "lag of a group caught up (ms)": await timed(caught_up.lag),
        }
        async def append_1000() -> None:
            messages = [OutgoingMessage(TOPICS[3], f"banco/P-{i}", f'{{"event_id": "{uuid.uuid4()}", '
                                        '"type": "payment.applied", "payload": {}}', {}) for i in range(1000)]
            async with db.transaction() as s:
                await transport.publish(s, messages)

        figures["append 1,000 records (ms)"] = await timed(append_1000)
        return figures
    finally:
        for sub in (behind, caught_up, quiet):
            await sub.stop()
        await conn.close()
        await db.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=int(os.environ.get("BENCH_LOG_ROWS", "5000000")))
    args = parser.parse_args()
    url, data = fresh_database("log-reads")
    try:
        await migrate_schemas(url, ())
        dsn = asyncpg_dsn(url)
        conn = await asyncpg.connect(dsn)
        try:
            await fill(conn, 10_000)
            small = await measure(url, dsn)
            started = time.perf_counter()
            await fill(conn, args.rows - 10_000)
            filled_s = time.perf_counter() - started
            size = await conn.fetchval("SELECT pg_size_pretty(pg_total_relation_size('bus.log'))")
        finally:
            await conn.close()
        large = await measure(url, dsn)
    finally:
        embedded_pg.stop(data)
    ratios = {k: large[k] / small[k] for k in small}
    met = all(r <= 2 for r in ratios.values())
    save("log_reads", {
        "title": f"Event log reads at {args.rows:,} records (embedded default)",
        "what": "The embedded default's event log (`bus.log`, the `postgres` transport) as it grows: a consumer "
                "group 10,000 records behind fetching and committing a batch (up to 500 records a topic), a group caught up finding "
                "nothing new (what every idle consumer does on each wake), the same by the reader of a topic with no "
                "record, every record after its offset another topic's, the bulk lane's backlog count bounded at "
                "2,000 (of a busy topic, and of that quiet one), a caught-up group's lag, and 1,000 events appended; each the median of 30, first on a log "
                f"of 10,000 records (the floor), then of {args.rows:,} (about 700-byte records, four topics), on "
                "the same server in the same run.",
        "machine": machine(),
        "figures": {
            "records": f"10,000 → {args.rows:,} ({size}; filled in {filled_s:.0f} s)",
            **{k: f"{small[k]:.2f} → {large[k]:.2f} ({ratios[k]:.1f}x)" for k in small},
            "target": TARGET,
        },
        "notes": f"{target_sentence(TARGET, met)}. Each read goes by the `(topic, position)` index from the group's "
                 "committed position (`PostgresSubscriber._read`: one index range per topic, bounded by the topic on "
                 "both sides, so a quiet topic's reader never walks the other topics' records after its offset, as "
                 "it did by the primary key before 6 December) and each count stops at its bound, so their cost follows what is read, not what the log holds; appends take the "
                 "log's lock and draw positions from a sequence. A caught-up group's `lag` counts what is ahead of "
                 "it on the same index (nothing, when caught up); a group far behind pays for counting its whole "
                 "backlog, which is why the bulk lane uses the bounded count instead.",
    })
    print(f"log reads: {dt.datetime.now():%H:%M} {ratios}")


if __name__ == "__main__":
    asyncio.run(main())
