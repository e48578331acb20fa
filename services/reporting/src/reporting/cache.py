"""Live reports computed once per question at a time and shared for a second (single flight)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

Answer = TypeVar("Answer")
Key = tuple[Hashable, ...]


class ReportCache(Generic[Answer]):
    """Live reports are computed once per question at a time and then shared for a second (single flight): a
    busy dashboard wall costs one query at a time. While a question keeps being asked, its next computation starts
    ahead of the answer's second, as long before it as the last one took, and the current answer is served until
    the next is ready (at most `max_stale_s` after its own computation ended), so the askers never wait for it: at
    1,000,000 accounts a computation takes a good part of a second, more under load, and a wall of dashboards
    would otherwise wait for it every second. An answer is thus at most about a second plus one computation old,
    as it would be if everyone waited. A question nobody asked for longer than its second is computed afresh while
    its asker waits."""

    def __init__(self, ttl_s: float = 1.0, max_entries: int = 2000, max_stale_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s, self.max_entries, self.max_stale_s, self.clock = ttl_s, max_entries, max_stale_s, clock
        # key -> (expiry, answer, how long it took); the expiry is +inf while the first computation is in flight
        self.entries: dict[Key, tuple[float, asyncio.Future[Answer], float]] = {}
        self.refreshing: dict[Key, asyncio.Future[Answer]] = {}

    async def get(self, key: Key, compute: Callable[[], Awaitable[Answer]]) -> Answer:
        now = self.clock()
        hit = self.entries.get(key)
        if hit is not None and now < hit[0]:
            expiry, answer, took = hit
            if now >= expiry - took and key not in self.refreshing:
                self._start(key, compute, refresh=True)
            return await asyncio.shield(answer)
        if key in self.refreshing:  # past its second, and the next computation is under way
            if hit is not None and now < hit[0] - self.ttl_s + self.max_stale_s:
                return await asyncio.shield(hit[1])
            return await asyncio.shield(self.refreshing[key])
        if len(self.entries) >= self.max_entries:
            self.entries = {k: v for k, v in self.entries.items() if now < v[0]}
        return await asyncio.shield(self._start(key, compute, refresh=False))

    def _start(self, key: Key, compute: Callable[[], Awaitable[Answer]], *, refresh: bool
               ) -> asyncio.Future[Answer]:
        started = self.clock()
        future: asyncio.Future[Answer] = asyncio.ensure_future(compute())
        if refresh:
            self.refreshing[key] = future  # the current answer stays served until this one is ready
        else:
            self.entries[key] = (float("inf"), future, 0.0)

        def done(f: asyncio.Future[Answer]) -> None:
            if self.refreshing.get(key) is f:
                del self.refreshing[key]
            elif self.entries.get(key, (0.0, None, 0.0))[1] is not f:
                return  # superseded
            if f.cancelled() or f.exception() is not None:
                if not refresh:
                    self.entries.pop(key, None)
                return  # a failed refresh leaves the current answer to its expiry
            ended = self.clock()
            self.entries[key] = (ended + self.ttl_s, f, ended - started)

        future.add_done_callback(done)
        return future
