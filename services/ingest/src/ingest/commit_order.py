"""Two batches of one upload written at once, committed in the file's order (#24): while one batch's transaction
waits on PostgreSQL, the next one's is already claiming its people and sealing their data, so the worker's Python
and the database work side by side instead of taking turns.

The order keeps what one batch at a time kept: an upload's progress (rows_done) covers exactly the batches that
committed, so a resumed upload skips no row and repeats none. A batch commits only after the batch before it has
committed, and never when that one failed. It cannot deadlock against the batch before it: a batch begins its
vault statements (the only rows two batches of one upload can both want: a debtor with accounts in both, a shared
phone) only once the batch before it has finished its own, so the earlier batch never waits on a row lock of the
later one, while the later one may wait on the earlier one's new rows until it commits (then it reads them). A
third transaction can still close a cycle PostgreSQL cannot see (holding a row the earlier batch wants while it
waits for one the later batch holds): the batches' lock timeout breaks it (handlers.BATCH_LOCK_TIMEOUT_MS)."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field

IN_FLIGHT = 2  # batches of one upload written at once: a third would only queue behind the two for PostgreSQL


class BatchBeforeFailed(Exception):
    """The batch before this one did not commit, so this one must not either (its rows come after)."""


def _pending() -> asyncio.Future[None]:
    return asyncio.get_running_loop().create_future()


@dataclass
class BatchOrder:
    """Where one batch stands, for the batch after it: its vault rows claimed, its transaction committed."""

    claimed: asyncio.Future[None] = field(default_factory=_pending)
    committed: asyncio.Future[None] = field(default_factory=_pending)

    @classmethod
    def done(cls) -> BatchOrder:
        """The order before an upload's first batch: nothing to wait for."""
        order = cls()
        order.claimed.set_result(None)
        order.committed.set_result(None)
        return order

    def mark_claimed(self) -> None:
        if not self.claimed.done():
            self.claimed.set_result(None)

    def mark_committed(self) -> None:
        self.mark_claimed()
        if not self.committed.done():
            self.committed.set_result(None)

    def fail(self) -> None:
        """This batch ended without committing: the batches after it stop too."""
        for step in (self.claimed, self.committed):
            if not step.done():
                step.set_exception(BatchBeforeFailed())
                step.exception()  # retrieved: the batch after may already have stopped for another reason

    async def wait_claimed(self) -> None:
        await asyncio.shield(self.claimed)

    async def wait_committed(self) -> None:
        await asyncio.shield(self.committed)


Write = Callable[[BatchOrder, BatchOrder], Awaitable[None]]


async def _ended(writes: Collection[asyncio.Task[None]]) -> None:
    """Waits until every one of `writes` (cancelled by the caller) has ended, even when cancelled itself meanwhile
    (the cancellation is raised once they have ended): an upload never returns with a write still running, which
    could commit after its lease has passed to another worker."""
    pending = {w for w in writes if not w.done()}
    stopped: asyncio.CancelledError | None = None
    while pending:
        try:
            await asyncio.wait(pending)
        except asyncio.CancelledError as exc:  # a second stop: they are rolling back already
            stopped = exc
        pending = {w for w in pending if not w.done()}
    for write in writes:
        if not write.cancelled():
            write.exception()  # retrieved: the failure reported is the earliest batch's, or the caller's
    if stopped is not None:
        raise stopped


class InOrder:
    """Runs an upload's batch writes, up to IN_FLIGHT at once, each told the order of the one before it. A failure
    rolls back the batches after it (the ones before still commit) and is raised once every write has ended, the
    earliest batch's error first: an upload never ends with a write still running."""

    def __init__(self, in_flight: int = IN_FLIGHT) -> None:
        self.in_flight = in_flight
        self._last = BatchOrder.done()
        self._writes: deque[asyncio.Task[None]] = deque()

    async def start(self, write: Write) -> None:
        """Starts the next batch's write, first waiting for the oldest write in flight if there are IN_FLIGHT."""
        while len(self._writes) >= self.in_flight:
            await self._settle_oldest()
        before, this = self._last, BatchOrder()
        self._last = this
        self._writes.append(asyncio.ensure_future(self._run(write, before, this)))

    async def finish(self) -> None:
        """Waits for every write in flight; raises the earliest batch's failure, if any."""
        while self._writes:
            await self._settle_oldest()

    async def finish_after(self, failure: BaseException) -> None:
        """After `failure` elsewhere (reading the file, pacing), the writes in flight end as they would: the rows
        before the failure commit. If one of them fails, its error (an earlier batch's, which may be the database's
        and passing) is raised instead, from `failure`."""
        try:
            await self.finish()
        except asyncio.CancelledError:
            await self.abandon()
            raise
        except BaseException as write_error:
            raise write_error from failure

    async def abandon(self) -> None:
        """Cancels the writes in flight (the upload's processing itself cancelled: a worker stopping) and waits
        until they have rolled back; the upload resumes after the last batch that committed."""
        for write in self._writes:
            write.cancel()
        await _ended(self._writes)
        self._writes.clear()

    async def _settle_oldest(self) -> None:
        oldest = self._writes[0]
        try:
            await asyncio.shield(oldest)
        except BaseException:
            if not oldest.done():  # this waiter was cancelled, not the write: the caller abandons the writes
                raise
            self._writes.popleft()
            await self.abandon()  # the later ones cannot commit without it: rolled back now
            raise
        self._writes.popleft()

    @staticmethod
    async def _run(write: Write, before: BatchOrder, this: BatchOrder) -> None:
        try:
            await write(before, this)
        except BaseException:
            this.fail()
            raise
        this.mark_committed()
