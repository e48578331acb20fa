"""Live reports: the read models' handlers NOTIFY on commit; one LISTEN connection per process fans the
notifications out to the server-sent-event streams of the client company they concern."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

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
