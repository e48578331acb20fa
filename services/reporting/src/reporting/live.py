"""Live reports: the read models' handlers NOTIFY on commit; one LISTEN connection per process fans the
notifications out to the server-sent-event streams of the client company they concern, and to the process's shared
live answers (reporting.cache), which drop that company's."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Iterator
from typing import Protocol

import asyncpg

from recaudo_common.db import asyncpg_dsn

CHANNEL = "recaudo_reporting"
RETRY_S = 1.0  # a failed connection is tried again at the next ask this long after
log = logging.getLogger("recaudo.reporting")


class Watcher(Protocol):
    """Told of every change (the live report's cache): `all_changed` once listening starts, as changes committed
    before it were never told."""

    def changed(self, client: str) -> None: ...

    def all_changed(self) -> None: ...


class ChangeFeed:
    """PostgreSQL LISTEN/NOTIFY on one connection per process: every process hears every commit's notice, whichever
    process's consumer made it."""

    def __init__(self, database_url: str) -> None:
        self.dsn = asyncpg_dsn(database_url)
        self.subscribers: dict[str, set[asyncio.Event]] = {}
        self.watchers: list[Watcher] = []
        self.conn: asyncpg.Connection | None = None
        self.lock = asyncio.Lock()
        self.kept = False  # a watcher relies on the connection: it stays open without streams
        self.connecting: asyncio.Task[None] | None = None
        self.tried = float("-inf")

    def watch(self, watcher: Watcher) -> None:
        self.watchers.append(watcher)

    def _notified(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        client = str(payload)  # the payload is the client company's slug
        for wake in self.subscribers.get(client, ()):
            wake.set()
        for watcher in self.watchers:
            watcher.changed(client)

    async def _ensure_listening(self) -> None:
        async with self.lock:
            if self.conn is None or self.conn.is_closed():
                conn = await asyncpg.connect(self.dsn)
                try:
                    await conn.add_listener(CHANNEL, self._notified)
                except BaseException:
                    conn.terminate()  # a connection that does not listen would pass for one that does
                    raise
                self.conn = conn
                for watcher in self.watchers:  # listening from now on: what was computed before may miss a change
                    watcher.all_changed()

    def keep_listening(self) -> None:
        """Listens from now on, for the watchers (the live report's first ask, and again once the connection was
        lost): connected in the background, so an ask never waits for it; until it listens the watchers hear no
        change and share their answers for their second, as they would without the feed."""
        self.kept = True
        if (self.conn is not None and not self.conn.is_closed()) or (
                self.connecting is not None and not self.connecting.done()) or time.monotonic() < self.tried + RETRY_S:
            return
        self.tried = time.monotonic()
        self.connecting = asyncio.ensure_future(self._ensure_listening())
        self.connecting.add_done_callback(_said)

    async def close(self) -> None:
        if self.connecting is not None and not self.connecting.done():
            self.connecting.cancel()
            await asyncio.wait([self.connecting])
        async with self.lock:
            if self.conn is not None:
                await self.conn.close()
                self.conn = None

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
            if not any(self.subscribers.values()) and not self.kept and self.conn is not None:
                async with self.lock:
                    await self.conn.close()
                    self.conn = None


def _said(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("the live report's change feed is not listening: %r", task.exception())


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
