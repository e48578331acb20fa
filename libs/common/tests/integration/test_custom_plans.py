"""A consumer's transactions plan each statement for its own run: a plan PostgreSQL cached while a new client
company's tables were nearly empty would otherwise read a grown table whole for every account of a batch, until
autovacuum's next ANALYZE. A request's transactions keep the cached plans. On real PostgreSQL."""

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from sqlalchemy import text

from recaudo_common.bus.base import Message
from recaudo_common.bus.consumer import ConsumerRuntime, HandlerContext, Subscriptions
from recaudo_common.db import Database, make_engine
from recaudo_common.events import AccountPlaced
from recaudo_common.runtime import make_platform
from recaudo_common.testing import settings_for_test

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)
# A batch's probe of a table by account, as outreach's planning makes one (a lateral look-up per account).
PROBE = ("PREPARE probe(text[]) AS SELECT x.id FROM unnest($1) AS k(account_ref) CROSS JOIN LATERAL "
         "(SELECT id FROM grows x WHERE x.account_ref = k.account_ref OFFSET 0) x")
# A batch of more accounts than the 10 PostgreSQL assumes an unnest of a parameter gives, so the generic plan looks
# cheaper than the custom ones and is kept (as for consumers' batches of hundreds).
ACCOUNTS = "ARRAY[" + ", ".join(f"'N-{i}'" for i in range(44)) + "]"


@pytest.fixture
async def one_connection(database_url: str) -> AsyncIterator[Database]:
    """One pooled connection, so a statement prepared in one transaction is there in the next."""
    db = Database(make_engine(database_url, pool_size=1))
    yield db
    await db.dispose()


async def plan(db: Database, *, custom_plans: bool) -> str:
    async with db.transaction(custom_plans=custom_plans) as s:
        return "\n".join(r[0] for r in await s.execute(text(f"EXPLAIN EXECUTE probe({ACCOUNTS})")))


async def test_a_plan_cached_on_a_small_table_is_not_used_once_it_has_grown(one_connection: Database) -> None:
    db = one_connection
    async with db.transaction() as s:
        await s.execute(text("CREATE TABLE grows (id bigint PRIMARY KEY, account_ref text)"))
        await s.execute(text("CREATE INDEX grows_account ON grows (account_ref)"))
        # A table of one page: a scan of it is cheaper than an index probe even at the servers' random_page_cost
        # of 1.1 (recaudo_common.postgres_planner), as for a client company's first few accounts.
        await s.execute(text("INSERT INTO grows SELECT g, 'P-' || g FROM generate_series(1, 20) g"))
        await s.execute(text("ANALYZE grows"))
    async with db.transaction() as s:  # (a plan made in the transaction that made the table is dropped at commit)
        await s.execute(text(PROBE))
        for _ in range(6):  # after five runs PostgreSQL may settle on one generic plan
            await s.execute(text(f"EXECUTE probe({ACCOUNTS})"))
    async with db.transaction() as s:  # a portfolio's rows, before autovacuum's ANALYZE comes by
        await s.execute(text("INSERT INTO grows SELECT g, 'A-' || g FROM generate_series(201, 100000) g"))
    # The trap: the cached plan reads the whole table for each account of the batch.
    assert "Seq Scan on grows" in await plan(db, custom_plans=False)
    # Planned for its own run, on the table as it is now: the index.
    custom = await plan(db, custom_plans=True)
    assert "Index" in custom and "Seq Scan on grows" not in custom, custom


async def test_a_consumers_batch_plans_afresh_and_a_request_keeps_the_cached_plans(database_url: str) -> None:
    platform = make_platform(settings_for_test(database_url), pool_size=2)
    seen: list[str] = []

    async def one(event: AccountPlaced, ctx: HandlerContext) -> None:
        seen.append(str(await ctx.session.scalar(text("SHOW plan_cache_mode"))))

    async def many(events: list[tuple[AccountPlaced, HandlerContext]]) -> None:
        seen.append(str(await events[0][1].session.scalar(text("SHOW plan_cache_mode"))))

    subscriptions = Subscriptions("planner", "reporting", {AccountPlaced: one}, batch_handlers={AccountPlaced: many})
    runtime = ConsumerRuntime(platform.db, platform.transport, subscriptions, "t", lambda: NOW)
    events = [AccountPlaced(account_ref=f"A-{i}", portfolio_id=uuid.uuid4(), debtor_ref=None, personal=None,
                            has_phone=False, has_email=False, balance=Decimal("100.00"), currency="COP",
                            days_past_due=40, as_of=NOW.date(), authorised_channels=["sms"]) for i in range(3)]
    messages = [Message(f"t.{e.family}", e.key("banco"), e.envelope(client="banco", occurred_at=NOW), {})
                for e in events]
    try:
        assert await runtime.handle_batch(messages) == ["processed"] * 3  # one batch
        assert await runtime.handle_batch(messages[:1]) == ["duplicate"]
        fresh = events[0].model_copy(update={"account_ref": "A-9"})
        assert await runtime.handle(Message("t.account", fresh.key("banco"),
                                            fresh.envelope(client="banco", occurred_at=NOW), {})) == "processed"
        async with platform.db.transaction() as s:
            request = await s.scalar(text("SHOW plan_cache_mode"))
    finally:
        await platform.db.dispose()
    assert seen == ["force_custom_plan", "force_custom_plan"]
    assert request == "auto"
