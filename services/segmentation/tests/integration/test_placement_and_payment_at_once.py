"""An account's placement and a payment of it handled at the same time by two workers (their topics are read by
different members of the consumer group), against a real PostgreSQL: whichever commits second sees the other, so
the ledger's word is never left in segmentation.ledger_words with nobody to read it. Each test holds the first
transaction open right after its handler ran, then runs the second: it either waits for the first (a lock) or
finishes; the first then commits."""

import asyncio
import dataclasses
import datetime as dt
import time
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from recaudo_common.bus.base import Message
from recaudo_common.bus.consumer import ConsumerRuntime, HandlerContext
from recaudo_common.events import AccountPlaced, Event, PaymentApplied
from recaudo_common.runtime import Platform
from segmentation import handlers
from segmentation.consumers import SUBSCRIPTIONS
from segmentation.handlers import run_aging

from .test_aging import CLIENT, LATE_EVENING, account, deliver, placed

pytestmark = pytest.mark.integration
DEADLINE_S = 20.0


class Held:
    """A handler that, once it has run, keeps its transaction open until released."""

    def __init__(self, handler: Callable[[Any, HandlerContext], Awaitable[None]]) -> None:
        self.handler, self.ran, self.release = handler, asyncio.Event(), asyncio.Event()

    async def __call__(self, event: Any, ctx: HandlerContext) -> None:
        await self.handler(event, ctx)
        self.ran.set()
        await self.release.wait()


def worker(p: Platform, event_type: type[Event], held: Held) -> ConsumerRuntime:
    """A consumer whose handler of `event_type` is held (the others as the service's)."""
    # A batch of one goes to the plain handler (ConsumerRuntime.handle_batch).
    subscriptions = dataclasses.replace(SUBSCRIPTIONS, handlers={**SUBSCRIPTIONS.handlers, event_type: held})
    return ConsumerRuntime(p.db, p.transport, subscriptions, "t", lambda: LATE_EVENING)


def message(e: Event) -> Message:
    return Message(f"t.{e.family}", e.key("banco"), e.envelope(client="banco", occurred_at=LATE_EVENING), {})


async def waits_or_ends(p: Platform, task: asyncio.Task[Any] | None = None, *, locktype: str | None = None
                        ) -> None:
    """Until the task (if any) has finished or a transaction of this database waits for a lock another holds (of
    `locktype` when given), polled with a deadline."""
    deadline = time.monotonic() + DEADLINE_S
    while task is None or not task.done():
        async with p.db.transaction() as s:
            if await s.scalar(text(
                    "SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype = coalesce(:locktype, locktype) "
                    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"),
                    {"locktype": locktype}):
                return
        assert time.monotonic() < deadline, "neither finished nor waiting"
        await asyncio.sleep(0.02)  # a poll's interval, not a wait for the outcome


async def first_then_second(p: Platform, first: Event, second: Event,
                            handler: Callable[[Any, HandlerContext], Awaitable[None]] | None = None) -> None:
    """`first`'s worker runs its handler (the payment's or the placement's unless given) and holds its
    transaction; `second`'s runs meanwhile; then both commit."""
    held = Held(handler or (handlers.on_payment if isinstance(first, PaymentApplied) else handlers.on_account_stated))
    holding = asyncio.create_task(worker(p, type(first), held).handle_batch([message(first)]))
    await asyncio.wait_for(held.ran.wait(), DEADLINE_S)
    plain = ConsumerRuntime(p.db, p.transport, SUBSCRIPTIONS, "t", lambda: LATE_EVENING)
    other = asyncio.create_task(plain.handle_batch([message(second)]))
    await waits_or_ends(p, other)
    held.release.set()
    assert await asyncio.wait_for(holding, DEADLINE_S) == ["processed"]
    assert await asyncio.wait_for(other, DEADLINE_S) == ["processed"]


def payment_of(ref: str) -> PaymentApplied:
    return PaymentApplied(payment_id=uuid.uuid4(), account_ref=ref, amount=Decimal("500000"), currency="COP",
                          paid_at=LATE_EVENING, source="gateway", new_balance=Decimal("0"), account_status="paid")


async def ledger_words(p: Platform) -> int:
    async with p.db.transaction() as s:
        return int(await s.scalar(text("SELECT count(*) FROM segmentation.ledger_words")) or 0)


@pytest.mark.parametrize("payment_first", [True, False], ids=["payment-holds", "placement-holds"])
async def test_a_placement_and_a_payment_at_once_leave_the_account_paid(platform: Platform,
                                                                         payment_first: bool) -> None:
    await deliver(platform, [CLIENT], LATE_EVENING)
    placement: AccountPlaced = placed("R-1", 45)
    payment = payment_of("R-1")
    if payment_first:
        await first_then_second(platform, payment, placement)
    else:
        await first_then_second(platform, placement, payment)
    after = await account(platform, "R-1")
    assert (after["status"], after["treatment"]) == ("paid", "stopped")
    assert await ledger_words(platform) == 0  # nothing kept for a placement that has already happened


async def test_the_daily_aging_does_not_work_the_account_paid_at_its_placement(platform: Platform) -> None:
    # What a client company would see: a debtor who paid as the account arrived is left alone by the next days.
    await deliver(platform, [CLIENT], LATE_EVENING)
    await first_then_second(platform, payment_of("R-2"), placed("R-2", 45))
    assert await run_aging(platform.db, client="banco", day=dt.date(2026, 4, 20), now=LATE_EVENING) == 0
