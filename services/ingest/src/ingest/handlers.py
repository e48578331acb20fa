"""Ingest's worker: processes a queued upload into accounts and events in resumable batches, each batch's accounts,
issues, events and progress committed together; an upload that keeps failing is set aside."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.ext.asyncio import AsyncSession

from ingest import account_events, debtors, store
from ingest.bulk_pace import BulkPace
from ingest.clients import store as clients_store
from ingest.commit_order import BatchOrder, InOrder
from ingest.domain.portfolio import Account, MappingError, RowContext
from ingest.reading import FileLimits as FileLimits  # the tests and main.py know the limits from here
from ingest.records import ClientCompany, Portfolio, Tally, UploadFailure, UploadParams
from ingest.row_checking import CheckedBatch, CheckingJob, checking
from ingest.store import outbox
from ingest.uploads.handlers import refusal
from recaudo_common.db import Database, is_transient, sql
from recaudo_common.events import AccountPlaced, AccountUpdated, family_of_topic
from recaudo_common.fair_turns import FairTurns
from recaudo_common.files import FileFormatError
from recaudo_common.outbox import Cause, Serialised, caused, caused_by, current_cause
from recaudo_common.personal_data import Person, Vault
from recaudo_common.telemetry import PORTFOLIO_ROWS, extract_context, tracer

BATCH = 1000
BATCH_CHARS = 32 * 1024 * 1024  # a batch of long rows is cut short: its cells are held until it commits
MAX_ATTEMPTS = 3
# A batch's statements wait at most this long for a row lock. Another transaction (an operator's rectification)
# can wait on the batch written beside this one while this one waits on it, and that one waits for this one's
# commit in Python: a cycle PostgreSQL cannot see. The batch fails as passing (55P03), the one beside it rolls
# back, and the upload resumes after a rest.
BATCH_LOCK_TIMEOUT_MS = 10_000
log = logging.getLogger("recaudo.ingest")
Clock = Callable[[], dt.datetime]


async def _spool(db: Database, portfolio_id: uuid.UUID, target: BinaryIO) -> None:
    seq = 0
    while True:
        async with db.transaction() as s:
            chunk = await store.read_chunk(s, portfolio_id, seq)
        if chunk is None:
            return
        target.write(chunk)
        seq += 1


async def process_next_portfolio(db: Database, *, clock: Clock, vault: Vault, limits: FileLimits | None = None,
                                 max_attempts: int = MAX_ATTEMPTS) -> uuid.UUID | None:
    """Processes, whole, the first waiting upload that no other worker holds (the upload worker interleaves them
    instead: see upload_worker)."""
    async with db.transaction() as s:
        candidates = await store.pending_portfolios(s)
    for portfolio_id, _ in candidates:
        if await process_portfolio(db, portfolio_id, clock=clock, vault=vault, limits=limits,
                                   max_attempts=max_attempts):
            return portfolio_id
    return None


async def process_portfolio(db: Database, portfolio_id: uuid.UUID, *, clock: Clock, vault: Vault,
                            limits: FileLimits | None = None, max_attempts: int = MAX_ATTEMPTS,
                            turns: FairTurns | None = None, pace: BulkPace | None = None) -> bool:
    """Processes one upload unless another worker holds it (then False). A session advisory lock is the lease: it
    dies with the worker's connection, so another worker resumes a crashed upload from its last batch. An upload
    started `max_attempts` times without getting further (each raising, or killing its worker) is set aside as
    failed, so no file can crash-loop the worker. With `turns`, each batch waits for its client company's turn;
    with `pace`, a large upload's batches also wait for the account topic's readers (bulk_pace)."""
    async with db.engine.connect() as connection:
        # Outside any transaction: one left open for the whole upload (minutes, at a million rows) would keep
        # PostgreSQL from vacuuming every table of the database until it ended.
        lease = await connection.execution_options(isolation_level="AUTOCOMMIT")
        key = f"recaudo.portfolio.{portfolio_id}"
        if not await lease.scalar(sql("SELECT pg_try_advisory_lock(hashtext(:k))"), {"k": key}):
            return False
        try:
            async with db.transaction() as s:
                carried = await store.trace_context(s, portfolio_id)
            # The worker continues the upload request's trace and cause: its events carry both to every service
            # (their correlation id is the upload request's X-Request-Id).
            with tracer.start_as_current_span("process portfolio", context=extract_context(carried),
                                              attributes={"recaudo.portfolio": str(portfolio_id)}), \
                    caused_by(Cause.from_headers(carried)):
                await _process(db, portfolio_id, clock=clock, vault=vault, limits=limits or FileLimits(),
                               max_attempts=max_attempts, turns=turns, pace=pace)
        finally:
            await lease.scalar(sql("SELECT pg_advisory_unlock(hashtext(:k))"), {"k": key})
        return True


async def _process(db: Database, portfolio_id: uuid.UUID, *, clock: Clock, vault: Vault, limits: FileLimits,
                   max_attempts: int, turns: FairTurns | None, pace: BulkPace | None) -> None:
    async with db.transaction() as s:
        portfolio = await store.get_portfolio(s, portfolio_id)
        if portfolio is None or portfolio.status not in ("queued", "processing"):
            return
        client = await clients_store.get_client(s, portfolio.client_slug)
        mapping_profile = portfolio.params.mapping_profile
        profile = await clients_store.get_mapping_profile(s, portfolio.client_slug, mapping_profile) \
            if mapping_profile else None
        attempt, last_error = await store.mark_processing(s, portfolio_id, clock())
        if attempt > max_attempts:  # the earlier starts all ended without progress, the last ones unheard of
            await _fail(s, portfolio_id, _set_aside(max_attempts, last_error), now=clock())
            return
        seen = await store.accepted_refs(s, portfolio.client_slug, portfolio_id) if portfolio.rows_done else set()
    assert client is not None
    params = portfolio.params.with_profile(profile) if profile is not None else portfolio.params
    with tempfile.TemporaryDirectory(prefix="recaudo-upload-") as tmp:
        spooled = Path(tmp) / "upload"
        with spooled.open("wb") as target:
            await _spool(db, portfolio_id, target)
        try:
            await _process_file(db, portfolio, client, params, spooled, seen, clock=clock, vault=vault,
                                limits=limits, turns=turns, pace=pace)
        except (MappingError, FileFormatError) as exc:
            async with db.transaction() as s:
                await _fail(s, portfolio_id, refusal(exc), now=clock())
        except Exception as exc:
            if is_transient(exc):  # the database or the disk, not the file: this start does not count
                try:
                    async with db.transaction() as s:
                        await store.forgive_attempt(s, portfolio_id)
                finally:
                    raise
            # Only the error's type: its message may quote a cell, and cells hold personal data.
            error = type(exc).__name__
            log.warning("an upload failed unexpectedly", extra={"fields": {
                "portfolio": str(portfolio_id), "error": error, "attempt": attempt, "max_attempts": max_attempts}})
            async with db.transaction() as s:
                if attempt < max_attempts:
                    await store.note_failed_attempt(s, portfolio_id, error)
                else:
                    await _fail(s, portfolio_id, _set_aside(max_attempts, error), now=clock())
            if attempt < max_attempts:
                raise


def _set_aside(attempts: int, error: str | None) -> UploadFailure:
    how = f"failing with {error}" if error else "stopping its worker (killed, or out of memory)"
    return UploadFailure("processing_failed", f"processing this upload ended {attempts} times in a row without "
                         f"getting further, the last one {how}; it was set aside so the uploads after it go on. Send "
                         "it again once it is fixed, or ask an operator.", attempts=attempts, error=error)


async def _fail(s: AsyncSession, portfolio_id: uuid.UUID, failure: UploadFailure, *, now: dt.datetime) -> None:
    current = await store.get_portfolio(s, portfolio_id)
    assert current is not None
    await store.finish_portfolio(s, portfolio_id, status="failed", counts=current.tally(), now=now, failure=failure)
    await store.drop_chunks(s, portfolio_id)


async def _process_file(db: Database, portfolio: Portfolio, client: ClientCompany, params: UploadParams,
                        path: Path, seen: set[str], *, clock: Clock, vault: Vault, limits: FileLimits,
                        turns: FairTurns | None, pace: BulkPace | None) -> None:
    portfolio_id = portfolio.id
    ctx = RowContext(locale=params.locale or client.locale, as_of=portfolio.as_of, country=client.country,
                     currency=client.currency, default_channels=tuple(client.default_authorised_channels))
    job = CheckingJob(path=path, filename=portfolio.filename, params=params, size=portfolio.size_bytes,
                      limits=limits, ctx=ctx, seen=seen, done=portfolio.rows_done,
                      batch_rows=pace.batch_rows if pace is not None else BATCH,
                      batch_chars=BATCH_CHARS)
    tally = portfolio.tally()
    # Reading and checking run ahead of the writer (row_checking): a large file's in a process of its own, a
    # small one's in a thread (a sheet of a million empty cells between two rows never holds the event loop).
    shown = functools.partial(show_pause, db, portfolio_id, clock)
    async with checking(job, own_process_from_bytes=limits.own_process_from_bytes) as checker:
        writes = InOrder()
        try:
            while (batch := await checker.next()) is not None:
                # Two batches are written at once, committing in order (#24, commit_order): the worker's Python
                # and PostgreSQL work side by side instead of taking turns.
                if pace is not None:  # outside the turn: other companies' batches go on meanwhile
                    await pace.wait(batch.rows_done, shown=shown)
                await writes.start(functools.partial(_write_in_turn, db, portfolio, client, batch, tally,
                                                     now=clock(), vault=vault, turns=turns))
            await writes.finish()
        except asyncio.CancelledError:
            await writes.abandon()  # a stopping worker: the batches in flight roll back
            raise
        except BaseException as failure:  # the file or the pacing: the batches before it still commit
            await writes.finish_after(failure)
            raise
    async with db.transaction() as s:
        await store.finish_portfolio(s, portfolio_id, status="completed", counts=tally, now=clock())
        await store.drop_chunks(s, portfolio_id)


async def show_pause(db: Database, portfolio_id: uuid.UUID, clock: Clock, topic: str | None, waited_s: float
                     ) -> None:
    """The upload's record says it waits for the readers of `topic` (since `waited_s` ago), or that it does not."""
    async with db.transaction() as s:
        if topic is None:
            await store.set_pause(s, portfolio_id, paused_for=None, since=None)
        else:
            await store.set_pause(s, portfolio_id, paused_for=family_of_topic(topic),
                                  since=clock() - dt.timedelta(seconds=waited_s))


async def _write_in_turn(db: Database, portfolio: Portfolio, client: ClientCompany, batch: CheckedBatch,
                         tally: Tally, before: BatchOrder, this: BatchOrder, *, now: dt.datetime, vault: Vault,
                         turns: FairTurns | None) -> None:
    async with turns.turn(portfolio.client_slug) if turns else contextlib.nullcontext():
        await _commit_batch(db, portfolio, client, batch, tally, now=now, vault=vault, before=before, this=this)


async def _commit_batch(db: Database, portfolio: Portfolio, client: ClientCompany, batch: CheckedBatch,
                        tally: Tally, *, now: dt.datetime, vault: Vault, before: BatchOrder | None = None,
                        this: BatchOrder | None = None) -> None:
    """Accounts, rejections, warnings, events and the progress of one batch commit together, after the batch
    `before` it has committed (commit_order: its vault statements wait for that batch's, its progress for its
    commit)."""
    before = before or BatchOrder.done()
    async with db.transaction() as s:
        await before.wait_claimed()
        await s.execute(sql(f"SET LOCAL lock_timeout = {int(BATCH_LOCK_TIMEOUT_MS)}"))
        people = await debtors.people_of(s, vault, client.slug, batch.accepted, now) if batch.accepted else {}
        if this is not None:
            this.mark_claimed()
        await _write_accounts(s, portfolio, client, batch.accepted, people, now)
        await store.insert_issues(s, portfolio.id, "rejection", batch.rejected)
        await store.insert_issues(s, portfolio.id, "warning", batch.warned)
        await before.wait_committed()  # the counts and rows_done carry on from the batch before's
        merged = tally + batch.tally
        await store.save_progress(s, portfolio.id, counts=merged, rows_done=batch.rows_done,
                                  progress=batch.progress)
    # Counted once the batch is committed: a resumed upload reads again only the batches that were not.
    for outcome, rows in (("accepted", batch.tally.rows_accepted), ("rejected", batch.tally.rows_rejected),
                          ("warning", batch.tally.rows_with_warnings)):
        PORTFOLIO_ROWS.labels(outcome).inc(rows)
    tally.rows_total, tally.rows_accepted = merged.rows_total, merged.rows_accepted
    tally.rows_rejected, tally.rows_with_warnings, tally.by_code = (merged.rows_rejected, merged.rows_with_warnings,
                                                                    merged.by_code)


NOT_IN_EVENTS = frozenset({*debtors.PERSONAL_FIELDS, "extra"})


async def _write_accounts(s: AsyncSession, portfolio: Portfolio, client: ClientCompany, accounts: list[Account],
                          people: dict[str, Person], now: dt.datetime) -> None:
    if not accounts:
        return
    slug = client.slug
    before = await store.balances_before(s, slug, [a.account_ref for a in accounts])
    events: list[Serialised] = []
    occurred_at, cause = account_events.moment(now), current_cause()
    for account in accounts:
        person = people[account.debtor_id]
        # Version 2: the debtor travels only as their pseudonym and their data sealed with their key (#19); the
        # file's other columns (`extra`) stay in ingest: free text that may name or reach anyone.
        personal = debtors.sealed(person, account)
        balance = before.get(account.account_ref)
        try:  # the event's JSON without its models (#24): the same bytes
            events.append(account_events.envelope(
                account, portfolio_id=portfolio.id, debtor_ref=person.debtor_ref, personal=personal,
                previous_balance=balance, client=slug, occurred_at=occurred_at, cause=cause))
        except account_events.NotPlain:  # a value the fast path does not know: the models, as ever
            stated = {**{k: v for k, v in vars(account).items() if k not in NOT_IN_EVENTS},  # shallow: fast
                      "portfolio_id": portfolio.id, "debtor_ref": person.debtor_ref, "personal": personal,
                      "has_phone": bool(account.phones), "has_email": bool(account.email)}
            event: AccountPlaced | AccountUpdated = AccountPlaced(**stated) if balance is None else \
                AccountUpdated(**stated, previous_balance=balance)
            envelope = caused(event.envelope(client=slug, occurred_at=now), cause)
            events.append(Serialised(type=envelope.type, key=envelope.key, event_id=envelope.event_id,
                                     envelope=envelope.model_dump_json()))
    await store.upsert_accounts(s, slug, portfolio.id, accounts, now,
                                debtor_refs={number: p.debtor_ref for number, p in people.items()})
    await outbox.write_serialised(s, events)
