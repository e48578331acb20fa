"""Live reports: the read models' handlers NOTIFY on commit; one LISTEN connection per process fans the
notifications out to the server-sent-event streams of the client company they concern."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

import asyncpg

from recaudo_common.db import asyncpg_dsn

CHANNEL = "recaudo_reporting"


class ChangeFeed:
    def __init__(self, database_url: str) -> None:
        self.dsn = asyncpg_dsn(database_url)
        self.subscribers: dict[str, set[asyncio.Event]] = {}
        self.conn: asyncpg.Connection | None = None
        self.lock = asyncio.Lock()

    def _notified(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        for wake in self.subscribers.get(str(payload), ()):  # the payload is the client company's slug
            wake.set()

    async def _ensure_listening(self) -> None:
        async with self.lock:
            if self.conn is None or self.conn.is_closed():
                self.conn = await asyncpg.connect(self.dsn)
                await self.conn.add_listener(CHANNEL, self._notified)

    @contextlib.asynccontextmanager
    async def subscribe(self, client: str) -> AsyncIterator[asyncio.Event]:
        """An event set whenever the client company's figures may have changed."""
        await self._ensure_listening()
        wake = asyncio.Event()
        self.subscribers.setdefault(client, set()).add(wake)
        try:
            yield wake
        finally:
            self.subscribers[client].discard(wake)
            if not any(self.subscribers.values()) and self.conn is not None:
                async with self.lock:
                    await self.conn.close()
                    self.conn = None


class OpenStreams:
    """How many live streams each caller holds open per client company in this process. A stream holds one of the
    server's request slots for as long as it lasts (RECAUDO_HTTP_MAX_CONCURRENCY: past them every request is
    answered 503), so one key may hold only a few: no caller can take a replica from the other tenants."""

    def __init__(self, per_caller: int) -> None:
        self.per_caller = per_caller
        self.held: dict[tuple[str, str], int] = {}

    def full(self, caller: str, client: str) -> bool:
        return self.held.get((caller, client), 0) >= self.per_caller

    @contextlib.contextmanager
    def holding(self, caller: str, client: str) -> Iterator[bool]:
        """Counts one stream while it runs; yields False when the caller already held its share (streams opened
        at the same instant all passed `full`): that one ends at once."""
        key = (caller, client)
        self.held[key] = self.held.get(key, 0) + 1
        try:
            yield self.held[key] <= self.per_caller
        finally:
            self.held[key] -= 1
            if not self.held[key]:
                del self.held[key]
