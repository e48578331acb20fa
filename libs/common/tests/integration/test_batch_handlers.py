"""Batches in one transaction against a real PostgreSQL: one inbox claim, set-based batch handlers fed runs
that never hold one key twice, emits written in order, and the fallback to one event at a time."""

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from recaudo_common.bus.base import Message
from recaudo_common.bus.consumer import ConsumerRuntime, HandlerContext, Subscriptions
from recaudo_common.events import AccountPlaced, AccountRecalled, AccountUpdated, Event
from recaudo_common.runtime import Platform

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def platform(platform_on_postgres: Platform) -> Platform:
    return platform_on_postgres


def placed(ref: str, balance: str = "100.00") -> AccountPlaced:
    return AccountPlaced(account_ref=ref, portfolio_id=uuid.uuid4(), debtor_ref=None, personal=None, has_phone=False, has_email=False,
                         balance=Decimal(balance), currency="COP", days_past_due=40, as_of=NOW.date(),
                         authorised_channels=["sms"])


def updated(ref: str, balance: str) -> AccountUpdated:
    return AccountUpdated(**placed(ref, balance).model_dump(), previous_balance=Decimal("100.00"))


def message(event: Event) -> Message:
    return Message(f"t.{event.family}", event.key("banco"), event.envelope(client="banco", occurred_at=NOW), {})


class Ledger:
    """Appends a row per handled event (so a duplicate or a loss shows) and emits a recall for each, either
    one event at a time or set-based; `runs` keeps what each batch call was given."""

    def __init__(self, fail_batch: bool = False) -> None:
        self.fail_batch = fail_batch
        self.runs: list[list[str]] = []

    async def one(self, event: AccountPlaced | AccountUpdated, ctx: HandlerContext) -> None:
        await ctx.session.execute(
            text("INSERT INTO reporting.payments (payment_id, client_slug, account_ref, amount, paid_at, applied_at)"
                 " VALUES (:p, :c, :r, :a, :t, :t)"),
            {"p": uuid.uuid4(), "c": ctx.envelope.client, "r": event.account_ref, "a": event.balance, "t": ctx.now})
        await ctx.emit(AccountRecalled(account_ref=event.account_ref, recalled_at=ctx.now,
                                            reason=f"{event.type} {event.balance}"))

    async def many(self, events: list[tuple[AccountPlaced | AccountUpdated, HandlerContext]]) -> None:
        self.runs.append([f"{e.account_ref}:{e.balance}" for e, _ in events])
        if self.fail_batch:
            raise RuntimeError("simulated failure of the set-based form")
        session = events[0][1].session
        await session.execute(
            text("INSERT INTO reporting.payments (payment_id, client_slug, account_ref, amount, paid_at, applied_at)"
                 " SELECT gen_random_uuid(), :c, r, a, :t, :t FROM unnest(CAST(:r AS text[]), CAST(:a AS numeric[]))"
                 " WITH ORDINALITY AS i(r, a, n) ORDER BY n"),
            {"c": "banco", "r": [e.account_ref for e, _ in events], "a": [e.balance for e, _ in events], "t": NOW})
        for event, ctx in events:
            await ctx.emit(AccountRecalled(account_ref=event.account_ref, recalled_at=ctx.now,
                                            reason=f"{event.type} {event.balance}"))

    def subscriptions(self, *, batched: bool, in_order: bool = False) -> Subscriptions:
        plain: dict[type[Event], Any] = {AccountPlaced: self.one, AccountUpdated: self.one}
        return Subscriptions("ledger", "reporting", plain,
                             batch_handlers={AccountPlaced: self.many, AccountUpdated: self.many} if batched else {},
                             in_order=frozenset({AccountPlaced, AccountUpdated}) if in_order else frozenset())


async def state(p: Platform) -> tuple[list[tuple[str, Decimal]], list[tuple[str, str]]]:
    """The rows in the order they were written, and the outbox in order."""
    async with p.db.transaction() as s:
        ledger = [(r[0], r[1]) for r in await s.execute(text(
            "SELECT account_ref, amount FROM reporting.payments ORDER BY ctid"))]
        outbox = [(r[0], r[1]) for r in await s.execute(text(
            "SELECT key, envelope->'payload'->>'reason' FROM reporting.outbox ORDER BY id"))]
    return ledger, outbox


async def test_a_batch_handler_gets_runs_without_repeated_keys_and_matches_one_at_a_time(platform: Platform,
                                                                                          database_url: str) -> None:
    events: list[Event] = [placed("A-1"), placed("A-2"), updated("A-1", "90.00"), placed("A-3"),
                           updated("A-2", "80.00"), updated("A-2", "70.00")]
    batch = [message(e) for e in events]
    seen_before = batch[3]
    ledger = Ledger()
    runtime = ConsumerRuntime(platform.db, platform.transport, ledger.subscriptions(batched=True), "t", lambda: NOW)
    assert await runtime.handle_batch([seen_before]) == ["processed"]  # alone: the plain handler
    outcomes = await runtime.handle_batch(batch + [batch[0]])  # A-3 again, and A-1's placement twice
    assert outcomes == ["processed", "processed", "processed", "duplicate", "processed", "processed", "duplicate"]
    # A run breaks where a key repeats, so one statement never touches an account twice.
    assert ledger.runs == [["A-1:100.00", "A-2:100.00"], ["A-1:90.00", "A-2:80.00"], ["A-2:70.00"]]
    batched = await state(platform)

    # The same messages through the plain handler, one event at a time, leave the same state.
    async with platform.db.transaction() as s:
        await s.execute(text("TRUNCATE reporting.payments, reporting.outbox, reporting.inbox"))
    plain = ConsumerRuntime(platform.db, platform.transport, Ledger().subscriptions(batched=False), "t", lambda: NOW)
    for m in [seen_before] + batch + [batch[0]]:
        await plain.handle(m)
    assert await state(platform) == batched
    assert batched[0] == [("A-3", Decimal("100.00")), ("A-1", Decimal("100.00")), ("A-2", Decimal("100.00")),
                          ("A-1", Decimal("90.00")), ("A-2", Decimal("80.00")), ("A-2", Decimal("70.00"))]
    assert [reason for _, reason in batched[1]] == [
        "account.placed 100.00", "account.placed 100.00", "account.placed 100.00", "account.updated 90.00",
        "account.updated 80.00", "account.updated 70.00"]


async def test_a_batch_handler_that_keeps_order_gets_runs_with_repeated_keys(platform: Platform) -> None:
    """in_order: the handler applies its run's events one after another itself (this one's INSERT ... ORDER BY
    keeps their order), so a repeated key no longer breaks the run, and the state is the same."""
    events: list[Event] = [updated("A-1", "90.00"), updated("A-2", "80.00"), updated("A-1", "70.00"),
                           updated("A-2", "60.00")]
    for in_order, runs in ((False, [["A-1:90.00", "A-2:80.00"], ["A-1:70.00", "A-2:60.00"]]),
                           (True, [["A-1:90.00", "A-2:80.00", "A-1:70.00", "A-2:60.00"]])):
        async with platform.db.transaction() as s:
            await s.execute(text("TRUNCATE reporting.payments, reporting.outbox, reporting.inbox"))
        ledger = Ledger()
        runtime = ConsumerRuntime(platform.db, platform.transport,
                                  ledger.subscriptions(batched=True, in_order=in_order), "t", lambda: NOW)
        assert await runtime.handle_batch([message(e) for e in events]) == ["processed"] * 4
        assert ledger.runs == runs
        ledger_rows, _ = await state(platform)
        assert ledger_rows == [("A-1", Decimal("90.00")), ("A-2", Decimal("80.00")), ("A-1", Decimal("70.00")),
                               ("A-2", Decimal("60.00"))]


def test_in_order_names_only_types_with_a_batch_handler() -> None:
    with pytest.raises(ValueError, match="in_order"):
        Subscriptions("x", "reporting", {AccountPlaced: Ledger().one}, in_order=frozenset({AccountPlaced}))


async def test_a_failing_batch_handler_falls_back_to_one_event_at_a_time(platform: Platform) -> None:
    ledger = Ledger(fail_batch=True)
    runtime = ConsumerRuntime(platform.db, platform.transport, ledger.subscriptions(batched=True), "t", lambda: NOW)
    batch = [message(placed("B-1", "10.00")), message(placed("B-2", "20.00"))]
    assert await runtime.handle_batch(batch) == ["processed", "processed"]
    assert ledger.runs == [["B-1:10.00", "B-2:20.00"]]  # tried once, rolled back, then replayed one by one
    ledger_rows, outbox = await state(platform)
    assert ledger_rows == [("B-1", Decimal("10.00")), ("B-2", Decimal("20.00"))]
    assert [key for key, _ in outbox] == ["banco/B-1", "banco/B-2"]
    assert await runtime.handle_batch(batch) == ["duplicate", "duplicate"]
    assert await state(platform) == (ledger_rows, outbox)


def test_a_batch_handler_needs_its_plain_fallback() -> None:
    with pytest.raises(ValueError, match="plain handler"):
        Subscriptions("x", "reporting", {}, batch_handlers={AccountPlaced: Ledger().many})
