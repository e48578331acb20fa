"""Runs each schema's own Alembic history; every migrations/env.py calls `run_env()`."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from alembic import command, context, op
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import create_async_engine

from recaudo_common.bus.inbox_retention import INBOX_BY_TIME, inbox_horizon_ddl

COMMON_MIGRATIONS = Path(__file__).parent / "migrations"
# The platform components' schemas, each with its history under COMMON_MIGRATIONS, migrated before any service's:
# identity (API keys), bus (the embedded event log), vault (personal data keys, recaudo_common.personal_data).
PLATFORM_SCHEMAS = ("identity", "bus", "vault")
LOCK_RETRY_S = 0.5


def upgrade(*, schema: str, script_location: Path, database_url: str, to: str = "head") -> None:
    """Brings one schema to its head revision, or to `to` (blocking; run it in a thread from async code)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.attributes["schema"] = schema
    cfg.attributes["database_url"] = database_url
    command.upgrade(cfg, to)


async def upgrade_async(*, schema: str, script_location: Path, database_url: str, to: str = "head") -> None:
    await asyncio.to_thread(upgrade, schema=schema, script_location=script_location, database_url=database_url,
                            to=to)


def revision_before(script_location: Path, name: str) -> str:
    """The revision the migration named `name` (its file `<revision>_<name>.py`) follows: where a test sets a schema
    to run that migration as an upgrade would, whatever its number becomes."""
    [script] = [s for s in ScriptDirectory(str(script_location)).walk_revisions()
                if s.path is not None and Path(s.path).stem.endswith(f"_{name}")]
    assert isinstance(script.down_revision, str), f"{name} follows one revision"
    return script.down_revision


async def upgrade_platform(database_url: str) -> None:
    """Brings every platform component's schema (PLATFORM_SCHEMAS) to its head revision."""
    for schema in PLATFORM_SCHEMAS:
        await upgrade_async(schema=schema, script_location=COMMON_MIGRATIONS / schema, database_url=database_url)


def _run(connection: Connection, schema: str) -> None:
    # One migrator per schema at a time, even when several replicas start together. The lock is the session's,
    # not a transaction's: each migration commits on its own (transaction_per_migration), and one that builds an
    # index CONCURRENTLY (create_index_concurrently) must run outside any transaction.
    key = f"recaudo.migrate.{schema}"
    _lock(connection, key)
    try:
        connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
        connection.commit()
        context.configure(connection=connection, version_table_schema=schema, transactional_ddl=True,
                          transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()
    finally:
        connection.rollback()
        connection.execute(text("SELECT pg_advisory_unlock(hashtext(:k))"), {"k": key})
        connection.commit()


def _lock(connection: Connection, key: str) -> None:
    """Takes the migrator's lock, trying again every half second rather than waiting in one statement: a replica
    waiting inside a statement holds a snapshot, and CREATE INDEX CONCURRENTLY in the replica that holds the lock
    waits for every older snapshot to end, a cycle PostgreSQL would break by cancelling one of them."""
    while True:
        if connection.execute(text("SELECT pg_try_advisory_lock(hashtext(:k))"), {"k": key}).scalar_one():
            connection.commit()
            return
        connection.commit()
        time.sleep(LOCK_RETRY_S)


def create_index_concurrently(name: str, schema: str, definition: str, *, unique: bool = False) -> None:
    """Builds an index on a table that may be large without blocking its writes (CREATE INDEX CONCURRENTLY, outside
    any transaction): `definition` is what follows `ON`. What the migration did before it is committed first, so
    a migration that runs again must find it done (IF NOT EXISTS). An invalid index left by a build that failed or
    was killed is dropped first, so running the migration again builds it whole."""
    with op.get_context().autocommit_block():
        op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {schema}.{name}")
        op.execute(f"CREATE {'UNIQUE ' if unique else ''}INDEX CONCURRENTLY {name} ON {definition}")


async def _run_async(database_url: str, schema: str) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            await conn.run_sync(_run, schema)
    finally:
        await engine.dispose()


def run_env() -> None:
    cfg = context.config
    asyncio.run(_run_async(cfg.attributes["database_url"], cfg.attributes["schema"]))


def inbox_retention(schema: str) -> None:
    """A service's migration to inbox retention (recaudo_common.bus.inbox_retention): how far each consumer has
    forgotten, and its rows by consumer and time, built without blocking the consumers' writes."""
    op.execute(inbox_horizon_ddl(schema))
    name, definition = INBOX_BY_TIME
    create_index_concurrently(name, schema, f"{schema}.{definition}")
