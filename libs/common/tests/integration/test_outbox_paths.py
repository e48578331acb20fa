"""The outbox's two ways of writing rows, COPY for a large batch and INSERT for a few, against a real PostgreSQL:
the same rows either way, inside the caller's transaction, waking the relay; each event under its cause; and the
relay's two ways of taking them to the embedded log (moved inside the database, or read and published): the same
log either way."""

import asyncio
import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
from sqlalchemy import event, text

from recaudo_common.bus.base import InDatabaseLog, OutgoingMessage
from recaudo_common.bus.postgres import PostgresTransport
from recaudo_common.bus.relay import relay_once
from recaudo_common.db import Database, asyncpg_dsn, make_engine
from recaudo_common.events import AccountPlaced, Envelope
from recaudo_common.outbox import BULK_ROWS, Cause, Outbox, Staged, caused_by

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)


def placed(n: int) -> Envelope:
    return AccountPlaced(account_ref=f"A-{n:04}", portfolio_id=uuid.uuid4(), debtor_ref=None, personal=None, has_phone=False, has_email=False, balance=Decimal("1234.50"), currency="COP",
                         days_past_due=40, as_of=NOW.date(), authorised_channels=["sms", "email"],
                         ).envelope(client="banco", occurred_at=NOW)


@pytest.fixture
async def db(database_url: str) -> Any:
    database = Database(make_engine(database_url, pool_size=2))
    yield database
    await database.dispose()


async def outbox_rows(db: Database) -> list[tuple[Any, ...]]:
    async with db.transaction() as s:
        return [tuple(r) for r in await s.execute(text(
            "SELECT id, family, key, event_id, envelope, headers FROM ingest.outbox ORDER BY id"))]


async def test_copy_and_insert_write_identical_rows(db: Database) -> None:
    staged = [Staged(placed(n), f'{{"traceparent": "00-{n:032x}-{n:016x}-01"}}' if n % 3 else "{}")
              for n in range(BULK_ROWS * 3)]
    written = []
    for bulk_rows in (len(staged), 0):  # all by INSERT, then all by COPY
        async with db.transaction() as s:
            await s.execute(text("TRUNCATE ingest.outbox RESTART IDENTITY"))
        async with db.transaction() as s:
            await Outbox("ingest").write(s, staged, bulk_rows=bulk_rows)
        written.append(await outbox_rows(db))
    by_insert, by_copy = written
    assert len(by_insert) == len(staged)
    assert by_copy == by_insert
    assert [Envelope.model_validate(r[4]) for r in by_copy] == [s.envelope for s in staged]


async def test_add_copies_a_large_batch_and_inserts_a_small_one(db: Database) -> None:
    statements: list[str] = []
    event.listen(db.engine.sync_engine, "before_cursor_execute",
                 lambda _c, _cur, statement, *_: statements.append(statement))
    async with db.transaction() as s:
        await Outbox("ingest").add(s, [placed(n) for n in range(BULK_ROWS + 1)])  # COPY: SQLAlchemy never sees it
    assert not [st for st in statements if "outbox" in st]
    async with db.transaction() as s:
        await Outbox("ingest").add(s, [placed(n) for n in range(BULK_ROWS)])
    assert len([st for st in statements if "INSERT INTO ingest.outbox" in st]) == 1
    assert len(await outbox_rows(db)) == 2 * BULK_ROWS + 1


async def test_a_copy_belongs_to_the_callers_transaction(db: Database) -> None:
    """Even as the transaction's first statement (SQLAlchemy has not sent BEGIN yet), a rolled-back COPY is gone."""

    class Abandoned(Exception):
        pass

    with pytest.raises(Abandoned):
        async with db.transaction() as s:
            await Outbox("ingest").add(s, [placed(n) for n in range(BULK_ROWS + 1)])
            raise Abandoned
    assert await outbox_rows(db) == []


async def test_a_copy_wakes_the_relay(db: Database, database_url: str) -> None:
    listener = await asyncpg.connect(asyncpg_dsn(database_url))
    woken: asyncio.Queue[str] = asyncio.Queue()
    await listener.add_listener("recaudo_outbox", lambda *args: woken.put_nowait(args[-1]))
    try:
        async with db.transaction() as s:
            await Outbox("ingest").add(s, [placed(n) for n in range(BULK_ROWS + 1)])
        assert await asyncio.wait_for(woken.get(), timeout=10) == "ingest"
    finally:
        await listener.close()


@pytest.mark.parametrize("rows", [1, BULK_ROWS + 1], ids=["insert", "copy"])
async def test_each_event_is_written_under_its_cause(db: Database, rows: int) -> None:
    upstream = placed(9999)
    own = placed(9998)
    explicit = AccountPlaced.model_validate(own.payload).envelope(client="banco", occurred_at=NOW, causation=own)
    with caused_by(Cause.of(upstream)):
        async with db.transaction() as s:
            await Outbox("ingest").add(s, [placed(n) for n in range(rows)] + [explicit])
    envelopes = [Envelope.model_validate(r[4]) for r in await outbox_rows(db)]
    assert {(e.correlation_id, e.causation_id) for e in envelopes[:-1]} == {(upstream.correlation_id,
                                                                             upstream.event_id)}
    assert envelopes[-1] == explicit  # it named its own cause: left as it was


class _ReadsRows:
    """The embedded transport without its in-database move: the relay reads each row and publishes it, as it does
    for Kafka."""

    name = "postgres"

    def __init__(self, inner: PostgresTransport) -> None:
        self.inner = inner

    async def publish(self, session: Any, messages: list[OutgoingMessage]) -> None:
        await self.inner.publish(session, messages)


async def test_the_relay_moves_rows_into_the_embedded_log_exactly_as_it_would_publish_them(
        db: Database, database_url: str) -> None:
    """On the embedded transport the relay has the database move its outbox rows into the log (InDatabaseLog),
    never reading their envelopes: the log it leaves is the one publishing them would leave, row for row and in
    order, whatever the batches, and the outbox is empty."""
    staged = [Staged(placed(n), f'{{"traceparent": "00-{n:032x}-{n:016x}-01"}}' if n % 3 else "{}")
              for n in range(25)]
    moved_in_database = PostgresTransport(db, database_url)
    assert isinstance(moved_in_database, InDatabaseLog)
    logs = []
    for transport in (moved_in_database, _ReadsRows(PostgresTransport(db, database_url))):
        assert isinstance(transport, InDatabaseLog) == (transport is moved_in_database)
        async with db.transaction() as s:
            await s.execute(text("TRUNCATE ingest.outbox, bus.log"))
            await Outbox("ingest").write(s, staged)
        relayed = [await relay_once(db, transport, schema="ingest", prefix="t", limit=10)  # type: ignore[arg-type]
                   for _ in range(4)]
        assert relayed == [10, 10, 5, 0]
        assert await outbox_rows(db) == []
        async with db.transaction() as s:
            logs.append([tuple(r) for r in await s.execute(text(
                "SELECT topic, key, event_id, envelope, headers FROM bus.log ORDER BY position"))])
    in_database, published = logs
    assert in_database == published
    assert {r[0] for r in in_database} == {"t.account"}
    assert [Envelope.model_validate(r[3]) for r in in_database] == [s.envelope for s in staged]
    assert in_database[1][4] == {"traceparent": f"00-{1:032x}-{1:016x}-01"}
