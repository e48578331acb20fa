"""The relay's backlog gauge (recaudo_outbox_backlog, alerted on past 5,000): exact while the outbox is small, and
its id range, two index lookups, once it holds more than a whole table read should pay for every few seconds; on a
real PostgreSQL."""

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from recaudo_common.bus.relay import BACKLOG_COUNTED_UP_TO, outbox_backlog
from recaudo_common.db import asyncpg_dsn

pytestmark = pytest.mark.integration


@pytest.fixture
async def outbox(database_url: str) -> AsyncIterator[tuple[asyncpg.Connection, str]]:
    """A schema of this test's own with an outbox as every service's has one (its ids a bigserial)."""
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    schema = f"backlog_{uuid.uuid4().hex[:8]}"
    await conn.execute(f"CREATE SCHEMA {schema}")
    await conn.execute(f"CREATE TABLE {schema}.outbox (id bigserial PRIMARY KEY, family text NOT NULL)")
    try:
        yield conn, schema
    finally:
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")
        await conn.close()


async def add(conn: asyncpg.Connection, schema: str, rows: int) -> None:
    await conn.execute(f"INSERT INTO {schema}.outbox (family) SELECT 'account' FROM generate_series(1, $1)", rows)


async def test_counted_exactly_while_small(outbox: tuple[asyncpg.Connection, str]) -> None:
    conn, schema = outbox
    assert await outbox_backlog(conn, schema) == 0
    await add(conn, schema, 7)
    # Relayed out of order (a gap the relay looked up later): the count is of the rows there, not of their ids.
    await conn.execute(f"DELETE FROM {schema}.outbox WHERE id IN (2, 5)")
    assert await outbox_backlog(conn, schema) == 5
    assert BACKLOG_COUNTED_UP_TO >= 10 * 5000  # exact well past the alert's threshold


async def test_past_the_count_the_id_range_is_read(outbox: tuple[asyncpg.Connection, str]) -> None:
    conn, schema = outbox
    await add(conn, schema, 120)
    await conn.execute(f"DELETE FROM {schema}.outbox WHERE id <= 20")  # the relay published the oldest
    assert await outbox_backlog(conn, schema, counted_up_to=50) == 100
    # Holes among the ids (drawn by transactions that rolled back, or rows relayed out of order): past the count
    # the range is then an upper bound, never less.
    await conn.execute(f"DELETE FROM {schema}.outbox WHERE id BETWEEN 60 AND 69")
    assert await outbox_backlog(conn, schema, counted_up_to=50) == 100
    assert await outbox_backlog(conn, schema, counted_up_to=1000) == 90
