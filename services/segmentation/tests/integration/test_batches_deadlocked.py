"""Two segmentation workers whose batches each hold a placement and a payment, of each other's accounts (several
consumer processes, each fetching account and payment events), against a real PostgreSQL. A batch takes all its
account locks at its start, in one order (account_locks.lock_batch), so the second waits for the first. Without
that, each would hold its placement's lock and ask for the other's: PostgreSQL aborts one (40P01) and the consumer
runtime replays that batch one event at a time; either way both events of each batch are applied exactly once and
nothing is dead-lettered, since nothing is wrong with the events."""

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import text

from recaudo_common.bus.consumer import ConsumerRuntime, HandlerContext
from recaudo_common.db import exception_chain
from recaudo_common.events import AccountPlaced, AccountUpdated, Event, PaymentApplied
from recaudo_common.runtime import Platform
from segmentation.consumers import SUBSCRIPTIONS

from .test_aging import CLIENT, LATE_EVENING, account, deliver, placed
from .test_placement_and_payment_at_once import DEADLINE_S, ledger_words, message, payment_of, waits_or_ends

pytestmark = pytest.mark.integration
BatchHandler = Callable[[list[tuple[Any, HandlerContext]]], Awaitable[None]]


class Paused:
    """A batch handler that, once it has run, waits until let go (its transaction open, its locks held); and
    that keeps what made it fail."""

    def __init__(self, handler: BatchHandler, *, pause: bool) -> None:
        self.handler, self.pause = handler, pause
        self.ran, self.go = asyncio.Event(), asyncio.Event()
        self.failures: list[BaseException] = []

    async def __call__(self, events: list[tuple[Any, HandlerContext]]) -> None:
        try:
            await self.handler(events)
        except Exception as exc:
            self.failures.append(exc)
            raise
        self.ran.set()
        if self.pause:
            await self.go.wait()


@dataclasses.dataclass
class Worker:
    runtime: ConsumerRuntime
    placements: Paused
    payments: Paused


def worker(p: Platform, *, pause: bool = True, batch_locks: bool = True) -> Worker:
    """A consumer whose batches (its fast path) pause after their placements; its fallback of one event at a time
    runs the plain handlers, as the service's. Without `batch_locks`, each run takes its locks as it starts."""
    placements = Paused(SUBSCRIPTIONS.batch_handlers[AccountPlaced], pause=pause)
    payments = Paused(SUBSCRIPTIONS.batch_handlers[PaymentApplied], pause=False)
    subscriptions = dataclasses.replace(SUBSCRIPTIONS, batch_handlers={
        **SUBSCRIPTIONS.batch_handlers, AccountPlaced: placements, AccountUpdated: placements,
        PaymentApplied: payments}, batch_locks=SUBSCRIPTIONS.batch_locks if batch_locks else None)
    return Worker(ConsumerRuntime(p.db, p.transport, subscriptions, "t", lambda: LATE_EVENING, backoff_s=0),
                  placements, payments)


async def lock_keys_apart(p: Platform) -> tuple[str, str]:
    """Two account refs whose account locks differ (account_locks hashes 64 of them), so each batch waits for the
    other's lock, not for one they share."""
    async with p.db.transaction() as s:
        first, second = (await s.execute(text(
            "SELECT a.ref, b.ref FROM (SELECT 'D-' || n AS ref FROM generate_series(1, 40) n) a, "
            "(SELECT 'D-' || n AS ref FROM generate_series(1, 40) n) b "
            "WHERE hashtext('banco/' || a.ref) & 63 <> hashtext('banco/' || b.ref) & 63 LIMIT 1"))).one()
    return str(first), str(second)


async def dead_letters(p: Platform) -> int:
    async with p.db.transaction() as s:
        return int(await s.scalar(text("SELECT count(*) FROM bus.log WHERE topic LIKE '%.dlq'")) or 0)


async def applied_once(p: Platform, x: str, y: str) -> None:
    """Both accounts placed and paid, each payment counted once, nothing left over, nothing dead-lettered."""
    for ref in (x, y):
        after = await account(p, ref)
        assert (after["status"], after["treatment"]) == ("paid", "stopped")
    async with p.db.transaction() as s:
        assert await s.scalar(text("SELECT count(*) FROM segmentation.outcomes")) == 2  # each payment once
        assert await s.scalar(text("SELECT count(*) FROM segmentation.inbox")) == 5  # the client's event too
    assert await ledger_words(p) == 0
    assert await dead_letters(p) == 0


async def test_two_batches_that_would_deadlock_wait_for_each_other_instead(platform: Platform) -> None:
    await deliver(platform, [CLIENT], LATE_EVENING)
    x, y = await lock_keys_apart(platform)
    a, b = worker(platform), worker(platform, pause=False)
    running_a = asyncio.create_task(a.runtime.handle_batch([message(placed(x, 45)), message(payment_of(y))]))
    await asyncio.wait_for(a.placements.ran.wait(), DEADLINE_S)  # A holds its batch's locks, x's and y's
    running_b = asyncio.create_task(b.runtime.handle_batch([message(placed(y, 45)), message(payment_of(x))]))
    await waits_or_ends(platform, locktype="advisory")  # B waits at its start, before it places y
    assert not b.placements.ran.is_set()
    a.placements.go.set()
    outcomes = await asyncio.wait_for(asyncio.gather(running_a, running_b), DEADLINE_S)
    assert outcomes == [["processed", "processed"], ["processed", "processed"]]
    assert a.payments.failures + b.payments.failures == []  # no deadlock: both batches applied on the fast path
    await applied_once(platform, x, y)


async def test_two_batches_that_deadlock_are_each_applied_once_and_nothing_is_dead_lettered(
        platform: Platform) -> None:
    # The consumer runtime's answer to a deadlock, whatever its cause (here the locks taken run by run).
    await deliver(platform, [CLIENT], LATE_EVENING)
    x, y = await lock_keys_apart(platform)
    a, b = worker(platform, batch_locks=False), worker(platform, batch_locks=False)
    batch_a: list[Event] = [placed(x, 45), payment_of(y)]
    batch_b: list[Event] = [placed(y, 45), payment_of(x)]
    running_a = asyncio.create_task(a.runtime.handle_batch([message(e) for e in batch_a]))
    running_b = asyncio.create_task(b.runtime.handle_batch([message(e) for e in batch_b]))
    # Each batch has placed its account and holds its lock (shared) until it commits.
    await asyncio.wait_for(asyncio.gather(a.placements.ran.wait(), b.placements.ran.wait()), DEADLINE_S)
    a.placements.go.set()  # A's payment of y asks for y's lock, which B holds
    await waits_or_ends(platform, locktype="advisory")
    b.placements.go.set()  # B's payment of x asks for x's lock, which A holds: a cycle
    outcomes = await asyncio.wait_for(asyncio.gather(running_a, running_b), DEADLINE_S)
    assert outcomes == [["processed", "processed"], ["processed", "processed"]]
    failures = a.payments.failures + b.payments.failures
    assert [{getattr(e, "sqlstate", None) for e in exception_chain(f)} - {None} for f in failures] == [{"40P01"}]
    await applied_once(platform, x, y)
