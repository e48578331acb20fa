"""Puts an upload's rows through the rules a batch at a time, one batch ahead of the writer: in a worker thread for a
small file, in a process of its own for a large one, so that the rules' Python runs on the other core beside the
writer's instead of taking turns with it under one interpreter lock (#24)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import pickle
import struct
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol

from ingest.domain.portfolio import (
    Account,
    ColumnMap,
    Issue,
    RowContext,
    cell_text,
    check_row,
    column_names,
    map_columns,
    too_many_fields,
    trailing_empty,
    unreadable_line,
)
from ingest.reading import CountingReader, FileLimits, open_rows
from ingest.records import Tally, UploadParams
from recaudo_common.files import Cell, Rows, UnreadableLine

# The frames the checking process writes on its standard output: a kind, the pickle's length, the pickle. A batch
# holds at most BATCH_CHARS characters of cells (handlers), so a frame longer than this is no frame of ours.
FRAME = struct.Struct("!cQ")
FRAME_READY, FRAME_BATCH, FRAME_END, FRAME_FAILED = b"R", b"B", b"E", b"X"
FRAME_KINDS = frozenset({FRAME_READY, FRAME_BATCH, FRAME_END, FRAME_FAILED})
MAX_FRAME_BYTES = 1024**3


@dataclass(frozen=True)
class CheckingJob:
    """What reading and checking an upload's file needs, whichever side does it (a process receives it pickled):
    the spooled file, how to read it, the row rules' context, the account references accepted before a crash
    (`seen`) and the records already committed (`done`, skipped), and the batches' size."""

    path: Path
    filename: str | None
    params: UploadParams
    size: int
    limits: FileLimits
    ctx: RowContext
    seen: set[str]  # added to as the file is checked: its checker's own (a process has its own copy)
    done: int
    batch_rows: int
    batch_chars: int


@dataclass
class CheckedBatch:
    """A batch of the file's rows through the rules, ready to be written: its accounts, its rows' issues (with
    their raw cells) and their tally, and how far into the file it reaches."""

    rows_done: int  # the file's records read once this batch is committed (an upload resumes after them)
    progress: float
    accepted: list[Account] = field(default_factory=list)
    rejected: list[tuple[Issue, dict[str, str]]] = field(default_factory=list)
    warned: list[tuple[Issue, dict[str, str]]] = field(default_factory=list)
    tally: Tally = field(default_factory=Tally)


class RowChecker:
    """Reads the file's next batch and puts its rows through the rules, in order; the rows committed before a
    crash (`done`) are skipped, and an account_ref seen earlier in the file is a duplicate. One call at a time."""

    def __init__(self, rows: Rows, header: list[str], columns: ColumnMap, job: CheckingJob,
                 position: Callable[[], float], *, delimited: bool = False) -> None:
        self.rows, self.names, self.columns, self.ctx = rows, column_names(header), columns, job.ctx
        self.seen, self.done, self.records, self.position = job.seen, job.done, 0, position
        self.batch_rows, self.batch_chars = job.batch_rows, job.batch_chars
        self.delimited = delimited  # a CSV's: a row with more fields than its header is rejected, not read slid
        # The empty fields past the header that end the file's first record, an exporter's habit on every line
        # (too_many_fields); learnt as the rows are read, so an upload resumed after a crash learns it too.
        self.habit: int | None = None if delimited else 0

    @classmethod
    def open(cls, job: CheckingJob, handle: BinaryIO) -> RowChecker:
        """A checker of the file open in `handle` (blocking: a workbook is inspected). Raises FileFormatError or
        MappingError for a file whose rows cannot be read."""
        reader = CountingReader(handle)
        opened = open_rows(job.path, job.filename, job.params, reader, max(1, job.size), job.limits)
        columns = map_columns(opened.header, job.params.mapping)
        checker = cls(opened.rows, opened.header, columns, job, opened.progress, delimited=opened.delimited)
        # The rules count a date column's serial numbers in the file's date system, which only the file says.
        checker.ctx = dataclasses.replace(job.ctx, date1904=opened.date1904)
        return checker

    def next(self) -> CheckedBatch | None:
        while taken := self._take():
            fresh = taken[max(0, self.done - self.records):]  # rows committed before a crash are skipped
            self.records += len(taken)
            if fresh:
                return self._check(fresh)
        return None

    def _take(self) -> list[tuple[int, list[Cell]]]:
        """The next batch: batch_rows rows, or fewer if they hold more than batch_chars characters (a batch's
        cells are held until it commits)."""
        batch: list[tuple[int, list[Cell]]] = []
        chars = 0
        for number, cells in self.rows:
            if self.habit is None:
                self.habit = trailing_empty(cells, len(self.names))
            batch.append((number, cells))
            chars += sum(len(c) for c in cells if isinstance(c, str))
            if len(batch) >= self.batch_rows or chars >= self.batch_chars:
                break
        return batch

    def _check(self, batch: list[tuple[int, list[Cell]]]) -> CheckedBatch:
        checked = CheckedBatch(rows_done=self.records, progress=self.position())
        names, columns, ctx, tally = self.names, self.columns, self.ctx, checked.tally
        for number, cells in batch:
            tally.rows_total += 1
            values = {f: [cells[i] if i < len(cells) else "" for i in idx] for f, idx in columns.fields.items()}
            extras = {h: cell_text(cells[i]) for h, i in columns.extras.items()
                      if i < len(cells) and cell_text(cells[i])}
            # A sheet's cell right of its header is a column without a name: kept, as its raw cells name it.
            extras |= {f"column_{i + 1}": text for i in range(len(names), len(cells))
                       if (text := cell_text(cells[i]))}
            slid = too_many_fields(number, cells, len(names), self.habit or 0) if self.delimited \
                else unreadable_line(number, cells)
            account, rejections, warnings = (None, [slid], []) if slid else check_row(values, extras, number, ctx)
            if account is not None and account.account_ref in self.seen:
                account, rejections = None, [Issue(number, "account_ref", "duplicate_account_ref",
                                                   "this account_ref already appeared in an earlier record of the "
                                                   "file; the first one was kept")]
            if account is None:
                tally.rows_rejected += 1
                tally.by_code[rejections[0].code] += 1
                checked.rejected.append((rejections[0], _raw(names, cells)))
                continue
            self.seen.add(account.account_ref)
            tally.rows_accepted += 1
            checked.accepted.append(account)
            if warnings:
                tally.rows_with_warnings += 1
                raw = _raw(names, cells)  # only for the rows that have an issue to keep: most have none
                for w in warnings:
                    tally.by_code[w.code] += 1
                    checked.warned.append((w, raw))
        return checked


def _raw(names: list[str], cells: list[Cell]) -> dict[str, str]:
    """A row's cells by column (`names`: column_names of the header), as its issue's record keeps them; a JSON line
    that is no object, as its text."""
    if len(cells) == 1 and type(cells[0]) is UnreadableLine:
        return {"line": _kept(str(cells[0]))}
    return {(names[i] if i < len(names) else f"column_{i + 1}"): _kept(cell_text(v)) for i, v in enumerate(cells)}


def _kept(text: str, limit: int = 2000) -> str:
    """A raw cell as the rejection record keeps it: whole, unless absurdly long (then its start and its length)."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


class Checker(Protocol):
    """The checked batches of one upload's file, in order, each read and checked while the one before is written."""

    async def next(self) -> CheckedBatch | None: ...


class CheckingFailed(RuntimeError):
    """The checking process failed with an error that could not be sent back as it was (only its type is named:
    a message may quote a cell, and cells hold personal data), or ended without a word (killed, out of memory)."""


def sendable(error: Exception) -> Exception:
    """An error of the checking process as the worker will raise it: itself if it survives pickling whole (the
    file's FileFormatError or MappingError, whose code and detail the upload's failure shows), otherwise its type's
    name alone (its message may quote a cell)."""
    try:
        pickle.loads(pickle.dumps(error))  # noqa: S301 - its own bytes, made the line above
    except Exception:  # any error that cannot cross is named by its type
        return CheckingFailed(f"checking the rows failed with {type(error).__name__}")
    return error


def checking(job: CheckingJob, *, own_process_from_bytes: int) -> contextlib.AbstractAsyncContextManager[Checker]:
    """The checker for `job`: a process of its own once the file has `own_process_from_bytes` (0: always), since
    starting one costs about a second of CPU; a worker thread of this process below that."""
    if job.size >= own_process_from_bytes:
        return _in_own_process(job)
    return _in_thread(job)


@contextlib.asynccontextmanager
async def _in_thread(job: CheckingJob) -> AsyncIterator[Checker]:
    with job.path.open("rb") as handle:
        checker = await asyncio.to_thread(RowChecker.open, job, handle)
        ahead = _ThreadAhead(checker)
        try:
            yield ahead
        finally:
            await ahead.settled()  # before the file closes under the thread reading it


class _ThreadAhead:
    def __init__(self, checker: RowChecker) -> None:
        self.checker = checker
        self.upcoming: asyncio.Future[CheckedBatch | None] = asyncio.ensure_future(asyncio.to_thread(checker.next))

    async def next(self) -> CheckedBatch | None:
        # Shielded: a cancelled wait must not mark the batch done while its thread still reads the file.
        batch = await asyncio.shield(self.upcoming)
        if batch is not None:
            self.upcoming = asyncio.ensure_future(asyncio.to_thread(self.checker.next))
        return batch

    async def settled(self) -> None:
        """Waits out a batch being read ahead (a thread cannot be stopped), its outcome no longer wanted."""
        if not self.upcoming.done():
            await asyncio.wait({self.upcoming})
        if not self.upcoming.cancelled():
            self.upcoming.exception()  # retrieved: a failure after the one being handled is not reported twice


@contextlib.asynccontextmanager
async def _in_own_process(job: CheckingJob) -> AsyncIterator[Checker]:
    # Isolated (-I: no PYTHON* variables, no current directory on its path) and with no environment: it needs
    # nothing but the job, and has no use for the worker's database address or keys. A session of its own, so a
    # terminal's Ctrl-C reaches the worker, which ends it, rather than failing the upload's try.
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-I", "-m", "ingest.checking_process", stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, env={}, start_new_session=True)
    try:
        if process.stdin is None or process.stdout is None:
            raise CheckingFailed("the checking process has no pipes")
        process.stdin.write(pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL))
        process.stdin.close()
        job.seen.clear()  # the process has its own copy: a resumed million-row upload's is not held twice
        ahead = _ProcessAhead(process.stdout)
        await ahead.ready()
        yield ahead
    finally:
        # Nothing of it is wanted any more (the file ended, failed, or its worker is stopping): it may be
        # blocked writing a batch ahead, so it is ended, not asked. Its output is read to the end, or the pipe
        # paused with a batch unread would never report closing, and wait() would never return.
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        if process.stdout is not None:
            with contextlib.suppress(Exception):
                await process.stdout.read()
        await process.wait()


class _ProcessAhead:
    """Reads the checking process's frames. It checks one batch ahead by itself: it blocks writing that batch
    into the pipe until the writer reads it, so it holds about one batch besides the one being written."""

    def __init__(self, frames: asyncio.StreamReader) -> None:
        self.frames, self.ended = frames, False

    async def ready(self) -> None:
        kind, _ = await self._frame()
        if kind != FRAME_READY:
            raise CheckingFailed("the checking process did not start as agreed")

    async def next(self) -> CheckedBatch | None:
        if self.ended:
            return None
        kind, batch = await self._frame()
        if kind == FRAME_END:
            self.ended = True
            return None
        if kind != FRAME_BATCH or not isinstance(batch, CheckedBatch):
            raise CheckingFailed("the checking process sent something other than a batch")
        return batch

    async def _frame(self) -> tuple[bytes, object]:
        try:
            kind, length = FRAME.unpack(await self.frames.readexactly(FRAME.size))
            if kind not in FRAME_KINDS or length > MAX_FRAME_BYTES:
                raise CheckingFailed("the checking process's output is garbled")
            # Unpickled safely: the pipe's other end is the process this worker started, running this code.
            body = pickle.loads(await self.frames.readexactly(length)) if length else None  # noqa: S301
        except asyncio.IncompleteReadError:
            raise CheckingFailed("the checking process ended without finishing (killed, or out of memory)") from None
        if kind == FRAME_FAILED:
            if not isinstance(body, BaseException):
                raise CheckingFailed("the checking process failed without saying why")
            raise body
        return kind, body
