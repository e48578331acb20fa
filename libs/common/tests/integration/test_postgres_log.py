"""The embedded transport's log: positions follow commit order, so no consumer skips a late commit."""

import asyncio
import json
import uuid

import asyncpg
import pytest
from sqlalchemy import text

from recaudo_common.bus.base import OutgoingMessage
from recaudo_common.bus.postgres import BACKLOG, LAG, READ, PostgresSubscriber, PostgresTransport, append
from recaudo_common.db import Database, asyncpg_dsn, make_engine
from recaudo_common.testing import eventually

pytestmark = pytest.mark.integration


def message(n: int) -> OutgoingMessage:
    envelope = {"event_id": str(uuid.uuid4()), "type": "account.placed", "version": 1,
                "occurred_at": "2026-03-04T15:00:00Z", "client": "c", "key": f"c/{n}",
                "correlation_id": str(uuid.uuid4()), "causation_id": None, "payload": {"n": n}}
    return OutgoingMessage("t.account", f"c/{n}", json.dumps(envelope), {})


async def test_a_transaction_that_commits_late_is_never_skipped(database_url: str) -> None:
    db = Database(make_engine(database_url, pool_size=4))
    reader = PostgresSubscriber(asyncpg_dsn(database_url), "g", ["t.account"])
    await reader.start()
    seen: list[int] = []

    async def read() -> None:
        batch = await reader.fetch(max_records=100, timeout_s=0.1)
        seen.extend(m.envelope.payload["n"] for m in batch)
        if batch:
            await reader.commit(batch)

    # T1 starts first and appends event 1, but does not commit yet.
    async with db.sessions() as first:
        await first.begin()
        await append(first, [message(1)])
        # T2 appends event 2 and wants to commit before T1: it must wait for T1's append lock.
        second = asyncio.create_task(_append_and_commit(db, message(2)))

        async def second_is_waiting() -> bool:
            async with db.transaction() as s:
                waiting = await s.scalar(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()"))
            return bool(waiting)

        await eventually(second_is_waiting, timeout_s=30, message="T2 blocked on the append lock")
        await read()
        assert seen == []  # nothing committed yet, nothing visible: no position can be passed over
        await first.commit()
    await second
    await eventually(lambda: _read_all(read, seen, 2), timeout_s=30, message="both events read")
    assert seen == [1, 2]  # commit order, no gap, nothing skipped
    await reader.stop()
    await db.dispose()


async def _append_and_commit(db: Database, m: OutgoingMessage) -> None:
    async with db.transaction() as s:
        await append(s, [m])


async def _read_all(read: object, seen: list[int], n: int) -> bool:
    await read()  # type: ignore[operator]
    return len(seen) >= n


async def test_one_group_member_reads_at_a_time_and_another_takes_over(database_url: str) -> None:
    db = Database(make_engine(database_url, pool_size=2))
    async with db.transaction() as s:
        await append(s, [message(i) for i in range(1, 6)])
    a = PostgresSubscriber(asyncpg_dsn(database_url), "g", ["t.account"])
    b = PostgresSubscriber(asyncpg_dsn(database_url), "g", ["t.account"])
    await a.start()
    await b.start()
    first = await a.fetch(max_records=2, timeout_s=0.1)
    assert [m.envelope.payload["n"] for m in first] == [1, 2]
    assert await b.fetch(max_records=10, timeout_s=0.1) == []  # standby while a holds the group
    await a.commit(first)
    await a.stop()  # a dies: its session lock goes with its connection
    taken = await eventually(lambda: b.fetch(max_records=10, timeout_s=0.2), timeout_s=30, message="takeover")
    assert [m.envelope.payload["n"] for m in taken] == [3, 4, 5]
    assert await b.lag() == 3
    await b.commit(taken)
    assert await b.lag() == 0
    await b.stop()
    await db.dispose()


async def _pages_read(conn: asyncpg.Connection, query: str, *args: object) -> int:
    """The shared buffers one run of `query` touched, from its plan as run."""
    plan = json.loads(await conn.fetchval(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {query}", *args))[0]["Plan"]
    return int(plan["Shared Hit Blocks"]) + int(plan["Shared Read Blocks"])


async def test_a_quiet_topics_reader_reads_a_few_pages_however_busy_the_other_topics(database_url: str) -> None:
    """Every append wakes every reader, so a reader of a topic with nothing new must not walk the records of the
    busy topics after its offset: with 50,000 of them it once read every one (the primary key, filtered by topic);
    and the bulk lane's count once scanned the whole log while the planner's statistics were a small log's."""
    db = Database(make_engine(database_url, pool_size=2))
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    await conn.execute("ALTER TABLE bus.log SET (autovacuum_enabled = false)")  # its statistics stay a small log's

    async def busy_records(n: int) -> None:  # two in three on the account topic, the others on the contact topic
        await conn.execute(
            """INSERT INTO bus.log (position, topic, key, event_id, envelope, headers)
               SELECT nextval('bus.log_position'), CASE WHEN g % 3 = 0 THEN 'q.contact' ELSE 'q.account' END,
                      'c/' || g, gen_random_uuid(), '{"n": 1}', '{}'
               FROM generate_series(1, $1) g""", n)

    await busy_records(3000)
    async with db.transaction() as s:
        await append(s, [OutgoingMessage("q.erasure", "c/1", message(1).envelope_json, {})])
    await conn.execute("ANALYZE bus.log")
    await busy_records(50000)
    async with db.transaction() as s:
        await append(s, [OutgoingMessage("q.erasure", "c/2", message(2).envelope_json, {})])
    # Four readers of the account topic, each some hundreds of its records behind, as while an upload is paced.
    await conn.execute("INSERT INTO bus.consumer_offsets (group_id, topic, position) SELECT 'behind-' || i, "
                       "'q.account', (SELECT max(position) - 500 * i FROM bus.log) FROM generate_series(1, 4) i")
    quiet = PostgresSubscriber(asyncpg_dsn(database_url), "quiet", ["q.erasure", "q.client"])
    busy = PostgresSubscriber(asyncpg_dsn(database_url), "busy", ["q.account"])
    await quiet.start()
    await busy.start()

    got = await quiet.fetch(max_records=500, timeout_s=0.1)
    assert [m.envelope.payload["n"] for m in got] == [1, 2]  # its own topic's records, in order, none other
    await quiet.commit(got)
    assert await quiet.lag() == 0
    assert [m.topic for m in await busy.fetch(max_records=500, timeout_s=0.1)] == ["q.account"] * 500
    assert await busy.lag() == 2000 + 33334
    transport = PostgresTransport(db, database_url)
    behind = [f"behind-{i}" for i in range(1, 5)]
    assert await transport.backlog("q.account", ["behind-1"], at_most=1001) == 333
    assert await transport.backlog("q.account", behind, at_most=1001) == 1001

    groups = ["q.erasure", "q.client"]
    backlog = BACKLOG.replace(":topic", "$1").replace(":groups", "$2").replace(":n", "$3")
    for statistics in ("a small log's", "the log's own"):
        if statistics == "the log's own":
            await conn.execute("ANALYZE bus.log")
        assert await _pages_read(conn, READ, "quiet", groups, 500) < 30, statistics  # the old form read every record after it
        assert await _pages_read(conn, LAG, "quiet", groups) < 30, statistics
        assert await _pages_read(conn, backlog, "q.client", ["quiet"], 1001) < 30, statistics
        assert await _pages_read(conn, backlog, "q.account", behind, 1001) < 200, statistics  # old: a scan of the log
    await conn.execute("ALTER TABLE bus.log RESET (autovacuum_enabled)")
    await quiet.stop()
    await busy.stop()
    await conn.close()
    await db.dispose()
