"""Ingest's upload worker: several client companies' uploads in progress at once, their batches taking turns (one
batch at a time, round the companies), so a small upload is never queued behind another company's million rows."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from dataclasses import dataclass, field

from ingest import handlers, store
from ingest.bulk_pace import BulkPace
from ingest.commit_order import IN_FLIGHT
from ingest.handlers import Clock
from ingest.reading import FileLimits
from recaudo_common.db import Database, is_transient
from recaudo_common.fair_turns import FairTurns
from recaudo_common.personal_data import Vault

log = logging.getLogger("recaudo.ingest")


@dataclass
class _InProgress:
    client: str
    task: asyncio.Task[bool]


@dataclass
class UploadWorker:
    """Takes up to `max_in_progress` waiting uploads, one per client company (a company's uploads apply in order:
    store.pending_portfolios), each in its own task, and hands their batches round by FairTurns. An upload whose
    processing raised rests (0.5 s, doubling to 5 s) before it is taken again; its attempts are counted by the
    handler, which sets it aside after `max_attempts`. With `pace`, large uploads go in the bulk lane (bulk_pace)."""

    db: Database
    clock: Clock
    vault: Vault
    limits: FileLimits
    max_attempts: int = handlers.MAX_ATTEMPTS
    max_in_progress: int = 4
    poll_s: float = 0.5
    pace: BulkPace | None = None
    # A slot for each of an upload's batches written at once (commit_order), so one upload alone keeps both busy.
    turns: FairTurns = field(default_factory=lambda: FairTurns(slots=IN_FLIGHT))
    _running: dict[uuid.UUID, _InProgress] = field(default_factory=dict)
    _resting: dict[uuid.UUID, tuple[float, float]] = field(default_factory=dict)  # until (monotonic), last rest

    async def run(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                self._reap()
                await self._take_waiting()
                stopping = asyncio.ensure_future(stop.wait())
                try:  # the next look comes when one ends, on stop, or after poll_s (a new upload may wait)
                    await asyncio.wait({stopping, *(p.task for p in self._running.values())}, timeout=self.poll_s,
                                       return_when=asyncio.FIRST_COMPLETED)
                finally:
                    stopping.cancel()
        finally:
            for progress in self._running.values():
                progress.task.cancel()
            for progress in self._running.values():
                with contextlib.suppress(BaseException):
                    await progress.task
            self._running.clear()

    def in_progress(self) -> dict[uuid.UUID, str]:
        """The uploads this worker is processing now, with their client company."""
        return {portfolio_id: p.client for portfolio_id, p in self._running.items()}

    async def _take_waiting(self) -> None:
        room = self.max_in_progress - len(self._running)
        if room <= 0:
            return
        async with self.db.transaction() as s:
            candidates = await store.pending_portfolios(s, limit=self.max_in_progress * 4)
        waiting = {portfolio_id for portfolio_id, _ in candidates}
        self._resting = {k: v for k, v in self._resting.items() if k in waiting}  # the rest of ended uploads
        busy = {p.client for p in self._running.values()}
        now = time.monotonic()
        for portfolio_id, client in candidates:
            if room <= 0:
                return
            if portfolio_id in self._running or client in busy or self._resting.get(portfolio_id, (0.0, 0.0))[0] > now:
                continue
            task = asyncio.create_task(handlers.process_portfolio(
                self.db, portfolio_id, clock=self.clock, vault=self.vault, limits=self.limits,
                max_attempts=self.max_attempts, turns=self.turns, pace=self.pace), name=f"upload {portfolio_id}")
            self._running[portfolio_id] = _InProgress(client, task)
            busy.add(client)
            room -= 1

    def _reap(self) -> None:
        for portfolio_id, progress in list(self._running.items()):
            if not progress.task.done():
                continue
            del self._running[portfolio_id]
            error = None if progress.task.cancelled() else progress.task.exception()
            if error is None:
                if progress.task.cancelled() or not progress.task.result():  # held by another worker: ask later
                    self._rest(portfolio_id)
                else:
                    self._resting.pop(portfolio_id, None)
                continue
            # The handler logged the failure and counted the attempt; only the error's type here (its message may
            # quote a cell, and cells hold personal data).
            log.warning("an upload stopped; it is taken again after a rest", extra={"fields": {
                "portfolio": str(portfolio_id), "error": type(error).__name__, "transient": is_transient(error)}})
            self._rest(portfolio_id)

    def _rest(self, portfolio_id: uuid.UUID) -> None:
        last = self._resting.get(portfolio_id, (0.0, 0.25))[1]
        rest = min(last * 2, 5.0)
        self._resting[portfolio_id] = (time.monotonic() + rest, rest)
