"""Live reports computed once per question at a time and shared (single flight) until the client company's read
models change (the change feed says so) or, for what tells no change, for a second."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

Answer = TypeVar("Answer")
Key = tuple[Hashable, ...]  # the client company first: a change of that company concerns every key it starts


class _Question(Generic[Answer]):
    """One question's latest answer and the computation in flight, if any. `seen` is the cache's count of changes
    when a computation started: its answer holds every change told up to it."""

    __slots__ = ("answer", "ended", "last_start", "running", "running_seen", "seen", "started", "took")

    def __init__(self) -> None:
        self.answer: asyncio.Future[Answer] | None = None  # the latest answer computed (a finished future)
        self.seen, self.started, self.ended, self.took = 0, 0.0, 0.0, 0.0
        self.running: asyncio.Future[Answer] | None = None
        self.running_seen = 0
        self.last_start = float("-inf")


class ReportCache(Generic[Answer]):
    """Live reports are computed once per question at a time and shared (single flight): a busy dashboard wall
    costs one query at a time, and askers never wait for the next computation while the current answer may still
    be served.

    The change feed tells the cache when a client company's read models changed (`changed`; `all_changed` when it
    starts listening, as changes before went untold): the company's next ask starts a computation at once, and its
    answer is served as soon as it is ready. Meanwhile the answer it replaces is served only while its own
    computation started less than `ttl_s` ago (everything it misses was committed within that second); past that
    the asker waits, at most for the computation under way and one started after its ask. However fast changes come
    (1,000 payments a second), a question is computed one computation at a time, the next no sooner than
    `min_gap_s` after the last one started: at most ten times a second by default, never once per payment.

    An answer that no change was told about is shared for a second, as some figures change without a notice
    (contacts, segments, recalls, promises) and notices are lost while the feed is not listening: while a question
    keeps being asked, its next computation starts ahead of the answer's second, as long before it as the last one
    took, and the current answer is served until the next is ready (at most `max_stale_s` after its own computation
    ended). A question nobody asked for longer than its second is computed afresh while its asker waits."""

    def __init__(self, ttl_s: float = 1.0, max_entries: int = 2000, max_stale_s: float = 5.0, min_gap_s: float = 0.1,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s, self.max_entries, self.max_stale_s, self.min_gap_s = ttl_s, max_entries, max_stale_s, min_gap_s
        self.clock = clock
        self.entries: dict[Key, _Question[Answer]] = {}
        self.told = 0  # how many changes the feed told: a computation started at n holds every change up to n
        self.changes: dict[Hashable, int] = {}  # client company -> the count at its last change
        self.everything = 0  # the count when every company changed (the feed started listening)

    def changed(self, client: Hashable) -> None:
        """The client company's read models changed (a notice of the change feed): O(1), whatever the rate."""
        self.told += 1
        self.changes[client] = self.told
        if len(self.changes) > 2 * self.max_entries:  # only the companies of questions held need their last
            # change; at most max_entries are left, so this runs at most once every max_entries notices
            held = {key[0] for key in self.entries}
            self.changes = {c: n for c, n in self.changes.items() if c in held}

    def all_changed(self) -> None:
        self.told += 1
        self.everything = self.told

    async def get(self, key: Key, compute: Callable[[], Awaitable[Answer]]) -> Answer:
        needed = -1  # the count of changes at the first look: the asker waits for one computation started after it
        while True:
            now = self.clock()
            entry = self.entries.get(key)
            if entry is None:
                entry = self._hold(key, now)
            last_change = max(self.changes.get(key[0], 0), self.everything)
            needed = last_change if needed < 0 else needed
            current = entry.answer is not None and entry.seen >= last_change
            if entry.answer is not None and current and now < entry.ended + self.ttl_s:
                if now >= entry.ended + self.ttl_s - entry.took and entry.running is None:
                    self._start(key, entry, compute)  # ahead of the answer's second
                return await asyncio.shield(entry.answer)
            # Past its second or missing a change. Served meanwhile: an unchanged answer while the next computation,
            # already under way, runs; a changed one while all it misses is less than a second old.
            servable = entry.answer is not None and (
                now < entry.ended + self.max_stale_s and entry.running is not None if current
                else now < entry.started + self.ttl_s)
            if entry.running is None and (not servable or now >= entry.last_start + self.min_gap_s):
                self._start(key, entry, compute)
            if servable and entry.answer is not None:
                return await asyncio.shield(entry.answer)
            running = entry.running
            assert running is not None  # started above when none was
            if entry.running_seen >= needed:
                return await asyncio.shield(running)
            # It started before the asker's change: its end (failed or not) lets the next one start, or gives an
            # answer that may be served. asyncio.wait neither raises its failure nor cancels it with the asker.
            await asyncio.wait([running])

    def _hold(self, key: Key, now: float) -> _Question[Answer]:
        if len(self.entries) >= self.max_entries:
            self.entries = {k: e for k, e in self.entries.items()
                            if e.running is not None or now < e.ended + self.max_stale_s}
            while len(self.entries) >= self.max_entries:  # all in use: the oldest question goes
                del self.entries[next(iter(self.entries))]
        entry: _Question[Answer] = _Question()
        self.entries[key] = entry
        return entry

    def _start(self, key: Key, entry: _Question[Answer], compute: Callable[[], Awaitable[Answer]]) -> None:
        started, seen = self.clock(), self.told
        future: asyncio.Future[Answer] = asyncio.ensure_future(compute())
        entry.running, entry.running_seen, entry.last_start = future, seen, started

        def done(f: asyncio.Future[Answer]) -> None:
            if entry.running is f:
                entry.running = None
            if f.cancelled() or f.exception() is not None:
                if entry.answer is None and self.entries.get(key) is entry:
                    del self.entries[key]  # a failed first computation is not kept; a failed refresh leaves the
                return  # current answer to its own limits
            ended = self.clock()
            entry.answer, entry.seen, entry.started, entry.ended, entry.took = f, seen, started, ended, ended - started

        future.add_done_callback(done)
