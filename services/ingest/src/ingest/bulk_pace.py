"""The bulk lane: a large upload's batches wait while its events are far from the services that read the account
topic (in ingest's outbox, or unread in the topic), so another client company's new accounts (and, in a service
that reads its topics in one stream, its payments) wait behind a few thousand of them, never a million. They also
wait while the readers of the topics its accounts feed are far behind: each placed account makes outreach record
its consents on the contact topic (and its campaign sends more), so without this a large upload floods the contact
lanes, which the account topic's bound does not reach, and another company's contacts wait behind tens of
thousands (#24)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from ingest.store import outbox
from recaudo_common.bus.base import Transport
from recaudo_common.db import Database
from recaudo_common.telemetry import UPLOADS_PACED

log = logging.getLogger("recaudo.ingest")
# Told that the upload's batch waits for the readers of a topic, having waited so many seconds already; or (None, 0)
# that it waits no longer: the upload's record says so, for the API and the console (handlers.show_pause).
PauseShown = Callable[[str | None, float], Awaitable[None]]


@dataclass(frozen=True)
class Downstream:
    """A topic that the account topic's readers write to as they read it, the consumer groups that read it, and
    how many of its events they may have yet to read before a large upload's next batch waits."""

    topic: str
    readers: Sequence[str]
    backlog: int


@dataclass
class BulkPace:
    """An upload past its first `after_rows` rows commits its next batch only once ingest's own outbox (events the
    relay has yet to publish) and the furthest behind reader group of `topic` together hold at most `backlog`
    events (0: never waits), plus the batches the upload is writing meanwhile (commit_order: up to two, their
    events not in the outbox yet): a small upload's events queue behind those, whichever of the two is slow. It
    also waits while the furthest behind reader of a `downstream` topic has more than that lane's backlog to read
    (0: that lane never holds it). Pacing is for fairness, not correctness: if the backlog cannot be read (the
    broker restarting), the batch goes on, and the outbox holds its events until the broker is back."""

    db: Database
    transport: Transport
    topic: str
    readers: Sequence[str]  # consumer group names
    backlog: int = 1000
    after_rows: int = 5000
    poll_s: float = 0.2
    # The rows of a batch: the pace is looked at between batches, with up to two in flight, so a small upload's
    # events wait behind about backlog + 2 * batch_rows of a large one's at each stage (placed, then segmented).
    batch_rows: int = 1000
    # Fed by the account topic's readers (the contact topic): the accounts already published still add to them
    # after a batch waits (outreach's consents, an event per account), so their bound is a few times the above.
    downstream: Sequence[Downstream] = ()
    # A batch held this long says so in the log, naming the topic whose readers hold it, and again as often: a
    # reader stopped (its worker down, a poisoned event retried) holds every large upload until it reads again.
    say_every_s: float = 60.0
    # A wait shorter than this is the lane's ordinary pace and is not shown on the upload; a longer one is, until
    # the batch goes on (and again whenever another topic's readers hold it).
    show_after_s: float = 2.0

    async def behind(self) -> int:
        """The events a new one would queue behind (up to backlog + 1)."""
        at_most = self.backlog + 1
        async with self.db.transaction() as s:
            waiting = await outbox.unpublished(s, at_most=at_most)
        if waiting >= at_most:
            return waiting
        return waiting + await self.transport.backlog(self.topic, self.readers, at_most=at_most - waiting)

    async def holding(self) -> str | None:
        """The topic whose readers are too far behind for the next batch to go, if one is."""
        if await self.behind() > self.backlog:
            return self.topic
        for lane in self.downstream:
            if lane.backlog > 0 and lane.readers and await self.transport.backlog(
                    lane.topic, lane.readers, at_most=lane.backlog + 1) > lane.backlog:
                return lane.topic
        return None

    async def wait(self, rows_read: int, *, shown: PauseShown | None = None) -> None:
        """Returns once the next batch may go; with `shown`, a wait longer than `show_after_s` is told to it (the
        topic that holds the batch), and its end too."""
        if self.backlog <= 0 or not self.readers or rows_read <= self.after_rows:
            return
        started = counted = said = time.monotonic()
        showing: str | None = None
        try:
            # The readers are other processes: their progress is polled, nothing here can signal it.
            while (held_by := await self.holding()) is not None:
                await asyncio.sleep(self.poll_s)
                now = time.monotonic()
                UPLOADS_PACED.inc(now - counted)  # counted as it waits, so a wait that never ends shows too
                counted = now
                if shown is not None and held_by != showing and now - started >= self.show_after_s:
                    showing = held_by  # before the write: a wait ended while it is made still clears it
                    await _tell(shown, held_by, now - started)
                if now - said >= self.say_every_s:
                    said = now
                    log.warning("a large upload's next batch is waiting for the readers of a topic to catch up",
                                extra={"fields": {"topic": held_by, "waited_s": round(now - started, 1)}})
        except Exception as exc:  # the reason pacing is skipped, never the upload's end
            log.warning("a watched topic's backlog could not be read; the upload goes on unpaced", extra={
                "fields": {"error": type(exc).__name__}})
        finally:
            UPLOADS_PACED.inc(time.monotonic() - counted)
            if shown is not None and showing is not None:
                await _tell(shown, None, 0.0)


async def _tell(shown: PauseShown, topic: str | None, waited_s: float, *, tries: int = 3) -> None:
    """Shows the pause (or its end) on the upload, if it can: a record that could not be written never stops the
    pacing, and never takes the place of what ends a wait (the worker stopping, while the batch waits). Its end is
    tried again a few times, so a passing database error does not leave the upload saying it waits while it goes
    on (the upload's finish, or its next start, clears it in any case)."""
    attempts = 1 if topic is not None else tries
    for attempt in range(1, attempts + 1):
        try:
            await shown(topic, waited_s)
            return
        except Exception as exc:
            log.warning("an upload's pause could not be shown on its record", extra={
                "fields": {"error": type(exc).__name__, "attempt": attempt}})
        if attempt < attempts:
            await asyncio.sleep(0.2 * attempt)
