"""Ingest's commands: register a client company, accept an upload (streamed), process it into accounts and
events in resumable batches, recall accounts."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import logging
import tempfile
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from ingest import store
from ingest.domain.portfolio import (
    Account,
    Issue,
    MappingError,
    RowContext,
    account_ref_column,
    cell_text,
    check_row,
    map_columns,
)
from ingest.reading import CountingReader, open_rows, preflight
from ingest.reading import FileLimits as FileLimits  # the route and main.py know the limits from here
from ingest.reading import XlsxLimits as XlsxLimits
from recaudo_common.clock import local_today
from recaudo_common.db import Database, is_transient
from recaudo_common.errors import ProblemError, conflict
from recaudo_common.events import AccountPlaced, AccountRecalled, AccountUpdated, ClientRegistered, Envelope
from recaudo_common.files import MAX_COLUMNS, Cell, FileFormatError, Rows, csv_rows, sniff
from recaudo_common.outbox import Cause, Outbox, caused_by
from recaudo_common.telemetry import extract_context, tracer

BATCH = 1000
BATCH_CHARS = 32 * 1024 * 1024  # a batch of long rows is cut short: its cells are held until it commits
MAX_ATTEMPTS = 3
log = logging.getLogger("recaudo.ingest")
outbox = Outbox(store.SCHEMA)
Clock = Callable[[], dt.datetime]


class UploadTooLargeError(Exception):
    """The file passed its cap while it arrived; what was stored of it is gone, its refusal is on the record."""

    portfolio_id: uuid.UUID | None = None


class UploadRefusedError(Exception):
    """The file cannot be a portfolio (its format, encoding, header or mapping): refused at upload, on the record."""

    def __init__(self, portfolio_id: uuid.UUID, code: str, detail: str) -> None:
        super().__init__(detail)
        self.portfolio_id, self.code, self.detail = portfolio_id, code, detail


async def register_client(db: Database, client: dict[str, Any], *, now: dt.datetime) -> dict[str, Any]:
    async with db.transaction() as s:
        if not await store.insert_client(s, client, now):
            raise conflict("client_exists", f"a client company with slug {client['slug']!r} already exists")
        event = ClientRegistered(**{k: v for k, v in client.items() if k != "max_upload_bytes"})
        await outbox.add(s, [event.envelope(client=client["slug"], occurred_at=now)])
        created = await store.get_client(s, client["slug"])
    assert created is not None
    return created


async def submit_portfolio(db: Database, *, client: dict[str, Any], chunks: AsyncIterator[bytes],
                           filename: Callable[[], str | None], read_params: Callable[[], Awaitable[dict[str, Any]]],
                           max_bytes: int, now: dt.datetime, limits: XlsxLimits | None = None,
                           ) -> tuple[uuid.UUID, bool]:
    """`_store_upload`; a file over its cap leaves a failed upload on the record that says so (`instance`)."""
    try:
        return await _store_upload(db, client=client, chunks=chunks, filename=filename, read_params=read_params,
                                   max_bytes=max_bytes, now=now, limits=limits)
    except UploadTooLargeError as exc:
        refused_id = uuid.uuid4()
        async with db.transaction() as s:
            await store.insert_portfolio(
                s, portfolio_id=refused_id, client=client["slug"], filename=filename(), content_sha="refused",
                params={}, params_sha="refused", size_bytes=0, as_of=local_today(client["timezone"], now), now=now)
            await store.finish_portfolio(s, refused_id, status="failed", counts=Tally().as_dict(), now=now,
                                         error_code="file_too_large", error_detail={"detail": str(exc)})
        exc.portfolio_id = refused_id
        raise


async def _store_upload(db: Database, *, client: dict[str, Any], chunks: AsyncIterator[bytes],
                           filename: Callable[[], str | None], read_params: Callable[[], Awaitable[dict[str, Any]]],
                           max_bytes: int, now: dt.datetime, limits: XlsxLimits | None = None,
                           ) -> tuple[uuid.UUID, bool]:
    """Stores the upload in chunks as it arrives (never whole in memory), checks what can be checked before
    its rows (`preflight`) and queues it. The file's name and the upload's parameters are asked for once the
    file has been read (a form may send its fields after the file). The same bytes with the same parameters
    return the existing upload (created=False); a failed upload can be sent again. A file that cannot be a
    portfolio is kept on the record as failed, with its reason, and UploadRefusedError says so."""
    portfolio_id = uuid.uuid4()
    digest = hashlib.sha256()
    size = 0
    async with db.transaction() as s:
        await store.insert_portfolio(
            s, portfolio_id=portfolio_id, client=client["slug"], filename=None, content_sha="pending",
            params={}, params_sha="pending", size_bytes=0, as_of=local_today(client["timezone"], now), now=now)
        seq = 0
        with tempfile.NamedTemporaryFile(prefix="recaudo-upload-") as copy:
            async for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise UploadTooLargeError(f"the limit is {max_bytes} bytes")
                digest.update(chunk)
                copy.write(chunk)
                await store.insert_chunk(s, portfolio_id, seq, chunk)
                seq += 1
            copy.flush()
            if size == 0:
                raise ProblemError(422, "empty_file", "Empty file", "the uploaded file is empty")
            params = await read_params()
            params_sha = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()
            as_of = params.get("as_of") or local_today(client["timezone"], now).isoformat()
            content_sha = digest.hexdigest()
            existing = await store.find_same_upload(s, client["slug"], content_sha, params_sha)
            if existing is not None:
                await s.rollback()  # nothing of this copy is kept
                return existing, False
            name = filename()
            await store.describe_upload(s, portfolio_id, filename=name, content_sha=content_sha,
                                        size_bytes=size, params=params, params_sha=params_sha,
                                        as_of=dt.date.fromisoformat(as_of))
            checked = dict(params)
            if params.get("mapping_profile"):
                profile = await store.get_mapping_profile(s, client["slug"], params["mapping_profile"])
                checked["mapping"] = {**(profile["mapping"] if profile else {}), **params.get("mapping", {})}
            try:
                await asyncio.to_thread(preflight, Path(copy.name), filename=name, params=checked,
                                        limits=limits or XlsxLimits())
                refused = None
            except (MappingError, FileFormatError) as exc:
                refused = exc
                detail: dict[str, Any] = {"detail": exc.detail}
                if isinstance(exc, MappingError):
                    detail.update({"missing": exc.missing, "headers": exc.headers[:MAX_COLUMNS],
                                   "ambiguous": exc.ambiguous})
                await store.finish_portfolio(s, portfolio_id, status="failed", counts=Tally().as_dict(), now=now,
                                             error_code=exc.code, error_detail=detail)
                await store.drop_chunks(s, portfolio_id)
    if refused is not None:
        raise UploadRefusedError(portfolio_id, refused.code, refused.detail)
    return portfolio_id, True


@dataclass
class Tally:
    rows_total: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    rows_with_warnings: int = 0
    by_code: Counter[str] = field(default_factory=Counter)

    @classmethod
    def resume(cls, portfolio: dict[str, Any]) -> Tally:
        return cls(portfolio["rows_total"], portfolio["rows_accepted"], portfolio["rows_rejected"],
                   portfolio["rows_with_warnings"], Counter(portfolio["counts_by_code"]))

    def as_dict(self) -> dict[str, Any]:
        return {"rows_total": self.rows_total, "rows_accepted": self.rows_accepted,
                "rows_rejected": self.rows_rejected, "rows_with_warnings": self.rows_with_warnings,
                "by_code": dict(self.by_code)}


async def _spool(db: Database, portfolio_id: uuid.UUID, target: BinaryIO) -> None:
    seq = 0
    while True:
        async with db.transaction() as s:
            chunk = await store.read_chunk(s, portfolio_id, seq)
        if chunk is None:
            return
        target.write(chunk)
        seq += 1


async def process_next_portfolio(db: Database, *, clock: Clock, limits: FileLimits | None = None,
                                 max_attempts: int = MAX_ATTEMPTS) -> uuid.UUID | None:
    """Processes one pending upload that no other worker holds. A session advisory lock is the lease: it
    dies with the worker's connection, so another worker resumes a crashed upload from its last batch. An
    upload started `max_attempts` times without getting further (each raising, or killing its worker) is set
    aside as failed, so no file can crash-loop the worker."""
    async with db.transaction() as s:
        candidates = await store.pending_portfolios(s)
    for portfolio_id in candidates:
        async with db.engine.connect() as connection:
            # Outside any transaction: one left open for the whole upload (minutes, at a million rows) would
            # keep PostgreSQL from vacuuming every table of the database until it ended.
            lease = await connection.execution_options(isolation_level="AUTOCOMMIT")
            key = f"recaudo.portfolio.{portfolio_id}"
            if not await lease.scalar(text("SELECT pg_try_advisory_lock(hashtext(:k))"), {"k": key}):
                continue
            try:
                async with db.transaction() as s:
                    carried = await store.trace_context(s, portfolio_id)
                # The worker continues the upload request's trace and cause: its events carry both to every
                # service (their correlation id is the upload request's X-Request-Id).
                with tracer.start_as_current_span("process portfolio", context=extract_context(carried),
                                                  attributes={"recaudo.portfolio": str(portfolio_id)}), \
                        caused_by(Cause.from_headers(carried)):
                    await _process(db, portfolio_id, clock=clock, limits=limits or FileLimits(),
                                   max_attempts=max_attempts)
            finally:
                await lease.scalar(text("SELECT pg_advisory_unlock(hashtext(:k))"), {"k": key})
            return portfolio_id
    return None


async def _process(db: Database, portfolio_id: uuid.UUID, *, clock: Clock, limits: FileLimits,
                   max_attempts: int) -> None:
    async with db.transaction() as s:
        portfolio = await store.get_portfolio(s, portfolio_id)
        if portfolio is None or portfolio["status"] not in ("queued", "processing"):
            return
        client = await store.get_client(s, portfolio["client_slug"])
        mapping_profile = portfolio["params"].get("mapping_profile")
        profile = await store.get_mapping_profile(s, portfolio["client_slug"], mapping_profile) \
            if mapping_profile else None
        attempt, last_error = await store.mark_processing(s, portfolio_id, clock())
        if attempt > max_attempts:  # the earlier starts all ended without progress, the last ones unheard of
            await _fail(s, portfolio_id, "processing_failed", _set_aside(max_attempts, last_error), now=clock())
            return
        seen = await store.accepted_refs(s, portfolio["client_slug"], portfolio_id) if portfolio["rows_done"] else set()
    assert client is not None
    params = dict(portfolio["params"])
    if profile is not None:
        params["mapping"] = {**profile["mapping"], **params.get("mapping", {})}
    with tempfile.TemporaryDirectory(prefix="recaudo-upload-") as tmp:
        spooled = Path(tmp) / "upload"
        with spooled.open("wb") as target:
            await _spool(db, portfolio_id, target)
        try:
            await _process_file(db, portfolio, client, params, spooled, seen, clock=clock, limits=limits)
        except (MappingError, FileFormatError) as exc:
            detail: dict[str, Any] = {"detail": exc.detail}
            if isinstance(exc, MappingError):
                detail.update({"missing": exc.missing, "headers": exc.headers, "ambiguous": exc.ambiguous})
            async with db.transaction() as s:
                await _fail(s, portfolio_id, exc.code, detail, now=clock())
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
                    await _fail(s, portfolio_id, "processing_failed", _set_aside(max_attempts, error), now=clock())
            if attempt < max_attempts:
                raise


def _set_aside(attempts: int, error: str | None) -> dict[str, Any]:
    how = f"failing with {error}" if error else "stopping its worker (killed, or out of memory)"
    return {"detail": f"processing this upload ended {attempts} times in a row without getting further, the last "
                      f"one {how}; it was set aside so the uploads after it go on. Send it again once it is fixed, "
                      "or ask an operator.", "attempts": attempts, "error": error}


async def _fail(s: AsyncSession, portfolio_id: uuid.UUID, code: str, detail: dict[str, Any], *,
                now: dt.datetime) -> None:
    current = await store.get_portfolio(s, portfolio_id)
    assert current is not None
    await store.finish_portfolio(s, portfolio_id, status="failed", counts=Tally.resume(current).as_dict(), now=now,
                                 error_code=code, error_detail=detail)
    await store.drop_chunks(s, portfolio_id)


def _take(rows: Rows) -> list[tuple[int, list[Cell]]]:
    """The next batch: BATCH rows, or fewer if they hold more than BATCH_CHARS characters."""
    batch: list[tuple[int, list[Cell]]] = []
    chars = 0
    for number, cells in rows:
        batch.append((number, cells))
        chars += sum(len(c) for c in cells if isinstance(c, str))
        if len(batch) >= BATCH or chars >= BATCH_CHARS:
            break
    return batch


async def _process_file(db: Database, portfolio: dict[str, Any], client: dict[str, Any], params: dict[str, Any],
                        path: Path, seen: set[str], *, clock: Clock, limits: FileLimits) -> None:
    portfolio_id = portfolio["id"]
    with path.open("rb") as handle:
        reader = CountingReader(handle)
        # Parsing runs in a thread, a batch at a time: a sheet of a million empty cells between two rows must not
        # hold the event loop (and with it the API and the readiness probe) while it is read.
        header, rows, position = await asyncio.to_thread(open_rows, path, portfolio["filename"], params, reader,
                                                         max(1, portfolio["size_bytes"]), limits)
        columns = map_columns(header, params.get("mapping"))
        ctx = RowContext(locale=params.get("locale") or client["locale"], as_of=portfolio["as_of"],
                         country=client["country"], currency=client["currency"],
                         default_channels=tuple(client["default_authorised_channels"]))
        tally = Tally.resume(portfolio)
        done = portfolio["rows_done"]
        records = 0
        while taken := await asyncio.to_thread(_take, rows):
            fresh = taken[max(0, done - records):]  # rows committed before a crash are skipped
            records += len(taken)
            if fresh:
                await _commit_batch(db, portfolio, client, header, columns, ctx, fresh, seen, tally,
                                    rows_done=records, progress=position(), now=clock())
    async with db.transaction() as s:
        await store.finish_portfolio(s, portfolio_id, status="completed", counts=tally.as_dict(), now=clock())
        await store.drop_chunks(s, portfolio_id)


async def _commit_batch(db: Database, portfolio: dict[str, Any], client: dict[str, Any], header: list[str],
                        columns: Any, ctx: RowContext, batch: list[tuple[int, list[Cell]]], seen: set[str],
                        tally: Tally, *, rows_done: int, progress: float, now: dt.datetime) -> None:
    """Accounts, rejections, warnings, events and the progress of one batch commit together."""
    accepted: list[Account] = []
    rejected: list[tuple[Issue, dict[str, str]]] = []
    warned: list[tuple[Issue, dict[str, str]]] = []
    batch_tally = Tally()
    for number, cells in batch:
        batch_tally.rows_total += 1
        raw = {(header[i] if i < len(header) and header[i] else f"column_{i + 1}"): _kept(cell_text(v))
               for i, v in enumerate(cells)}
        values = {f: [cells[i] if i < len(cells) else "" for i in idx] for f, idx in columns.fields.items()}
        extras = {h: cell_text(cells[i]) for h, i in columns.extras.items() if i < len(cells) and cell_text(cells[i])}
        account, rejections, warnings = check_row(values, extras, number, ctx)
        if account is not None and account.account_ref in seen:
            account, rejections = None, [Issue(number, "account_ref", "duplicate_account_ref",
                                               "this account_ref already appeared in an earlier record of the file; "
                                               "the first one was kept")]
        if account is None:
            batch_tally.rows_rejected += 1
            batch_tally.by_code[rejections[0].code] += 1
            rejected.append((rejections[0], raw))
            continue
        seen.add(account.account_ref)
        batch_tally.rows_accepted += 1
        accepted.append(account)
        if warnings:
            batch_tally.rows_with_warnings += 1
            for w in warnings:
                batch_tally.by_code[w.code] += 1
                warned.append((w, raw))
    async with db.transaction() as s:
        await _write_accounts(s, portfolio, client, accepted, now)
        await store.insert_issues(s, portfolio["id"], "rejection", rejected)
        await store.insert_issues(s, portfolio["id"], "warning", warned)
        merged = Tally(tally.rows_total + batch_tally.rows_total, tally.rows_accepted + batch_tally.rows_accepted,
                       tally.rows_rejected + batch_tally.rows_rejected,
                       tally.rows_with_warnings + batch_tally.rows_with_warnings, tally.by_code + batch_tally.by_code)
        await store.save_progress(s, portfolio["id"], counts=merged.as_dict(), rows_done=rows_done,
                                  progress=progress)
    tally.rows_total, tally.rows_accepted = merged.rows_total, merged.rows_accepted
    tally.rows_rejected, tally.rows_with_warnings, tally.by_code = (merged.rows_rejected, merged.rows_with_warnings,
                                                                    merged.by_code)


def _kept(text: str, limit: int = 2000) -> str:
    """A raw cell as the rejection record keeps it: whole, unless absurdly long (then its start and its length)."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


def _json(value: Any) -> Any:
    if isinstance(value, Decimal | dt.date | uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json(v) for v in value]
    return value


async def _write_accounts(s: AsyncSession, portfolio: dict[str, Any], client: dict[str, Any],
                          accounts: list[Account], now: dt.datetime) -> None:
    if not accounts:
        return
    slug = client["slug"]
    existing = await store.existing_accounts(s, slug, [a.account_ref for a in accounts])
    rows: list[dict[str, Any]] = []
    envelopes: list[Envelope] = []
    for account in accounts:
        stated = {**vars(account), "portfolio_id": portfolio["id"]}  # shallow: asdict's deep copy costs 0.2 ms a row
        rows.append({"account_ref": account.account_ref, "debtor_id": account.debtor_id, "balance": account.balance,
                     "days_past_due": account.days_past_due, "as_of": account.as_of, "stated": _json(stated)})
        before = existing.get(account.account_ref)
        event: AccountPlaced | AccountUpdated = AccountPlaced(**stated) if before is None else \
            AccountUpdated(**stated, previous_balance=before["balance"])
        envelopes.append(event.envelope(client=slug, occurred_at=now))
    await store.upsert_accounts(s, slug, portfolio["id"], rows, now)
    await outbox.add(s, envelopes)


async def recall(db: Database, *, client: str, account_refs: list[str], reason: str | None,
                 now: dt.datetime) -> dict[str, Any]:
    """Withdraws accounts at the client company's request: account.recalled stops all contact downstream."""
    recall_id = uuid.uuid4()
    async with db.transaction() as s:
        fresh, already, unknown = await store.recall_accounts(s, client, account_refs, now)
        await store.insert_recall(s, recall_id=recall_id, client=client, reason=reason, now=now,
                                  recalled=len(fresh), already=len(already), unknown=unknown)
        await outbox.add(s, [AccountRecalled(account_ref=ref, recalled_at=now, reason=reason).envelope(
            client=client, occurred_at=now) for ref in fresh])
    return {"id": str(recall_id), "accounts_recalled": len(fresh), "already_recalled": len(already),
            "unknown_account_refs": unknown, "requested_at": now.isoformat()}


def problem_from_client_errors(errors: list[str]) -> ProblemError:
    return ProblemError(422, "invalid_client", "Invalid client company", "; ".join(errors),
                        errors=[{"msg": e} for e in errors])


def account_refs_from_file(content: bytes) -> list[str]:
    """Account refs from a recall file: the account column of a file with a recognised header, or else the
    first column of every line."""
    sniffed = sniff(content[:65536], filename=None, encoding=None, delimiter=None)
    header, rows = csv_rows(iter([content]), sniffed)
    index = account_ref_column(header)
    refs = [] if index is not None else [header[0].strip()] if header and header[0].strip() else []
    column = index or 0
    refs += [cell_text(cells[column]).strip() for _, cells in rows if column < len(cells)]
    return [r for r in refs if r]
