"""The embedded log's retention, on a clock of the test's own: what is older than the retention and read by every
live group goes, in bounded batches; what a live group still needs stays however old; a group gone for longer
than the retention holds nothing back; dead letters stay 30 days."""

import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from recaudo_common.bus.base import OutgoingMessage
from recaudo_common.bus.postgres import PostgresSubscriber, append
from recaudo_common.bus.retention import prune, prune_once
from recaudo_common.db import Database, asyncpg_dsn, make_engine

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)
WEEK = dt.timedelta(hours=168)


def message(topic: str, n: int) -> OutgoingMessage:
    envelope = {"event_id": str(uuid.uuid4()), "type": "account.placed", "version": 1,
                "occurred_at": "2026-03-04T15:00:00Z", "client": "c", "key": f"c/{n}",
                "correlation_id": str(uuid.uuid4()), "causation_id": None, "payload": {"n": n}}
    return OutgoingMessage(topic, f"c/{n}", json.dumps(envelope), {})


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(make_engine(database_url, pool_size=2))
    yield database
    await database.dispose()


async def write(db: Database, topic: str, numbers: range, age: dt.timedelta) -> list[int]:
    """Appends one record per number, appended `age` before NOW; returns their positions."""
    async with db.transaction() as s:
        await append(s, [message(topic, n) for n in numbers])
        positions = list((await s.scalars(text(
            "UPDATE bus.log SET appended_at = :at WHERE topic = :t AND (envelope->'payload'->>'n')::int = ANY(:ns) "
            "RETURNING position"), {"at": NOW - age, "t": topic, "ns": list(numbers)})).all())
    return sorted(positions)


async def group_at(db: Database, group: str, topic: str, position: int, committed_ago: dt.timedelta) -> None:
    async with db.transaction() as s:
        await s.execute(text("INSERT INTO bus.consumer_offsets (group_id, topic, position, updated_at) "
                             "VALUES (:g, :t, :p, :at)"),
                        {"g": group, "t": topic, "p": position, "at": NOW - committed_ago})


async def remaining(db: Database, topic: str) -> list[int]:
    async with db.transaction() as s:
        return list((await s.scalars(text(
            "SELECT (envelope->'payload'->>'n')::int FROM bus.log WHERE topic = :t ORDER BY position"),
            {"t": topic})).all())


async def test_retention_deletes_what_every_live_group_has_read_and_is_old(db: Database, database_url: str) -> None:
    days = dt.timedelta(days=1)
    old = await write(db, "t.account", range(1, 11), 10 * days)       # past the retention
    await write(db, "t.account", range(11, 14), 8 * days)             # past it, but the live group is before them
    await write(db, "t.account", range(14, 17), 2 * days)             # within it
    await write(db, "t.payment", range(1, 6), 9 * days)               # a topic no group reads
    await write(db, "t.account.dlq", range(1, 4), 31 * days)          # dead letters past 30 days
    await write(db, "t.account.dlq", range(4, 6), 10 * days)          # dead letters within 30 days
    await group_at(db, "live", "t.account", old[-1], dt.timedelta(minutes=5))  # has read 1..10
    await group_at(db, "gone", "t.account", 0, 20 * days)             # stopped long ago, read nothing

    # Nothing is due for a retention longer than the oldest record.
    assert await prune(db, now=NOW, retention=dt.timedelta(days=40)) == 0
    # One batch is bounded.
    assert await prune_once(db, now=NOW, retention=WEEK, batch_rows=3) == 3
    assert await prune(db, now=NOW, retention=WEEK, batch_rows=3) == 10 + 5 + 3 - 3  # the rest, 3 at a time
    assert await remaining(db, "t.account") == [11, 12, 13, 14, 15, 16]
    assert await remaining(db, "t.payment") == []
    assert await remaining(db, "t.account.dlq") == [4, 5]

    # The live group reads on from where it was, as if nothing had happened.
    reader = PostgresSubscriber(asyncpg_dsn(database_url), "live", ["t.account"])
    await reader.start()
    try:
        batch = await reader.fetch(max_records=100, timeout_s=0.1)
        assert [m.envelope.payload["n"] for m in batch] == [11, 12, 13, 14, 15, 16]
        await reader.commit(batch)
    finally:
        await reader.stop()

    # Once the live group has read them (and commits now), the week-old records go too; the young ones stay.
    async with db.transaction() as s:
        await s.execute(text("UPDATE bus.consumer_offsets SET updated_at = :at WHERE group_id = 'live'"),
                        {"at": NOW})
    assert await prune(db, now=NOW, retention=WEEK) == 3
    assert await remaining(db, "t.account") == [14, 15, 16]
