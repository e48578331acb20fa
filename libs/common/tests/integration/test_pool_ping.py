"""The connection pool asks a connection whether it is alive only after it sat idle: a connection in steady use
costs its transaction no ping (SQLAlchemy's pre-ping was three round trips on every checkout), and one the server
dropped while it sat idle is replaced before the caller sees it, on real PostgreSQL."""

from typing import Any

import asyncpg
import pytest
from sqlalchemy import text

from recaudo_common import db as db_module
from recaudo_common.db import Database, make_engine

pytestmark = pytest.mark.integration


async def backend_pid(db: Database) -> int:
    async with db.transaction() as s:
        return int((await s.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def driver_of(db: Database) -> asyncpg.Connection:
    async with db.transaction() as s:
        driver = (await (await s.connection()).get_raw_connection()).driver_connection
    assert isinstance(driver, asyncpg.Connection)
    return driver


async def test_a_connection_in_steady_use_is_lent_without_a_ping(database_url: str) -> None:
    db = Database(make_engine(database_url, pool_size=1))
    queries: list[str] = []
    try:
        driver = await driver_of(db)
        driver.add_query_logger(lambda q: queries.append(q.query))  # what the pool sends on this connection
        for _ in range(5):
            async with db.transaction() as s:
                await s.execute(text("SELECT 'work'"))
    finally:
        await db.dispose()
    # asyncpg logs the simple queries it sends (not the prepared statements): five transactions, no ping
    assert queries == ["BEGIN;", "COMMIT;"] * 5


async def test_an_idle_connection_is_pinged_once_and_a_dead_one_replaced(
        database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db_module, "IDLE_BEFORE_PING_S", 0.0)  # every checkout counts as after a long idle
    db = Database(make_engine(database_url, pool_size=1))
    admin = await asyncpg.connect(db_module.asyncpg_dsn(database_url))
    queries: list[Any] = []
    try:
        driver = await driver_of(db)
        driver.add_query_logger(lambda q: queries.append(q.query))
        async with db.transaction() as s:
            await s.execute(text("SELECT 'work'"))
        assert queries == ["SELECT 1", "BEGIN;", "COMMIT;"]  # one ping, outside the transaction

        dropped = await backend_pid(db)
        await admin.execute("SELECT pg_terminate_backend($1, 5000)", dropped)  # a restart, a dropped socket
        assert await backend_pid(db) != dropped  # the caller got a live connection, no error
    finally:
        await admin.close()
        await db.dispose()
