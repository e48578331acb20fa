"""Promises, arrangements, ledger entries and checkouts are found by their keys on a real PostgreSQL holding many:
an arrangement's instalments (the evaluator, each payment to an account with a promise), an account's arrangements
of any status (each reversal), what a payment recovered (each reversal) and the checkouts past their time (the
expiry poll). Each was a scan of its whole table (27 s an evaluator run at 200,000 promises)."""

import datetime as dt
import uuid

import pytest
import sqlalchemy

from payments import store as ledger
from payments.checkouts.following import expire_overdue
from payments.promises import store as promises
from recaudo_common.testing import plan_of, statements_run

from .conftest import NOW, Gateway

pytestmark = pytest.mark.integration
PLANS = 10_000  # of 5 instalments each, on as many accounts


async def setup(gateway: Gateway, *statements: str) -> None:
    async with gateway.platform.db.transaction() as s:
        for statement in statements:
            await s.execute(sqlalchemy.text(statement), {"now": NOW})
        for table in ("promises", "arrangements", "ledger_entries", "checkouts"):
            await s.execute(sqlalchemy.text(f"ANALYZE payments.{table}"))


MANY_PLANS = (
    f"""INSERT INTO payments.arrangements (id, client_slug, account_ref, kind, total_amount, instalments, made_at,
           source, status, decided_at)
        SELECT md5('plan' || i)::uuid, 'banco', 'P-' || i, 'instalment_plan', 500, '[]', CAST(:now AS timestamptz),
           'operator', CASE WHEN i % 3 = 0 THEN 'kept' WHEN i % 3 = 1 THEN 'broken' ELSE 'active' END,
           CASE WHEN i % 3 = 2 THEN NULL ELSE CAST(:now AS timestamptz) END
        FROM generate_series(1, {PLANS}) i""",
    f"""INSERT INTO payments.promises (promise_id, client_slug, account_ref, amount, due_date, made_at, source,
           status, arrangement_id)
        SELECT gen_random_uuid(), 'banco', 'P-' || i, 100, DATE '2026-04-01' + n * 30, CAST(:now AS timestamptz),
           'arrangement', 'pending', md5('plan' || i)::uuid
        FROM generate_series(1, {PLANS}) i, generate_series(1, 5) n""",
    f"""INSERT INTO payments.ledger_entries (client_slug, account_ref, kind, amount, payment_id, booked_at)
        SELECT 'banco', 'P-' || (i % {PLANS}), 'payment', -100, gen_random_uuid(), CAST(:now AS timestamptz)
        FROM generate_series(1, 100000) i""",
)


def by_key(plan: str, index: str) -> None:
    assert f'"Index Name": "{index}"' in plan and "Seq Scan" not in plan, plan


async def test_an_arrangements_instalments_are_read_by_the_arrangement(gateway: Gateway) -> None:
    await setup(gateway, *MANY_PLANS)
    with statements_run(gateway.platform.db, "FROM payments.promises q WHERE q.arrangement_id") as pending, \
            statements_run(gateway.platform.db, "(SELECT max(p.due_date) FROM payments.promises p") as active:
        async with gateway.platform.db.transaction() as s:
            found = await promises.pending_promises(s, client="banco", account_ref="P-2")
            arrangement = await promises.active_arrangement(s, "banco", "P-2")
    assert [p.amount for p in found] == [100, 200, 300, 400, 500]  # what the plan asked up to each instalment
    assert arrangement is not None and arrangement.last_due == dt.date(2026, 4, 1) + dt.timedelta(days=150)
    for statement, parameters in (pending[0], active[0]):
        by_key(await plan_of(gateway.platform.db, statement, parameters), "promises_arrangement")


async def test_the_last_kept_arrangement_and_a_payments_recovery_are_read_by_key(gateway: Gateway) -> None:
    await setup(gateway, *MANY_PLANS)
    payment_id = uuid.uuid4()
    await setup(gateway, "INSERT INTO payments.ledger_entries (client_slug, account_ref, kind, amount, payment_id, "
                         f"booked_at) VALUES ('banco', 'P-3', 'write_off_recovery', 40, '{payment_id}', "
                         "CAST(:now AS timestamptz))")
    with statements_run(gateway.platform.db, "a.status = 'kept'") as kept, \
            statements_run(gateway.platform.db, "kind IN ('write_off_recovery'") as recovered:
        async with gateway.platform.db.transaction() as s:
            last = await promises.last_kept_arrangement(s, "banco", "P-3")
            assert await ledger.recovered_by(s, payment_id) == 40
    assert last is not None and (last.kind, last.amounts) == ("instalment_plan", [100] * 5)
    plan = await plan_of(gateway.platform.db, *kept[0])
    by_key(plan, "arrangements_account")
    assert '"Index Name": "promises_arrangement"' in plan, plan
    by_key(await plan_of(gateway.platform.db, *recovered[0]), "ledger_payment")


async def test_the_checkouts_past_their_time_are_found_without_reading_the_others(gateway: Gateway) -> None:
    await setup(gateway, """INSERT INTO payments.checkouts (reference, client_slug, account_ref, gateway_account,
            gateway, method, amount, currency, status, expires_at, link_token, ticket_nonce, created_at, updated_at)
        SELECT 'chk-' || i, 'banco', 'A-1', 'wompi', 'wompi', 'online', 1000, 'COP',
            CASE WHEN i <= 3 THEN 'created' ELSE 'approved' END, CAST(:now AS timestamptz) - interval '2 hours',
            'token', 'n-' || i, CAST(:now AS timestamptz), CAST(:now AS timestamptz)
        FROM generate_series(1, 50000) i""")
    with statements_run(gateway.platform.db, "FROM payments.checkouts WHERE (") as seen:
        assert await expire_overdue(gateway.platform.db, now=NOW) == 3
    by_key(await plan_of(gateway.platform.db, *seen[0]), "checkouts_overdue")
