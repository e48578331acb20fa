"""What a request looks up on every call and rarely changes (an API key's principal, a gateway account by its
webhook), kept for a few seconds per process: a change is seen within `ttl_s`, and while an entry is being looked up
the requests that need it wait for that one lookup instead of each asking the database (100 at once in the report
benchmark, #24; the gateways' notifications, each holding a connection of its own for the read, churned the pool).
Memory is bounded: past `max_entries` the cache starts again empty."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ShortCache(Generic[K, V]):
    """Values by key for `ttl_s` seconds (None, "nothing there", included), one lookup per key at a time."""

    def __init__(self, ttl_s: float, *, max_entries: int = 10_000) -> None:
        self.ttl_s, self.max_entries = ttl_s, max_entries
        self._entries: dict[K, tuple[float, V]] = {}
        self._looking_up: dict[K, asyncio.Future[V]] = {}

    async def get(self, key: K, look_up: Callable[[], Awaitable[V]]) -> V:
        """The value kept for `key`, or what `look_up()` answers (kept for ttl_s; a failed lookup is not kept)."""
        entry = self._entries.get(key)
        if entry is not None and entry[0] > time.monotonic():
            return entry[1]
        pending = self._looking_up.get(key)
        if pending is None or pending.get_loop() is not asyncio.get_running_loop():
            # (a lookup left behind by an event loop that has ended is never awaited from another)
            pending = asyncio.ensure_future(look_up())
            self._looking_up[key] = pending

            def done(f: asyncio.Future[V]) -> None:
                if self._looking_up.get(key) is not f:
                    return  # forgotten while it looked: what it read may be from before the change
                del self._looking_up[key]
                if not f.cancelled() and f.exception() is None:
                    if len(self._entries) >= self.max_entries:
                        self._entries.clear()
                    self._entries[key] = (time.monotonic() + self.ttl_s, f.result())

            pending.add_done_callback(done)
        # Shielded: a request that goes away does not cancel the lookup the others wait for.
        return await asyncio.shield(pending)

    def forget(self, key: K) -> None:
        """Drops what is kept for `key` (this process changed it: its next request looks it up again)."""
        self._entries.pop(key, None)
        self._looking_up.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()
