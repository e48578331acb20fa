"""Group commit, the mechanics: requests that arrive while a transaction is writing wait for the next one and are
applied together, so a payment's cost is not its own round trips (#24). What a batch applies is the subclass's
(webhooks_together: the payments API's own notifications; gateways.together: the gateways'); anything it leaves,
and every request of a batch that cannot commit, is told to go on its own (ON_ITS_OWN) and applied one at a time
in its own request, so every rule beyond the plain booking is written once."""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from recaudo_common.db import Database, after_commit
from recaudo_common.instrumentation import libraries_traced_if

log = logging.getLogger("recaudo.payments")

# What a request is told when its payment is not for a group commit after all: apply it on your own.
ON_ITS_OWN = None
Answer = TypeVar("Answer")


@dataclass(kw_only=True)
class Waiting(Generic[Answer]):
    """A request waiting for its group commit, and the answer it awaits: an outcome, a refusal, or ON_ITS_OWN."""

    answer: asyncio.Future[Answer | None] = field(repr=False)
    # Its request's context: the event it emits carries the request's correlation and trace, not the writer's.
    context: contextvars.Context = field(repr=False, default_factory=contextvars.copy_context)

    def tell(self, outcome: Answer | Exception | None) -> None:
        """Answers the request, unless it went away (the gateway hung up: it delivers again and is told then). Never
        raises: a writer that could not tell one request must still tell the others."""
        if self.answer.done() or self.answer.get_loop().is_closed():
            return
        if isinstance(outcome, Exception):
            self.answer.set_exception(outcome)
        else:
            self.answer.set_result(outcome)


W = TypeVar("W", bound="Waiting[Any]")


def first_of_each(batch: Sequence[W], key: Callable[[W], Hashable]) -> tuple[list[W], list[W]]:
    """The batch's first request of each key, and the others: one sent twice in a batch goes on its own, where it
    finds the first once that commits."""
    first: list[W] = []
    again: list[W] = []
    seen: set[Hashable] = set()
    for waiting in batch:
        (again if key(waiting) in seen else first).append(waiting)
        seen.add(key(waiting))
    return first, again


class GroupCommit(Generic[W]):
    """The queue of waiting requests and the one writer task that applies them, at most `most_together` to a
    transaction; whatever arrives meanwhile is the next batch. One per process and kind; its writer starts with the
    first request and ends when nothing waits."""

    name = "payments: group commit"

    def __init__(self, db: Database, *, most_together: int) -> None:
        self.db, self.most_together = db, most_together
        self.queue: asyncio.Queue[W] = asyncio.Queue()
        self.writer: asyncio.Task[None] | None = None
        self.commits = 0  # group commits made (a test reads it: were these payments committed together?)

    async def apply_together(self, s: AsyncSession, batch: Sequence[W]) -> list[W]:
        """Applies what it can of the batch in `s` and answers those requests once it commits (after_commit);
        answers refusals as it finds them; returns the requests it leaves to go on their own."""
        raise NotImplementedError

    def enqueue(self, waiting: W) -> None:
        """Queues the request for the next group commit (its caller then awaits `waiting.answer`)."""
        loop = asyncio.get_running_loop()
        self.queue.put_nowait(waiting)
        # A writer of another event loop (a test's earlier app) can never run again here.
        if self.writer is None or self.writer.done() or self.writer.get_loop() is not loop:
            # In a context of its own: it works for every request, not the one that happened to start it.
            self.writer = loop.create_task(self._write(), name=self.name, context=contextvars.Context())

    async def _write(self) -> None:
        loop = asyncio.get_running_loop()
        while not self.queue.empty():
            taken = [self.queue.get_nowait() for _ in range(min(self.queue.qsize(), self.most_together))]
            batch = [w for w in taken if w.answer.get_loop() is loop]  # a request of a loop gone waits for nobody
            try:
                with libraries_traced_if(None):  # a batch's statements are no one request's trace
                    await self.apply(batch)
            except BaseException:  # cancelled (the process stops): never leave a request waiting for an answer
                for waiting in [*batch, *self._drain()]:
                    waiting.tell(ON_ITS_OWN)
                raise

    def _committed(self) -> None:
        self.commits += 1

    def _drain(self) -> list[W]:
        return [self.queue.get_nowait() for _ in range(self.queue.qsize())]

    async def apply(self, batch: Sequence[W]) -> None:
        """One transaction for the batch. A request it leaves, and every request of a batch that cannot commit (a
        passing failure, anything), is told to go on its own: its request applies it one at a time, concurrently
        with the next batch, where it meets its own answer."""
        if not batch:
            return
        try:
            async with self.db.transaction() as s:
                after_commit(s, self._committed)  # counted before any of its requests is answered
                later = await self.apply_together(s, batch)
        except Exception as exc:
            log.warning("a group commit of payments failed; each is applied on its own",
                        extra={"fields": {"writer": self.name, "payments": len(batch), "error": type(exc).__name__}})
            later = list(batch)
        for waiting in later:
            waiting.tell(ON_ITS_OWN)
