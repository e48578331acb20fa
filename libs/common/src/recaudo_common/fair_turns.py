"""Fair turns between tenants: a few pieces of work at a time (one by default), handed round the client companies
that are waiting, so one company's long job (a million-row upload) advances a batch at a time between everyone
else's instead of ahead of them."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class FairTurns:
    """A semaphore of `slots` turns whose waiters are served round-robin by client company, first come first served
    within one: after a company's turn, every other company already waiting goes before that company's next. In one
    event loop."""

    def __init__(self, slots: int = 1) -> None:
        if slots < 1:
            raise ValueError("a FairTurns has at least one slot")
        self._waiting: dict[str, deque[asyncio.Future[None]]] = {}
        self._order: deque[str] = deque()  # the companies with a waiter, in the order their turn comes
        self._free = slots
        self.turns_given = 0

    @asynccontextmanager
    async def turn(self, client: str) -> AsyncIterator[None]:
        if not self._free or self._order:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            if client not in self._waiting:
                self._waiting[client] = deque()
                self._order.append(client)
            self._waiting[client].append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():  # the turn came as it was cancelled: pass it on
                    self._hand_on()
                else:
                    self._forget(client, waiter)
                raise
        else:
            self._free -= 1
        self.turns_given += 1
        try:
            yield
        finally:
            self._hand_on()

    def waiting(self) -> dict[str, int]:
        """How many turns each company is waiting for (for the worker's metrics and the tests)."""
        return {client: len(queue) for client, queue in self._waiting.items()}

    def _hand_on(self) -> None:
        while self._order:
            client = self._order.popleft()
            queue = self._waiting[client]
            waiter = queue.popleft()
            if queue:
                self._order.append(client)  # its next turn comes after every other company waiting now
            else:
                del self._waiting[client]
            if not waiter.done():
                waiter.set_result(None)
                return  # the slot stays taken: the turn is theirs
        self._free += 1

    def _forget(self, client: str, waiter: asyncio.Future[None]) -> None:
        queue = self._waiting.get(client)
        if queue is None or waiter not in queue:
            return
        queue.remove(waiter)
        if not queue:
            del self._waiting[client]
            self._order.remove(client)
