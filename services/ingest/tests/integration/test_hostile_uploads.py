"""Hostile portfolio files through the real upload API and a real PostgreSQL: every kind of XLSX bomb and
runaway CSV or JSON line is refused at the door with its code (on the record), or, past the door, ends as a
failed upload with its reason; an upload that keeps failing, or keeps killing its worker, is set aside after
three attempts; and each time the next upload completes. XLSX money cells arrive exact."""

import dataclasses
import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from ingest import handlers, row_checking
from ingest.main import build
from ingest.settings import IngestSettings
from ingest.uploads_runtime import APP_STATE
from recaudo_common import hostile_files as hostile
from recaudo_common.personal_data import Vault
from recaudo_common.runtime import Platform, build_app, make_platform
from recaudo_common.testing import settings_for_test

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 31, 15, 0, tzinfo=dt.UTC)
CO = {"slug": "banco", "name": "Banco", "country": "CO", "currency": "COP", "timezone": "America/Bogota",
      "locale": "es-CO", "default_authorised_channels": ["sms", "email"]}
GOOD = b"Cuenta;Cedula;Nombre;Saldo;Mora\nG-1;1;Ana;1.000;5\nG-2;2;Luis;2.000;40\n"


class Uploads:
    def __init__(self, platform: Platform, http: httpx.AsyncClient, limits: handlers.FileLimits) -> None:
        self.platform, self.http, self.limits = platform, http, limits

    async def send(self, content: bytes, filename: str) -> httpx.Response:
        return await self.http.post("/v1/clients/banco/portfolios", files={"file": (filename, content)})

    async def work(self, **kwargs: Any) -> uuid.UUID | None:
        return await handlers.process_next_portfolio(self.platform.db, clock=lambda: NOW, limits=self.limits,
                                                     vault=Vault.from_settings(self.platform.settings), **kwargs)

    async def record(self, portfolio_id: str) -> dict[str, Any]:
        return dict((await self.http.get(f"/v1/portfolios/{portfolio_id}")).json())

    async def good_upload_completes(self) -> None:
        """The platform took the blow: the next upload is accepted and completes."""
        answer = await self.send(GOOD + f"G-{uuid.uuid4().hex[:8]};3;Eva;3.000;90\n".encode(), "cartera.csv")
        assert answer.status_code == 202, answer.text
        while await self.work():
            pass
        done = await self.record(answer.json()["id"])
        assert (done["status"], done["rows_accepted"]) == ("completed", 3), done


async def uploads_with(database_url: str, limits: handlers.FileLimits) -> AsyncIterator[Uploads]:
    platform = make_platform(settings_for_test(database_url), pool_size=4, clock=lambda: NOW)
    app = build_app(platform, [build(platform, IngestSettings(max_upload_bytes=256 * 1024**2))])
    # The runtime's wiring, with the door checking these limits (a test's own, such as a door that reads nothing).
    setattr(app.state, APP_STATE, dataclasses.replace(getattr(app.state, APP_STATE), file_limits=limits))
    _, key = await platform.keys.create(role="operator", now=NOW)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test", timeout=120,
                                 headers={"Authorization": f"Bearer {key}"}) as http:
        assert (await http.post("/v1/clients", json=CO)).status_code == 201
        yield Uploads(platform, http, limits)
    await platform.db.dispose()


@pytest.fixture
async def uploads(database_url: str) -> AsyncIterator[Uploads]:
    async for made in uploads_with(database_url, handlers.FileLimits()):
        yield made


@pytest.fixture(params=["thread", "own process"])
async def past_the_door(database_url: str, request: pytest.FixtureRequest) -> AsyncIterator[Uploads]:
    """The door reads only what it must (as for a workbook over 16 MiB): the rest is the worker's to find, its rows
    read and checked in a thread or in a process of its own (row_checking), whatever the file's size."""
    own_process_from_bytes = 0 if request.param == "own process" else 2**62
    async for made in uploads_with(database_url, handlers.FileLimits(door_scan_bytes=0,
                                                                     own_process_from_bytes=own_process_from_bytes)):
        yield made


AT_THE_DOOR = [
    ("cartera.xlsx", hostile.xlsx_dimension_bomb("A1:XFD1048576"), "xlsx_sheet_too_large"),
    ("cartera.xlsx", hostile.xlsx_far_cell("XFD1048576"), "too_many_columns"),
    ("cartera.xlsx", hostile.xlsx_far_cell("A1048577"), "xlsx_sheet_too_large"),
    ("cartera.xlsx", hostile.xlsx_declared_strings(4_000_000_000), "xlsx_too_many_strings"),
    ("cartera.xlsx", hostile.xlsx_long_string(100_000, True), "xlsx_string_too_long"),
    ("cartera.xlsx", hostile.xlsx_nested(100_000, "sheet"), "xlsx_too_deep"),
    ("cartera.xlsx", hostile.xlsx_many_sheets(300, True), "xlsx_too_many_sheets"),
    ("cartera.xlsx", hostile.xlsx_entities("sheet", "laughs"), "xlsx_dtd_refused"),
    ("cartera.xlsx", hostile.xlsx_entities("strings", "external"), "xlsx_dtd_refused"),
    ("cartera.xlsx", hostile.xlsx_lying_sizes(), "xlsx_too_large"),
    ("cartera.xlsx", hostile.xlsx_padded(64), "xlsx_too_large"),
    ("cartera.csv", hostile.csv_long_line(20), "line_too_long"),
    ("cartera.csv", hostile.csv_long_field(8), "line_too_long"),
    ("cartera.csv", hostile.csv_unclosed_quote(4), "line_too_long"),
    ("cartera.csv", hostile.csv_many_fields(5000), "too_many_columns"),
    ("cartera.jsonl", hostile.jsonl_long_line(8), "line_too_long"),
]


async def test_every_bomb_is_refused_at_the_door_on_the_record_and_the_next_upload_completes(
        uploads: Uploads) -> None:
    for filename, content, code in AT_THE_DOOR:
        answer = await uploads.send(content, filename)
        assert (answer.status_code, answer.json().get("code")) == (422, code), (code, answer.text[:300])
        assert answer.json()["detail"]
        record = await uploads.record(answer.json()["instance"].rsplit("/", 1)[1])
        assert (record["status"], record["error_code"]) == ("failed", code)
    assert await uploads.work() is None  # nothing of them was queued
    await uploads.good_upload_completes()


PAST_THE_DOOR = [
    ("cartera.xlsx", hostile.xlsx_far_cell("XFD1048576"), "too_many_columns"),
    ("cartera.xlsx", hostile.xlsx_long_string(100_000, False), "xlsx_string_too_long"),
    ("cartera.xlsx", hostile.xlsx_nested(100_000, "sheet"), "xlsx_too_deep"),
    ("cartera.csv", hostile.csv_long_line(20), "line_too_long"),
    ("cartera.csv", hostile.csv_unclosed_quote(4), "line_too_long"),
]


async def test_bombs_that_pass_the_door_end_failed_with_their_reason_and_the_worker_goes_on(
        past_the_door: Uploads) -> None:
    queued: list[tuple[str, str]] = []
    for filename, content, code in PAST_THE_DOOR:
        answer = await past_the_door.send(content, filename)
        assert answer.status_code == 202, (code, answer.text[:300])
        queued.append((answer.json()["id"], code))
    far_row = await past_the_door.send(hostile.xlsx_far_cell("A1048576"), "cartera.xlsx")  # one cell, far down
    while await past_the_door.work():
        pass
    for portfolio_id, code in queued:
        record = await past_the_door.record(portfolio_id)
        assert (record["status"], record["error_code"]) == ("failed", code), record
        assert record["error_detail"]["detail"]
    # A reader that streams the cells present completes with the rows the file really holds.
    held = await past_the_door.record(far_row.json()["id"])
    assert (held["status"], held["rows_accepted"], held["rows_rejected"]) == ("completed", 1, 1), held
    await past_the_door.good_upload_completes()


async def test_xlsx_money_cells_arrive_exact(uploads: Uploads) -> None:
    answer = await uploads.send(hostile.xlsx_money("1234567.89"), "cartera.xlsx")
    assert answer.status_code == 202, answer.text
    while await uploads.work():
        pass
    assert (await uploads.record(answer.json()["id"]))["rows_accepted"] == 1
    async with uploads.platform.db.transaction() as s:
        envelope = await s.scalar(text("SELECT envelope FROM ingest.outbox WHERE envelope->>'type' = "
                                       "'account.placed' ORDER BY id DESC LIMIT 1"))
    placed = (envelope if isinstance(envelope, dict) else json.loads(envelope))["payload"]
    assert placed["balance"] == "1234567.89" and Decimal(placed["balance"]) == Decimal("1234567.89")
    placement = (await uploads.http.get("/v1/clients/banco/placements/A-1")).json()
    assert Decimal(placement["balance"]) == Decimal("1234567.89")


class WorkerKilled(BaseException):
    """Stands for the worker's process dying mid-upload (out of memory, killed): no except clause runs."""


async def test_a_poisonous_upload_is_set_aside_after_three_attempts_and_the_next_completes(
        uploads: Uploads, monkeypatch: pytest.MonkeyPatch) -> None:
    real_check_row = row_checking.check_row

    def check_row_that_breaks_on(poison: str, error: BaseException) -> Any:
        def check_row(values: Any, *args: Any) -> Any:
            if values["account_ref"] and values["account_ref"][0] == poison:
                raise error
            return real_check_row(values, *args)
        return check_row

    # A file whose processing raises the same unexpected error every time it is tried.
    failing = await uploads.send(b"Cuenta;Cedula;Nombre;Saldo;Mora\nP-1;1;Ana;1.000;5\nVENENO;2;Eva;2.000;5\n",
                                 "cartera.csv")
    monkeypatch.setattr(row_checking, "check_row", check_row_that_breaks_on("VENENO", ZeroDivisionError("x")))
    for _ in range(2):
        with pytest.raises(ZeroDivisionError):
            await uploads.work()
        assert (await uploads.record(failing.json()["id"]))["status"] == "processing"  # tried again next time
    assert await uploads.work() == uuid.UUID(failing.json()["id"])  # the third failure sets it aside
    record = await uploads.record(failing.json()["id"])
    assert (record["status"], record["error_code"]) == ("failed", "processing_failed")
    assert (record["error_detail"]["attempts"], record["error_detail"]["error"]) == (3, "ZeroDivisionError")
    await uploads.good_upload_completes()

    # A file that kills its worker each time: the count of starts lives in its row and survives the restarts.
    killing = await uploads.send(b"Cuenta;Cedula;Nombre;Saldo;Mora\nK-1;1;Ana;1.000;5\nMORTAL;2;Eva;2.000;5\n",
                                 "cartera.csv")
    monkeypatch.setattr(row_checking, "check_row", check_row_that_breaks_on("MORTAL", WorkerKilled()))
    for _ in range(3):
        with pytest.raises(WorkerKilled):
            await uploads.work()
    assert await uploads.work() == uuid.UUID(killing.json()["id"])  # the fourth start does not read it again
    record = await uploads.record(killing.json()["id"])
    assert (record["status"], record["error_code"], record["error_detail"]["error"]) == \
        ("failed", "processing_failed", None)
    assert "out of memory" in record["error_detail"]["detail"]
    monkeypatch.setattr(row_checking, "check_row", real_check_row)
    await uploads.good_upload_completes()


async def test_an_upload_that_makes_progress_between_failures_is_not_set_aside(
        uploads: Uploads, monkeypatch: pytest.MonkeyPatch) -> None:
    """The count is of starts without progress: a long upload interrupted three times, each time further on,
    (a deploy, a node drained) still completes."""
    monkeypatch.setattr(handlers, "BATCH", 2)
    lines = ["Cuenta;Cedula;Nombre;Saldo;Mora"] + [f"L-{i};{i};Ana;1.000;5" for i in range(1, 11)]
    answer = await uploads.send("\n".join(lines).encode(), "cartera.csv")
    real_commit = handlers._commit_batch
    calls = 0

    async def killed_at_its_second_batch(*args: Any, **kwargs: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:  # the batch written beside it (commit_order) dies with it, as in a killed process
            raise WorkerKilled()
        await real_commit(*args, **kwargs)

    monkeypatch.setattr(handlers, "_commit_batch", killed_at_its_second_batch)
    for _ in range(4):
        calls = 0  # each start gets one batch further than the last
        with pytest.raises(WorkerKilled):
            await uploads.work()
    assert await uploads.work() == uuid.UUID(answer.json()["id"])
    done = await uploads.record(answer.json()["id"])
    assert (done["status"], done["rows_accepted"]) == ("completed", 10), done
