"""The embedded transport: an append-only log table in the bus schema, positions in commit order.

Appenders take one transaction-scoped advisory lock before drawing positions, so a position is never
visible before every smaller position has committed: a consumer that reads `position > offset` can
never skip an event that committed late. LISTEN/NOTIFY wakes consumers; offsets live in a table.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

import asyncpg
from sqlalchemy import TextClause
from sqlalchemy.ext.asyncio import AsyncSession

from recaudo_common.bus.base import Message, OutgoingMessage, Subscriber, read_record, replayed_message
from recaudo_common.db import Database, asyncpg_dsn, sql
from recaudo_common.events import dlq_topic

APPEND_LOCK = 7_211_001  # advisory lock id that serialises appends to bus.log
NOTIFY_CHANNEL = "recaudo_bus"

BUS_DDL = [
    "CREATE SCHEMA IF NOT EXISTS bus",
    "CREATE SEQUENCE IF NOT EXISTS bus.log_position",
    """CREATE TABLE IF NOT EXISTS bus.log (
        position bigint PRIMARY KEY,
        topic text NOT NULL,
        key text NOT NULL,
        event_id uuid NOT NULL,
        envelope jsonb NOT NULL,
        headers jsonb NOT NULL DEFAULT '{}',
        appended_at timestamptz NOT NULL DEFAULT now())""",
    "CREATE INDEX IF NOT EXISTS log_topic_position ON bus.log (topic, position)",
    """CREATE TABLE IF NOT EXISTS bus.consumer_offsets (
        group_id text NOT NULL,
        topic text NOT NULL,
        position bigint NOT NULL DEFAULT 0,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (group_id, topic))""",
]

# The records of a group's topic after its position, `l` against its offset `o`. Written as a range of the
# (topic, position) index, bounded on both sides (the row comparison starts it at the offset, `topic <=` ends it with
# the topic): `l.topic = o.topic AND l.position > o.position` let the planner walk the primary key from the offset
# and filter by topic, so each poll of a quiet topic's reader read every record of the busy ones after it (54 ms at
# 300,000 records, and every append wakes every reader). A LIMIT goes with the index's order: without it, the
# planner, its statistics taken when the log was small, chose to scan the whole log for the bulk lane's count.
AFTER_OFFSET = "(l.topic, l.position) > (o.topic, o.position) AND l.topic <= o.topic"
READ = f"""SELECT l.position, l.topic, l.key, l.envelope, l.headers, l.appended_at, o.position = 0 AS fresh
           FROM bus.consumer_offsets o
           JOIN LATERAL (SELECT * FROM bus.log l WHERE {AFTER_OFFSET} ORDER BY l.topic, l.position LIMIT $3) l ON true
           WHERE o.group_id = $1 AND o.topic = ANY($2::text[])
           ORDER BY l.position"""
LAG = f"""SELECT coalesce(sum((SELECT count(*) FROM bus.log l WHERE {AFTER_OFFSET})), 0)
          FROM bus.consumer_offsets o WHERE o.group_id = $1 AND o.topic = ANY($2::text[])"""
BACKLOG = f"""SELECT coalesce(max((SELECT count(*)
                                     FROM (SELECT 1 FROM bus.log l WHERE {AFTER_OFFSET}
                                           ORDER BY l.topic, l.position LIMIT :n) ahead)), 0)
              FROM bus.consumer_offsets o WHERE o.topic = :topic AND o.group_id = ANY(:groups)"""

_APPEND = sql(
    """INSERT INTO bus.log (position, topic, key, event_id, envelope, headers)
       SELECT nextval('bus.log_position'), t.topic, t.key, coalesce(t.eid, (t.env::jsonb->>'event_id')::uuid),
              t.env::jsonb, t.hdr::jsonb
       FROM unnest(CAST(:topics AS text[]), CAST(:keys AS text[]), CAST(:envs AS text[]),
                   CAST(:hdrs AS text[]), CAST(:eids AS uuid[])) WITH ORDINALITY AS t(topic, key, env, hdr, eid, ord)
       ORDER BY t.ord"""
)


def _move(schema: str) -> TextClause:
    """Outbox rows to the log in one statement: deleted from the outbox and appended in id order (positions are
    drawn after the sort, as in _APPEND), their jsonb kept as it is rather than sent out as text and parsed back."""
    return sql(
        f"""WITH moved AS (DELETE FROM {schema}.outbox WHERE id = ANY(CAST(:ids AS bigint[]))
                           RETURNING id, family, key, event_id, envelope, headers)
            INSERT INTO bus.log (position, topic, key, event_id, envelope, headers)
            SELECT nextval('bus.log_position'), :topic_prefix || family, key, event_id, envelope, headers
            FROM moved ORDER BY id""")


def _raw_row(value: bytes) -> tuple[str, uuid.UUID]:
    """A record's value that is not an envelope (a dead letter), as log text and an event id: JSON stays as it
    was, anything else is kept as a JSON string; the event id is the value's own if it has a valid one."""
    text_value = value.decode("utf-8", "replace")
    try:
        parsed = json.loads(text_value)
    except ValueError:
        return json.dumps(text_value), uuid.uuid4()
    try:
        return text_value, uuid.UUID(str(parsed["event_id"]))
    except (TypeError, KeyError, ValueError):
        return text_value, uuid.uuid4()


async def append(session: AsyncSession, messages: list[OutgoingMessage]) -> None:
    """Appends within the caller's transaction, holding the append lock until it commits."""
    if not messages:
        return
    envs: list[str] = []
    eids: list[uuid.UUID | None] = []
    for m in messages:
        env, eid = (m.envelope_json, None) if m.value is None else _raw_row(m.value)
        envs.append(env)
        eids.append(eid)
    async with _appending(session):
        await session.execute(
            _APPEND,
            {
                "topics": [m.topic for m in messages],
                "keys": [m.key for m in messages],
                "envs": envs,
                "hdrs": [json.dumps(m.headers) for m in messages],
                "eids": eids,
            },
        )


@contextlib.asynccontextmanager
async def _appending(session: AsyncSession) -> AsyncIterator[None]:
    """An append to the log: under the append lock (held until the caller commits), then the consumers woken."""
    await session.execute(sql("SELECT pg_advisory_xact_lock(:k)"), {"k": APPEND_LOCK})
    yield
    await session.execute(sql("SELECT pg_notify(:c, '')"), {"c": NOTIFY_CHANNEL})


def _message(row: Any, reads: frozenset[str] | None = None) -> Message:
    """A log row as a Message; a row that is not an event of the platform's (written there by hand, or a dead
    letter of one) comes back with its fault, never as an exception. `reads`: read_record's (the log gives jsonb's
    text, whose keys are not in the envelope's order, so every row is read the usual way)."""
    envelope = row["envelope"]
    value = envelope.encode() if isinstance(envelope, str) else json.dumps(envelope).encode()
    headers = row["headers"]
    headers = json.loads(headers) if isinstance(headers, str) else headers
    headers = {str(k): str(v) for k, v in headers.items()} if isinstance(headers, dict) else {}
    return read_record(row["topic"], row["key"].encode(), value, headers, row["position"], row["appended_at"],
                       fresh=row["fresh"], reads=reads)


class PostgresSubscriber:
    """A consumer-group member. One member of a group reads at a time (a session advisory lock);
    the others stand by and take over when it dies, since the lock goes with its connection."""

    def __init__(self, dsn: str, group: str, topics: list[str], reads: frozenset[str] | None = None) -> None:
        self.dsn, self.group, self.topics, self.reads = dsn, group, topics, reads
        self._conn: asyncpg.Connection | None = None
        self._wake = asyncio.Event()
        self._leader = False

    async def start(self) -> None:
        self._conn = await asyncpg.connect(self.dsn)
        await self._conn.add_listener(NOTIFY_CHANNEL, lambda *_: self._wake.set())
        await self._conn.executemany(
            "INSERT INTO bus.consumer_offsets (group_id, topic) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            [(self.group, t) for t in self.topics],
        )

    @property
    def conn(self) -> asyncpg.Connection:
        assert self._conn is not None, "subscriber not started"
        return self._conn

    async def _read(self, max_records: int) -> list[Message]:
        # Each topic advances on its own, as Kafka partitions do: a backlog on one topic never
        # holds back another's events.
        rows = await self.conn.fetch(READ, self.group, self.topics, max_records)
        return [_message(r, self.reads) for r in rows]

    async def fetch(self, *, max_records: int = 500, timeout_s: float = 1.0) -> list[Message]:
        if not self._leader:
            self._leader = await self.conn.fetchval(
                "SELECT pg_try_advisory_lock(hashtext($1))", f"recaudo.group.{self.group}"
            )
            if not self._leader:
                await asyncio.sleep(timeout_s)
                return []
        self._wake.clear()
        messages = await self._read(max_records)
        if messages:
            return messages
        try:
            await asyncio.wait_for(self._wake.wait(), timeout_s)
        except TimeoutError:
            return []
        return await self._read(max_records)

    async def commit(self, messages: list[Message]) -> None:
        last: dict[str, int] = {}
        for m in messages:
            last[m.topic] = max(last.get(m.topic, 0), int(m.position))
        await self.conn.executemany(
            """UPDATE bus.consumer_offsets SET position = GREATEST(position, $3), updated_at = now()
               WHERE group_id = $1 AND topic = $2""",
            [(self.group, t, p) for t, p in last.items()],
        )

    async def lag(self) -> int:
        value = await self.conn.fetchval(LAG, self.group, self.topics)
        return int(value)

    async def stop(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None


class PostgresTransport:
    name = "postgres"

    def __init__(self, db: Database, database_url: str) -> None:
        self.db = db
        self.dsn = asyncpg_dsn(database_url)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def ensure_topics(self, topics: list[str]) -> None:
        return None  # topics are rows, not objects

    async def publish(self, session: AsyncSession, messages: list[OutgoingMessage]) -> None:
        await append(session, messages)

    async def move_outbox_rows(self, session: AsyncSession, *, schema: str, topic_prefix: str,
                               ids: Sequence[int]) -> None:
        """The relay's publish on this transport (InDatabaseLog): under the append lock, as `append`."""
        if not ids:
            return
        async with _appending(session):
            await session.execute(_move(schema), {"ids": list(ids), "topic_prefix": topic_prefix})

    def subscriber(self, group: str, topics: list[str], *, reads: frozenset[str] | None = None) -> Subscriber:
        return PostgresSubscriber(self.dsn, group, topics, reads)

    async def backlog(self, topic: str, groups: Sequence[str], *, at_most: int) -> int:
        # Counted on the (topic, position) index and stopped at `at_most`: cheap however long the log grows.
        async with self.db.transaction() as session:
            value = await session.scalar(sql(BACKLOG), {"topic": topic, "groups": list(groups), "n": at_most})
        return int(value or 0)

    async def replay_dlq(self, topic: str, *, limit: int | None = None) -> int:
        group = f"recaudo.dlq-replay.{topic}"
        sub = PostgresSubscriber(self.dsn, group, [dlq_topic(topic)])
        await sub.start()
        replayed = 0
        try:
            while limit is None or replayed < limit:
                batch = await sub.fetch(max_records=min(500, (limit or 500) - replayed), timeout_s=0.2)
                if not batch:
                    break
                async with self.db.transaction() as session:
                    await append(session, [replayed_message(topic, m) for m in batch])
                await sub.commit(batch)
                replayed += len(batch)
        finally:
            await sub.stop()
        return replayed
