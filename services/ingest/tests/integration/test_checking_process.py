"""A large upload's rows read and checked in a process of its own (row_checking, #24), through the real upload API
and a real PostgreSQL: the same accounts, issues, counts and events as in a thread, for CSV and XLSX; a file error
found there ends the upload failed with its reason; a checking process killed mid-upload fails that try only, and
the upload resumes whole; a worker that stops leaves no checking process behind."""

import asyncio
import contextlib
import datetime as dt
import io
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import xlsxwriter
from sqlalchemy import text

from ingest import handlers, row_checking
from ingest.main import build
from ingest.settings import IngestSettings
from recaudo_common.personal_data import Vault
from recaudo_common.runtime import Platform, build_app, make_platform
from recaudo_common.testing import settings_for_test

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 31, 15, 0, tzinfo=dt.UTC)
IN_A_THREAD = handlers.FileLimits(own_process_from_bytes=2**62)
IN_OWN_PROCESS = handlers.FileLimits(own_process_from_bytes=0)
HEADER = "Obligación;Cédula;Nombre;Saldo;Fecha Vencimiento;Días Mora;Moneda;Celular;Correo"
ROWS = [
    "A-01;101;Ana;1.500.000;;15;;300 123 4567;ana@correo.co",
    ";102;Luis;1.000;;5;;;",                                 # missing_account_ref
    "A-05;105;Eva;1000.50;;5;;;",                            # invalid_balance
    "A-01;101;Ana;2.000;;15;;;",                             # duplicate_account_ref
    "A-13;113;Eva;1.000;01/03/2026;10;COP;123;no-es-correo",  # warnings
    "A-16;116;\"Eva\nMaría\";$ 2.000,50;2026-03-01;;;;",     # a quoted newline
    *(f"B-{i};{200 + i};Ana María;{i}.000;;{i * 7};;310 555 {i:04d};" for i in range(1, 30)),
    "B-3;203;Ana;9.000;;5;;;",                               # a duplicate of an account many batches back
]
CSV = ("\n".join([HEADER, *ROWS]) + "\n").encode("utf-8")
# Long enough that its checking process is still at work half way (it blocks a batch or two ahead of the writer,
# once the pipe is full), and with its duplicate (B-3) far from the account it repeats.
MORE = [f"D-{i};{5000 + i};Ana María;{1 + i % 9}.{i % 1000:03d};;{i % 90};;310 555 {i:04d};" for i in range(3000)]
LARGE_CSV = ("\n".join([HEADER, *ROWS[:-1], *MORE, ROWS[-1]]) + "\n").encode("utf-8")


def client(slug: str) -> dict[str, Any]:
    return {"slug": slug, "name": slug, "country": "CO", "currency": "COP", "timezone": "America/Bogota",
            "locale": "es-CO", "default_authorised_channels": ["sms", "email"]}


class Uploads:
    def __init__(self, platform: Platform, http: httpx.AsyncClient) -> None:
        self.platform, self.http = platform, http
        self.vault = Vault.from_settings(platform.settings)

    async def send(self, slug: str, content: bytes, filename: str = "cartera.csv") -> str:
        answer = await self.http.post(f"/v1/clients/{slug}/portfolios", files={"file": (filename, content)})
        assert answer.status_code == 202, answer.text
        return str(answer.json()["id"])

    async def work(self, limits: handlers.FileLimits) -> None:
        while await handlers.process_next_portfolio(self.platform.db, clock=lambda: NOW, vault=self.vault,
                                                    limits=limits):
            pass

    async def record(self, portfolio_id: str) -> dict[str, Any]:
        return dict((await self.http.get(f"/v1/portfolios/{portfolio_id}")).json())

    async def outcome(self, portfolio_id: str) -> dict[str, Any]:
        """What a user sees of an upload: its counts, its issues, and the accounts its events placed."""
        record = await self.record(portfolio_id)
        issues = {kind: [(i["row"], i["field"], i["code"], i["raw"])
                         for i in (await self.http.get(f"/v1/portfolios/{portfolio_id}/{kind}?limit=1000")
                                   ).json()["items"]]
                  for kind in ("rejections", "warnings")}
        async with self.platform.db.transaction() as s:
            envelopes = (await s.execute(text(
                "SELECT envelope FROM ingest.outbox WHERE envelope->>'type' = 'account.placed' "
                "AND envelope->'payload'->>'portfolio_id' = :p ORDER BY id"), {"p": portfolio_id})).scalars().all()
        placed = []
        for envelope in envelopes:
            payload = dict((envelope if isinstance(envelope, dict) else json.loads(envelope))["payload"])
            for own in ("portfolio_id", "debtor_ref", "personal"):  # this upload's, this client company's
                payload.pop(own)
            placed.append(payload)
        # By account: two batches are written at once, so the outbox's order within the pair is the database's.
        placed.sort(key=lambda payload: str(payload["account_ref"]))
        return {"counts": {k: record[k] for k in ("status", "rows_total", "rows_accepted", "rows_rejected",
                                                  "rows_with_warnings", "progress")},
                "issues": issues, "placed": placed}


@pytest.fixture
async def uploads(database_url: str) -> AsyncIterator[Uploads]:
    platform = make_platform(settings_for_test(database_url), pool_size=4, clock=lambda: NOW)
    app = build_app(platform, [build(platform, IngestSettings())])
    _, key = await platform.keys.create(role="operator", now=NOW)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test", timeout=60,
                                 headers={"Authorization": f"Bearer {key}"}) as http:
        for slug in ("banco", "banco-dos"):
            assert (await http.post("/v1/clients", json=client(slug))).status_code == 201
        yield Uploads(platform, http)
    await platform.db.dispose()


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Which checker each upload's rows went through."""
    kinds: list[str] = []
    for name, kind in (("_in_thread", "thread"), ("_in_own_process", "own process")):
        def counted(job: row_checking.CheckingJob, real: Callable[..., Any] = getattr(row_checking, name),
                    kind: str = kind) -> Any:
            kinds.append(kind)
            return real(job)
        monkeypatch.setattr(row_checking, name, counted)
    return kinds


def before_the_third_batch(monkeypatch: pytest.MonkeyPatch, act: Callable[[], None]) -> Callable[[], None]:
    """Runs `act` as the third batch is about to be written (if it raises, that batch fails); returns what puts the
    writing back as it was."""
    real_commit, commits = handlers._commit_batch, 0

    async def commit(*args: Any, **kwargs: Any) -> None:
        nonlocal commits
        commits += 1
        if commits == 3:
            act()
        await real_commit(*args, **kwargs)

    monkeypatch.setattr(handlers, "_commit_batch", commit)
    return lambda: monkeypatch.setattr(handlers, "_commit_batch", real_commit)


def running(pid: int) -> bool:
    try:
        return bool(Path(f"/proc/{pid}/cmdline").read_bytes())  # a zombie's is empty
    except OSError:
        return False


def workbook(lines: list[str]) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet("Cartera")
    for r, line in enumerate(lines):
        for c, cell in enumerate(line.split(";")):
            sheet.write_string(r, c, cell)
    book.close()
    return out.getvalue()


def checking_processes() -> list[int]:
    """This test process's children running ingest's checking process."""
    return children_checking(os.getpid())


def children_checking(parent_pid: int) -> list[int]:
    """The children of `parent_pid` running ingest's checking process (a zombie has no command line)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == parent_pid and b"ingest.checking_process" in cmdline:
            found.append(int(entry.name))
    return found


@pytest.mark.parametrize("filename", ["cartera.csv", "cartera.xlsx"])
async def test_rows_checked_in_their_own_process_land_as_they_do_checked_in_a_thread(
        uploads: Uploads, started: list[str], monkeypatch: pytest.MonkeyPatch, filename: str) -> None:
    monkeypatch.setattr(handlers, "BATCH", 4)  # many batches: order, progress and duplicates across them
    content = CSV if filename.endswith(".csv") else workbook([HEADER, *(r.replace("\n", " ") for r in ROWS)])
    in_thread = await uploads.send("banco", content, filename)
    await uploads.work(IN_A_THREAD)
    in_process = await uploads.send("banco-dos", content, filename)
    await uploads.work(IN_OWN_PROCESS)
    assert started == ["thread", "own process"]
    thread_outcome, process_outcome = await uploads.outcome(in_thread), await uploads.outcome(in_process)
    assert process_outcome == thread_outcome
    assert process_outcome["counts"] == {"status": "completed", "rows_total": 36, "rows_accepted": 32,
                                         "rows_rejected": 4, "rows_with_warnings": 1, "progress": 1.0}
    assert [code for *_, code, _ in process_outcome["issues"]["rejections"]] == [
        "missing_account_ref", "invalid_balance", "duplicate_account_ref", "duplicate_account_ref"]
    assert len(process_outcome["placed"]) == 32
    assert checking_processes() == []


async def test_a_file_error_found_in_the_checking_process_fails_the_upload_with_its_reason(
        uploads: Uploads, started: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(handlers, "BATCH", 2)
    lines = [HEADER, *(f"C-{i};{i};Ana;1.000;;5;;;" for i in range(1, 7)), "C-7;7;" + "x" * 5000 + ";1.000;;5;;;",
             "C-8;8;Ana;1.000;;5;;;"]
    portfolio_id = await uploads.send("banco", ("\n".join(lines) + "\n").encode())
    # The door read it under the platform's limits; the worker's are tighter, so only the worker finds the line.
    await uploads.work(handlers.FileLimits(max_line_chars=1000, own_process_from_bytes=0))
    record = await uploads.record(portfolio_id)
    assert started == ["own process"]
    assert (record["status"], record["error_code"]) == ("failed", "line_too_long"), record
    assert "longer than 1000 characters" in record["error_detail"]["detail"]
    assert record["rows_accepted"] == 6  # the batches before the line committed
    assert checking_processes() == []


async def test_a_checking_process_killed_mid_upload_fails_that_try_and_the_upload_resumes_whole(
        uploads: Uploads, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(handlers, "BATCH", 50)
    portfolio_id = await uploads.send("banco", LARGE_CSV)

    def kill_the_checker() -> None:
        killed = checking_processes()
        assert len(killed) == 1
        os.kill(killed[0], signal.SIGKILL)

    undo = before_the_third_batch(monkeypatch, kill_the_checker)
    with pytest.raises(row_checking.CheckingFailed, match="killed, or out of memory"):
        await handlers.process_next_portfolio(uploads.platform.db, clock=lambda: NOW, vault=uploads.vault,
                                              limits=IN_OWN_PROCESS)
    halfway = await uploads.record(portfolio_id)
    assert halfway["status"] == "processing" and 0 < halfway["rows_total"] < 3036, halfway
    undo()
    await uploads.work(IN_OWN_PROCESS)
    done = await uploads.outcome(portfolio_id)
    assert done["counts"] == {"status": "completed", "rows_total": 3036, "rows_accepted": 3032,
                              "rows_rejected": 4, "rows_with_warnings": 1, "progress": 1.0}
    refs = [p["account_ref"] for p in done["placed"]]
    assert len(refs) == len(set(refs)) == 3032  # each account exactly once
    # The duplicate of B-3 was found by the process that resumed, which never read B-3 itself.
    assert done["issues"]["rejections"][-1][:3] == (3037, "account_ref", "duplicate_account_ref")
    assert checking_processes() == []


async def test_a_stopping_worker_leaves_no_checking_process_behind(uploads: Uploads,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(handlers, "BATCH", 50)
    portfolio_id = await uploads.send("banco", LARGE_CSV)
    writing = asyncio.Event()
    real_commit = handlers._commit_batch

    async def slow_commit(*args: Any, **kwargs: Any) -> None:
        writing.set()
        await asyncio.sleep(3600)
        await real_commit(*args, **kwargs)

    monkeypatch.setattr(handlers, "_commit_batch", slow_commit)
    worker = asyncio.create_task(handlers.process_next_portfolio(
        uploads.platform.db, clock=lambda: NOW, vault=uploads.vault, limits=IN_OWN_PROCESS))
    await asyncio.wait_for(writing.wait(), 30)
    assert len(checking_processes()) == 1  # blocked a batch ahead: the file is far from read
    worker.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(worker, 30)  # not left waiting for a process blocked on its pipe
    assert checking_processes() == []
    assert (await uploads.record(portfolio_id))["rows_total"] == 0  # nothing committed, resumable
    monkeypatch.setattr(handlers, "_commit_batch", real_commit)
    await uploads.work(IN_OWN_PROCESS)
    assert (await uploads.record(portfolio_id))["status"] == "completed"


async def test_a_batch_that_fails_to_write_ends_the_try_at_once_beside_a_busy_checking_process(
        uploads: Uploads, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(handlers, "BATCH", 50)
    portfolio_id = await uploads.send("banco", LARGE_CSV)

    def fail() -> None:
        raise ConnectionError("the database went away")

    before_the_third_batch(monkeypatch, fail)
    with pytest.raises(ConnectionError):
        # The process is blocked writing a batch nobody will read: ending it must not wait for that.
        await asyncio.wait_for(handlers.process_next_portfolio(
            uploads.platform.db, clock=lambda: NOW, vault=uploads.vault, limits=IN_OWN_PROCESS), 30)
    assert checking_processes() == []
    assert (await uploads.record(portfolio_id))["rows_total"] == 100  # the two batches before it committed


WORKER_THAT_DIES = """
import asyncio, datetime as dt, os, sys
from pathlib import Path
from ingest.reading import FileLimits
from ingest.records import UploadParams
from ingest.domain.portfolio import RowContext
from ingest.row_checking import CheckingJob, checking

async def main():
    path = Path(sys.argv[1])
    job = CheckingJob(path=path, filename="cartera.csv", params=UploadParams(), size=path.stat().st_size,
                      limits=FileLimits(), ctx=RowContext("es-CO", dt.date(2026, 3, 31), "CO", "COP", ("sms",)),
                      seen=set(), done=0, batch_rows=50, batch_chars=2**20)
    async with checking(job, own_process_from_bytes=0) as checker:
        await checker.next()
        print("checking", flush=True)
        await asyncio.sleep(3600)  # never reads on: its checking process blocks, a batch ahead

asyncio.run(main())
"""


async def test_a_checking_process_ends_when_its_worker_is_killed(tmp_path: Path) -> None:
    portfolio = tmp_path / "cartera.csv"
    portfolio.write_bytes(LARGE_CSV * 4)
    worker = await asyncio.create_subprocess_exec(sys.executable, "-c", WORKER_THAT_DIES, str(portfolio),
                                                  stdout=asyncio.subprocess.PIPE)
    try:
        assert worker.stdout is not None
        assert await asyncio.wait_for(worker.stdout.readline(), 60) == b"checking\n"
        orphaned = children_checking(worker.pid)
        assert len(orphaned) == 1
        worker.kill()  # as the OOM killer would: no finally of the worker's runs
    finally:
        with contextlib.suppress(ProcessLookupError):
            worker.kill()
        await worker.wait()
    deadline = asyncio.get_running_loop().time() + 30
    while running(orphaned[0]):
        assert asyncio.get_running_loop().time() < deadline, "the checking process outlived its worker"
        await asyncio.sleep(0.1)
