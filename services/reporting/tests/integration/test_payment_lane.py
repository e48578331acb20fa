"""Reporting reads payments in a consumer group of their own (#24): a payment reaches the report while the account
topic's group is far behind, and a payment that meets its account's placement in flight waits for it instead of
being lost between the two groups."""

import asyncio
import datetime as dt
import time
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import text

from recaudo_common.bus.base import Message, OutgoingMessage
from recaudo_common.bus.consumer import ConsumerRuntime, Subscriptions
from recaudo_common.events import AccountPlaced, ClientRegistered, Event, PaymentApplied
from recaudo_common.runtime import Platform, make_platform
from recaudo_common.testing import settings_for_test
from reporting import store
from reporting.consumers import SUBSCRIPTIONS
from reporting.rows import Placement

from .conftest import deliver

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 20, 15, 0, tzinfo=dt.UTC)


def lanes() -> tuple[Subscriptions, Subscriptions]:
    accounts, contacts, payments = SUBSCRIPTIONS.by_group()
    assert contacts.group_name == "reporting-contacts"
    return accounts, payments


def paid(ref: str, balance: str) -> PaymentApplied:
    return PaymentApplied(payment_id=uuid.uuid4(), account_ref=ref, amount=Decimal("1000"), currency="COP",
                          paid_at=NOW, source="gateway", new_balance=Decimal(balance), account_status="open")


def placed(ref: str) -> AccountPlaced:
    return AccountPlaced(account_ref=ref, portfolio_id=uuid.uuid4(), debtor_ref=None, personal=None,
                         has_phone=False, has_email=False, balance=Decimal("5000"), currency="COP",
                         days_past_due=40, as_of=dt.date(2026, 3, 2), authorised_channels=["sms"])


def test_payments_have_a_group_of_their_own_and_accounts_keep_theirs() -> None:
    accounts, payments = lanes()
    assert (accounts.group_name, payments.group_name) == ("reporting", "reporting-payments")
    assert payments.families() == ["payment"]
    assert "payment" not in accounts.families() and "account" in accounts.families()
    # Every handler is in exactly one group, and the inbox is the one consumer's in both.
    groups = SUBSCRIPTIONS.by_group()
    assert {handler for group in groups for handler in group.handlers} == set(SUBSCRIPTIONS.handlers)
    assert sum(len(group.handlers) for group in groups) == len(SUBSCRIPTIONS.handlers)  # each in one group
    assert {group.consumer for group in groups} == {"reporting"}
    assert {handler for group in groups for handler in group.batch_handlers} == set(SUBSCRIPTIONS.batch_handlers)


async def _balance(platform: Platform, client: str, ref: str) -> Decimal | None:
    async with platform.db.transaction() as s:
        row = await store.account_view(s, client, ref)
    return row.balance if row else None


async def test_a_payment_reaches_the_report_while_the_account_group_is_far_behind(database_url: str) -> None:
    platform = make_platform(settings_for_test(database_url), pool_size=4, clock=lambda: NOW)
    prefix = f"lane{uuid.uuid4().hex[:6]}"
    try:
        await deliver(platform, [(client, NOW, ClientRegistered(
            slug=client, name=client, country="CO", currency="COP", timezone="America/Bogota", locale="es-CO",
            default_authorised_channels=["sms"])) for client in ("grande", "chica")] +
            [("chica", NOW, placed("C-1"))], now=NOW)
        # A large upload's placements wait on the log, unread: the account group is stopped.
        backlog: list[tuple[str, Event]] = [("grande", placed(f"G-{i}")) for i in range(3000)]
        backlog.append(("chica", paid("C-1", "4000")))
        await platform.transport.start()
        async with platform.db.transaction() as s:
            await platform.transport.publish(s, [OutgoingMessage(
                f"{prefix}.{event.family}", event.key(client),
                event.envelope(client=client, occurred_at=NOW).model_dump_json(), {}) for client, event in backlog])
        stop = asyncio.Event()
        _, payments = lanes()
        runtime = ConsumerRuntime(platform.db, platform.transport, payments, prefix, lambda: NOW)
        task = asyncio.create_task(runtime.run(stop))
        deadline = time.monotonic() + 30
        while await _balance(platform, "chica", "C-1") != Decimal("4000"):
            assert time.monotonic() < deadline, "the payment did not reach the report"
            assert not task.done(), task
            await asyncio.sleep(0.05)
        stop.set()
        await task
        assert await _balance(platform, "grande", "G-0") is None  # none of the backlog went first
    finally:
        await platform.transport.stop()
        await platform.db.dispose()


async def test_a_payment_meeting_its_placement_in_flight_waits_for_it(database_url: str) -> None:
    platform = make_platform(settings_for_test(database_url), pool_size=4, clock=lambda: NOW)
    try:
        await deliver(platform, [("banco", NOW, ClientRegistered(
            slug="banco", name="Banco", country="CO", currency="COP", timezone="America/Bogota", locale="es-CO",
            default_authorised_channels=["sms"]))], now=NOW)
        _, payments = lanes()
        runtime = ConsumerRuntime(platform.db, platform.transport, payments, "t", lambda: NOW)
        event = paid("A-1", "4000")
        message = Message("t.payment", event.key("banco"), event.envelope(client="banco", occurred_at=NOW), {})
        async with platform.db.transaction() as placing:
            # The account group's batch is inserting A-1's placement, not yet committed...
            await store.place_accounts(placing, [Placement("banco", "A-1", Decimal("5000"), NOW, None, None, None)])
            applying = asyncio.create_task(runtime.handle_batch([message]))
            # ...so the payment's word waits for it (seen waiting on the ledger's lock), rather than updating
            # no account and leaving the placement to start from the placed balance.
            deadline = time.monotonic() + 20
            while not await _waiting_on_advisory_lock(platform):
                assert time.monotonic() < deadline, "the payment did not wait for the placement in flight"
                assert not applying.done(), applying.result()
                await asyncio.sleep(0.02)
        assert await applying == ["processed"]
        assert await _balance(platform, "banco", "A-1") == Decimal("4000")
    finally:
        await platform.db.dispose()


async def _waiting_on_advisory_lock(platform: Platform) -> bool:
    async with platform.db.transaction() as s:
        waiting = await s.scalar(text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database())"))
    return bool(waiting)
