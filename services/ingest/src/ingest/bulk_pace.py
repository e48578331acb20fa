"""The bulk lane: a large upload's batches wait while the services that read the account topic are far behind, so
another client company's new accounts (and, in a service that reads its topics in one stream, its payments) wait
behind a few thousand of them, never a million."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from recaudo_common.bus.base import Transport
from recaudo_common.telemetry import UPLOADS_PACED

log = logging.getLogger("recaudo.ingest")


@dataclass
class BulkPace:
    """An upload past its first `after_rows` rows commits its next batch only once every reader group of `topic`
    is at most `backlog` records behind (0: never waits). Pacing is for fairness, not correctness: if the backlog
    cannot be read (the broker restarting), the batch goes on, and the outbox holds its events until it is back."""

    transport: Transport
    topic: str
    readers: Sequence[str]  # consumer group names
    backlog: int = 2000
    after_rows: int = 5000
    poll_s: float = 0.2

    async def wait(self, rows_read: int) -> None:
        if self.backlog <= 0 or not self.readers or rows_read <= self.after_rows:
            return
        started = time.monotonic()
        try:
            while True:  # the readers are other processes: their progress is polled, nothing here can signal it
                if await self.transport.backlog(self.topic, self.readers, at_most=self.backlog + 1) <= self.backlog:
                    return
                await asyncio.sleep(self.poll_s)
        except Exception as exc:  # the reason pacing is skipped, never the upload's end
            log.warning("the account topic's backlog could not be read; the upload goes on unpaced", extra={
                "fields": {"error": type(exc).__name__}})
        finally:
            UPLOADS_PACED.inc(time.monotonic() - started)
