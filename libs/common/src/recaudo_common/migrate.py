"""Runs each schema's own Alembic history; every migrations/env.py calls `run_env()`."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import create_async_engine

COMMON_MIGRATIONS = Path(__file__).parent / "migrations"
# The platform components' schemas, each with its history under COMMON_MIGRATIONS, migrated before any service's:
# identity (API keys), bus (the embedded event log), vault (personal data keys, recaudo_common.personal_data).
PLATFORM_SCHEMAS = ("identity", "bus", "vault")


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


async def upgrade_platform(database_url: str) -> None:
    """Brings every platform component's schema (PLATFORM_SCHEMAS) to its head revision."""
    for schema in PLATFORM_SCHEMAS:
        await upgrade_async(schema=schema, script_location=COMMON_MIGRATIONS / schema, database_url=database_url)


def _run(connection: Connection, schema: str) -> None:
    # One migrator per schema at a time, even when several replicas start together.
    connection.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"recaudo.migrate.{schema}"})
    connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
    context.configure(connection=connection, version_table_schema=schema, transactional_ddl=True)
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(database_url: str, schema: str) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_run, schema)
    finally:
        await engine.dispose()


def run_env() -> None:
    cfg = context.config
    asyncio.run(_run_async(cfg.attributes["database_url"], cfg.attributes["schema"]))
