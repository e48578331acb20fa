"""An account's payments are read by the account on a real PostgreSQL holding many: what was paid toward a promise or
an arrangement (on every payment to an account with one pending, and by the evaluator for each pending promise) and
the account's payment list. Without an index of them by account each was a scan of every payment of every client
company: 50 ms at 500,000 payments, growing with the table."""

import datetime as dt

import pytest
import sqlalchemy

from payments import store as ledger
from payments.promises import store as promises
from recaudo_common.testing import plan_of, statements_run

from .conftest import NOW, Gateway

pytestmark = pytest.mark.integration


async def many_payments(gateway: Gateway) -> None:
    async with gateway.platform.db.transaction() as s:
        await s.execute(sqlalchemy.text(
            "INSERT INTO payments.payments (id, client_slug, account_ref, amount, currency, paid_at, source, status, "
            "received_at) SELECT gen_random_uuid(), 'banco', 'M-' || (i % 20000), 100, 'COP', "
            "CAST(:now AS timestamptz) - (i % 90) * interval '1 day', 'gateway', 'applied', "
            "CAST(:now AS timestamptz) - (i % 90) * interval '1 day' "
            "FROM generate_series(1, 100000) i"), {"now": NOW})
        await s.execute(sqlalchemy.text("ANALYZE payments.payments"))


async def test_what_was_paid_toward_a_commitment_is_read_by_the_account(gateway: Gateway) -> None:
    await many_payments(gateway)
    with statements_run(gateway.platform.db, "FROM payments.payments p WHERE p.client_slug") as seen:
        async with gateway.platform.db.transaction() as s:
            paid = await promises.paid_between(s, "banco", "M-7", NOW - dt.timedelta(days=30), NOW)
    assert paid == 200  # M-7 was paid 7, 27, 47, 67 and 87 days ago (i = 7, 20,007, ...): two in the last 30
    [(statement, parameters)] = seen
    plan = await plan_of(gateway.platform.db, statement, parameters)
    assert '"Index Name": "payments_account"' in plan and "Seq Scan" not in plan, plan


async def test_the_accounts_payment_list_is_read_by_the_account_newest_first(gateway: Gateway) -> None:
    await many_payments(gateway)
    with statements_run(gateway.platform.db, "FROM payments.payments WHERE client_slug") as seen:
        async with gateway.platform.db.transaction() as s:
            listed = await ledger.account_payments(s, "banco", "M-7", limit=3)
    assert [p.received_at for p in listed] == sorted((p.received_at for p in listed), reverse=True)
    assert len(listed) == 3
    [(statement, parameters)] = seen
    plan = await plan_of(gateway.platform.db, statement, parameters)
    assert '"Index Name": "payments_account"' in plan and "Seq Scan" not in plan and '"Sort"' not in plan, plan
