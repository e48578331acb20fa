"""Reporting's look-ups by account on a real PostgreSQL holding many: the recovery report asks, of each write-off,
whether its account's write-off was reversed after it (it walked every write-off of the client company each time:
72 s at 20,000 write-offs), and what is held about a person reads their accounts' promises (every promise of the
client company: 73 ms at 120,000)."""

import datetime as dt
import uuid
from collections.abc import AsyncIterator

import pytest
import sqlalchemy

from recaudo_common.runtime import Platform, make_platform
from recaudo_common.testing import plan_of, settings_for_test, statements_run
from reporting import store
from reporting.privacy.held import held_about

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 4, 1, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
async def platform(database_url: str) -> AsyncIterator[Platform]:
    p: Platform = make_platform(settings_for_test(database_url), pool_size=2, clock=lambda: NOW)
    yield p
    await p.db.dispose()


async def setup(platform: Platform, *statements: str) -> None:
    async with platform.db.transaction() as s:
        for statement in statements:
            await s.execute(sqlalchemy.text(statement))
        for table in ("write_offs", "promises", "accounts"):
            await s.execute(sqlalchemy.text(f"ANALYZE reporting.{table}"))


async def test_each_write_off_asks_about_its_own_accounts_reversals(platform: Platform) -> None:
    await setup(platform, """INSERT INTO reporting.write_offs (id, client_slug, account_ref, kind, amount, at)
        SELECT gen_random_uuid(), 'banco', 'W-' || (i % 10000), CASE WHEN i % 10 = 0 THEN 'reversed'
            ELSE 'written_off' END, 100, TIMESTAMPTZ '2026-03-01 12:00+00' + (i % 20) * interval '1 hour'
        FROM generate_series(1, 20000) i""")
    with statements_run(platform.db, "r.kind = 'reversed'") as seen:
        async with platform.db.transaction() as s:
            facts = await store.report(s, client="banco", group_by=None, date_from=None, date_to=NOW,
                                       timezone="America/Bogota")
    assert facts  # the report was made
    plan = await plan_of(platform.db, *seen[0])
    assert '"Index Name": "write_offs_reversed"' in plan, plan


async def test_what_is_held_about_a_person_reads_their_accounts_promises(platform: Platform) -> None:
    person = uuid.uuid4()
    await setup(
        platform,
        "INSERT INTO reporting.promises (promise_id, client_slug, account_ref, amount, due_date, made_at, source) "
        "SELECT gen_random_uuid(), 'banco', 'P-' || i, 100, DATE '2026-04-10', now(), 'agent' "
        "FROM generate_series(1, 60000) i",
        "INSERT INTO reporting.accounts (client_slug, account_ref, placed_balance, placed_at, balance, debtor_ref) "
        f"VALUES ('banco', 'P-7', 100, now(), 100, '{person}')")
    with statements_run(platform.db, "FROM reporting.promises WHERE") as seen:
        async with platform.db.transaction() as s:
            held = await held_about(s, "banco", person)
    assert [p.account_ref for p in held.promises] == ["P-7"]
    plan = await plan_of(platform.db, *seen[0])
    assert '"Index Name": "reporting_promises_account"' in plan and "Seq Scan" not in plan, plan
