"""Migration 0026 on payments reversed before it: what each payment had reversed, known only as its total, is kept as
one reversal dated at the payment's instant, so the reports read for past periods as they did before."""

import datetime as dt
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from recaudo_common.migrate import upgrade_async

pytestmark = pytest.mark.integration
MIGRATIONS = Path(__file__).parents[2] / "migrations"
PAID_AT = dt.datetime(2026, 10, 10, 15, tzinfo=dt.UTC)


async def test_a_reversal_kept_before_stays_in_its_payments_period(database_url: str) -> None:
    engine = create_async_engine(database_url)
    reversed_payment, kept_payment = uuid.uuid4(), uuid.uuid4()
    try:
        async with engine.begin() as c:  # the tables as they were before 0026, a payment reversed in part
            await c.execute(text("DROP TABLE reporting.reversals"))
            await c.execute(text("UPDATE reporting.alembic_version SET version_num = '0025'"))
            for payment_id, reversed_amount in ((reversed_payment, "40000.50"), (kept_payment, "0")):
                await c.execute(text(
                    "INSERT INTO reporting.payments (payment_id, client_slug, account_ref, amount, paid_at, "
                    "applied_at, new_balance, account_status, reversed_amount) VALUES (:p, 'banco', 'A-1', 100000, "
                    ":at, :at, 0, 'open', :r)"), {"p": payment_id, "at": PAID_AT, "r": Decimal(reversed_amount)})
        await upgrade_async(schema="reporting", script_location=MIGRATIONS, database_url=database_url)
        async with engine.begin() as c:
            rows = (await c.execute(text(
                "SELECT payment_id, client_slug, account_ref, amount, at FROM reporting.reversals"))).all()
        assert [tuple(r) for r in rows] == [(reversed_payment, "banco", "A-1", Decimal("40000.50"), PAID_AT)]
        async with engine.begin() as c:  # run again (a retry, a later migration's test): nothing kept twice
            await c.execute(text("UPDATE reporting.alembic_version SET version_num = '0025'"))
        await upgrade_async(schema="reporting", script_location=MIGRATIONS, database_url=database_url)
        async with engine.begin() as c:
            assert (await c.execute(text("SELECT count(*) FROM reporting.reversals"))).scalar_one() == 1
    finally:
        await engine.dispose()
