"""Migrations on a real PostgreSQL (recaudo_common.migrate): replicas starting together migrate a schema once, and
an index built CONCURRENTLY (payments' 0022, on every placed account) lets the payments' writes go on while it
waits for the transactions before it, and is built whole again over a leftover of the same name; data migrations
(0023, 0025) change only what they mean to."""

import asyncio
import datetime as dt
import sys
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from recaudo_common.migrate import upgrade_async, upgrade_platform
from recaudo_common.testing import REPOSITORY_ROOT, asyncpg_dsn, create_database, drop_database

pytestmark = pytest.mark.integration
PAYMENTS = REPOSITORY_ROOT / "services" / "payments" / "migrations"
INDEX = "payments_accounts_digits"
HEAD = sorted(p.name.split("_", 1)[0] for p in (PAYMENTS / "versions").glob("0*.py"))[-1]


@pytest.fixture
async def fresh(postgres_server_url: str) -> AsyncIterator[str]:
    name = f"recaudo_migrate_{uuid.uuid4().hex[:8]}"
    url = await create_database(postgres_server_url, name)
    await upgrade_platform(url)
    yield url
    await drop_database(postgres_server_url, name)


async def payments_to(url: str, revision: str) -> None:
    await upgrade_async(schema="payments", script_location=PAYMENTS, database_url=url, to=revision)


async def index_of(conn: asyncpg.Connection) -> tuple[str, bool] | None:
    row = await conn.fetchrow(
        "SELECT pg_get_indexdef(i.indexrelid) AS definition, i.indisvalid AS valid FROM pg_index i "
        "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'payments' AND c.relname = $1", INDEX)
    return None if row is None else (str(row["definition"]), bool(row["valid"]))


MIGRATOR = """
import sys
from pathlib import Path
from recaudo_common.migrate import upgrade
upgrade(schema="payments", script_location=Path(sys.argv[1]), database_url=sys.argv[2])
"""


async def migrator(url: str) -> int:
    """A replica's migration: a process of its own (Alembic's context is one per process)."""
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", MIGRATOR, str(PAYMENTS), url)
    return await asyncio.wait_for(process.wait(), 120)


async def test_replicas_starting_together_migrate_a_schema_once(fresh: str) -> None:
    assert await asyncio.gather(*(migrator(fresh) for _ in range(3))) == [0, 0, 0]
    conn = await asyncpg.connect(asyncpg_dsn(fresh))
    try:
        versions = await conn.fetch("SELECT version_num FROM payments.alembic_version")
        assert [v["version_num"] for v in versions] == [HEAD]
        definition, valid = await index_of(conn) or ("", False)
        assert valid and "ltrim(account_ref" in definition
    finally:
        await conn.close()


async def test_the_index_is_built_while_payments_keep_writing_to_the_accounts(fresh: str) -> None:
    await payments_to(fresh, "0021")
    dsn = asyncpg_dsn(fresh)
    busy, other = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    try:
        await busy.execute("INSERT INTO payments.accounts (client_slug, account_ref, balance, currency, updated_at) "
                           "VALUES ('banco', '0012345', 100, 'COP', now())")
        # A payment's transaction is open on the accounts when the migration starts: a plain CREATE INDEX would
        # queue behind it, and every other write to the accounts behind the CREATE INDEX.
        transaction = busy.transaction()
        await transaction.start()
        await busy.execute("UPDATE payments.accounts SET balance = 90 WHERE account_ref = '0012345'")
        migrating = asyncio.create_task(payments_to(fresh, "0022"))
        deadline = asyncio.get_running_loop().time() + 30
        while not await other.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'CREATE INDEX CONCURRENTLY%' "
                "AND wait_event_type = 'Lock'"):
            assert asyncio.get_running_loop().time() < deadline, "the build never started waiting"
            await asyncio.sleep(0.05)
        # Meanwhile another payment writes to the accounts at once.
        await other.execute("SET statement_timeout = '5s'")
        await other.execute("INSERT INTO payments.accounts (client_slug, account_ref, balance, currency, updated_at) "
                            "VALUES ('banco', '0099', 50, 'COP', now())")
        assert not migrating.done()
        await transaction.commit()
        await asyncio.wait_for(migrating, 30)
        definition, valid = await index_of(other) or ("", False)
        assert valid and "WHERE (account_ref ~ '^[0-9]+$'::text)" in definition
    finally:
        await busy.close()
        await other.close()


async def test_a_leftover_index_of_the_same_name_is_built_again(fresh: str) -> None:
    await payments_to(fresh, "0021")
    conn = await asyncpg.connect(asyncpg_dsn(fresh))
    try:
        # As a build that was killed half way would leave it (there: invalid), under the migration's name.
        await conn.execute(f"CREATE INDEX {INDEX} ON payments.accounts (currency)")
        await payments_to(fresh, "0022")
        definition, valid = await index_of(conn) or ("", False)
        assert valid and "ltrim(account_ref" in definition and "(currency)" not in definition
    finally:
        await conn.close()


async def test_0023_puts_a_stale_approval_back_to_voided_and_leaves_real_ones(fresh: str) -> None:
    """Before 0023 a stale approval after a void left the state `approved` with nothing applied; only such a state
    is put back (one that applied a payment, or another status, is left as it was)."""
    await payments_to(fresh, "0022")
    conn = await asyncpg.connect(asyncpg_dsn(fresh))
    try:
        applied = uuid.uuid4()
        await conn.execute(
            "INSERT INTO payments.payments (id, client_slug, account_ref, amount, currency, paid_at, source, status, "
            "received_at, gateway, external_id) VALUES ($1, 'banco', 'A-1', 10, 'COP', now(), 'gateway', 'applied', "
            "now(), 'wompi/banco/w', 'aplicado')", applied)
        for pid, status, payment_id in (("anulado", "approved", None), ("aplicado", "approved", applied),
                                        ("pendiente", "pending", None), ("reembolsado", "refunded", None)):
            await conn.execute(
                "INSERT INTO payments.gateway_payment_states (gateway, gateway_payment_id, client_slug, status, "
                "amount, currency, first_seen, last_seen, payment_id) "
                "VALUES ('wompi/banco/w', $1, 'banco', $2, 10, 'COP', now(), now(), $3)", pid, status, payment_id)
        await payments_to(fresh, "0023")
        rows = await conn.fetch("SELECT gateway_payment_id, status FROM payments.gateway_payment_states "
                                "ORDER BY gateway_payment_id")
    finally:
        await conn.close()
    assert [tuple(r) for r in rows] == [("anulado", "voided"), ("aplicado", "approved"), ("pendiente", "pending"),
                                        ("reembolsado", "refunded")]


async def test_0025_keeps_what_each_kept_settlement_forgave(fresh: str) -> None:
    """A settlement kept before 0025 forgave what its adjustment booked at the instant it was decided; a
    restatement's adjustment (with its event's id), a payment, and a plan are nobody's discount."""
    await payments_to(fresh, "0024")
    conn = await asyncpg.connect(asyncpg_dsn(fresh))
    try:
        decided, later = dt.datetime(2026, 4, 1, 10, tzinfo=dt.UTC), dt.datetime(2026, 4, 2, 10, tzinfo=dt.UTC)
        arrangements = [(uuid.uuid4(), "A-1", "settlement", "kept"), (uuid.uuid4(), "A-2", "settlement", "kept"),
                        (uuid.uuid4(), "A-3", "instalment_plan", "kept"), (uuid.uuid4(), "A-4", "settlement", "broken")]
        for arrangement_id, ref, kind, status in arrangements:
            await conn.execute(
                "INSERT INTO payments.arrangements (id, client_slug, account_ref, kind, total_amount, instalments, "
                "made_at, source, status, decided_at) VALUES ($1, 'banco', $2, $3, 70, '[]', $4, 'operator', $5, $4)", arrangement_id, ref, kind, decided, status)
        for ref, amount, event_id, at in (("A-1", -30, None, decided), ("A-1", -5, uuid.uuid4(), decided),
                                          ("A-1", -7, None, later), ("A-3", -9, None, decided),
                                          ("A-4", -11, None, decided)):
            await conn.execute(
                "INSERT INTO payments.ledger_entries (client_slug, account_ref, kind, amount, event_id, booked_at) "
                "VALUES ('banco', $1, 'adjustment', $2, $3, $4)", ref, amount, event_id, at)
        await payments_to(fresh, "0025")
        rows = await conn.fetch("SELECT account_ref, forgiven::text FROM payments.arrangements ORDER BY account_ref")
    finally:
        await conn.close()
    # A-2's settlement was reached exactly (nothing to forgive); a plan and a broken settlement have none.
    assert [tuple(r) for r in rows] == [("A-1", "30.00"), ("A-2", "0.00"), ("A-3", None), ("A-4", None)]
