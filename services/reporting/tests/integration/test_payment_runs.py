"""A run of payment.applied events in one fetched batch goes to reporting in one statement however long it is, and
every payment counts: an account paying three times in the run ends at its last balance and status, another's
payment before its placement is the balance the placement starts from, and the run delivered again changes
nothing."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import text

from recaudo_common.bus.base import Message
from recaudo_common.bus.consumer import ConsumerRuntime
from recaudo_common.events import AccountPlaced, ClientRegistered, Event, PaymentApplied
from recaudo_common.runtime import Platform, make_platform
from recaudo_common.testing import settings_for_test, statements_run
from reporting.consumers import SUBSCRIPTIONS
from reporting.handlers import on_payments_applied_many

pytestmark = pytest.mark.integration
AT = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)


def placed(ref: str, balance: str) -> AccountPlaced:
    return AccountPlaced(account_ref=ref, portfolio_id=uuid.uuid4(), debtor_ref=None, personal=None, has_phone=False,
                         has_email=False, balance=Decimal(balance), currency="COP", days_past_due=40,
                         as_of=AT.date(), authorised_channels=["sms"])


def paid(ref: str, amount: str, balance: str, minute: int, status: str = "open") -> PaymentApplied:
    return PaymentApplied(payment_id=uuid.uuid4(), account_ref=ref, amount=Decimal(amount), currency="COP",
                          paid_at=AT + dt.timedelta(minutes=minute), source="gateway", new_balance=Decimal(balance),
                          account_status=status)  # type: ignore[arg-type]


def messages(events: list[Event]) -> list[Message]:
    return [Message(f"t.{e.family}", e.key("banco"), e.envelope(client="banco", occurred_at=AT), {}) for e in events]


async def read(platform: Platform, query: str) -> list[tuple[object, ...]]:
    async with platform.db.transaction() as s:
        return [tuple(r) for r in (await s.execute(text(query))).all()]


async def test_a_run_of_payments_is_one_statement_and_each_account_ends_at_its_last(database_url: str) -> None:
    assert SUBSCRIPTIONS.batch_handler_for("payment.applied") is on_payments_applied_many
    assert SUBSCRIPTIONS.repeats_keys("payment.applied")
    platform = make_platform(settings_for_test(database_url), pool_size=3, clock=lambda: AT + dt.timedelta(hours=1))
    runtime = ConsumerRuntime(platform.db, platform.transport, SUBSCRIPTIONS, "t", platform.clock)
    start: list[Event] = [ClientRegistered(slug="banco", name="Banco", country="CO", currency="COP",
                                           timezone="America/Bogota", locale="es-CO",
                                           default_authorised_channels=["sms"]),
                          placed("A-1", "1000000"), placed("A-2", "500000")]
    run = [paid("A-1", "300000", "700000", 1), paid("A-2", "100000.50", "399999.50", 2),
           paid("A-1", "300000", "400000", 3), paid("B-9", "50000", "150000", 4),
           paid("A-1", "400000", "0", 5, "paid")]
    try:
        assert await runtime.handle_batch(messages(start)) == ["processed"] * 3
        batch = messages(run)
        with statements_run(platform.db, "INSERT INTO reporting.payments") as seen:
            assert await runtime.handle_batch(batch) == ["processed"] * 5
        assert len(seen) == 1  # the five in one run: a run split at A-1's second payment would make two or more
        payments = await read(platform, "SELECT account_ref, amount, new_balance, account_status "
                                        "FROM reporting.payments ORDER BY paid_at")
        assert payments == [(p.account_ref, p.amount, p.new_balance, p.account_status) for p in run]
        assert await read(platform, "SELECT account_ref, balance, status FROM reporting.accounts "
                                    "ORDER BY account_ref") == [("A-1", Decimal("0.00"), "paid"),
                                                                ("A-2", Decimal("399999.50"), "open")]
        assert await read(platform, "SELECT account_ref, count(*) FROM reporting.status_changes "
                                    "GROUP BY 1 ORDER BY 1") == [("A-1", 3), ("A-2", 1), ("B-9", 1)]

        # B-9's placement comes after its payment (another consumer group reads placements): it starts from the
        # ledger's word, not from the balance it was placed with.
        assert await runtime.handle_batch(messages([placed("B-9", "200000")])) == ["processed"]
        assert await read(platform, "SELECT balance, placed_balance FROM reporting.accounts "
                                    "WHERE account_ref = 'B-9'") == [(Decimal("150000.00"), Decimal("200000.00"))]

        # The same events delivered again are known by their ids; the same payments under new events (a replay
        # of payments' history) are known by theirs: neither counts twice.
        assert await runtime.handle_batch(batch) == ["duplicate"] * 5
        assert await runtime.handle_batch(messages(run)) == ["processed"] * 5
        assert await read(platform, "SELECT count(*), sum(amount) FROM reporting.payments") == [
            (5, Decimal("1150000.50"))]
        assert await read(platform, "SELECT balance, status FROM reporting.accounts "
                                    "WHERE account_ref = 'A-1'") == [(Decimal("0.00"), "paid")]
    finally:
        await platform.db.dispose()
