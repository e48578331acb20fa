"""The raw cells of rejected rows and warnings, and the stored file of an upload never processed, are personal data
kept for RECAUDO_INGEST_REJECTED_ROWS_RETENTION_DAYS only: then retention blanks (deletes) them, in passes,
idempotently, while what became of each row stays (real HTTP API, real PostgreSQL)."""

import datetime as dt
import importlib.util
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from ingest import handlers
from ingest.main import build
from ingest.privacy.handlers import expire_raw_cells
from ingest.settings import IngestSettings
from recaudo_common.personal_data import Vault
from recaudo_common.runtime import Platform, build_app, make_platform
from recaudo_common.testing import settings_for_test
from recaudo_common.testing_clock import HandClock

pytestmark = pytest.mark.integration
START = dt.datetime(2026, 3, 31, 15, 0, tzinfo=dt.UTC)
CO = {"slug": "banco", "name": "Banco", "country": "CO", "currency": "COP", "timezone": "America/Bogota",
      "locale": "es-CO", "default_authorised_channels": ["sms", "email"]}
RETENTION = dt.timedelta(days=IngestSettings().rejected_rows_retention_days)
MIGRATION_0021 = Path(__file__).parents[2] / "migrations" / "versions" / "0021_issue_messages_quote_no_cell.py"


class Ingest:
    def __init__(self, platform: Platform, http: httpx.AsyncClient, clock: HandClock[dt.datetime]) -> None:
        self.platform, self.http, self.clock = platform, http, clock
        self.vault = Vault.from_settings(platform.settings)

    async def send(self, rows: list[str]) -> str:
        content = "\n".join(["Cuenta;Cedula;Nombre;Saldo;Mora;Celular", *rows]).encode()
        answer = await self.http.post("/v1/clients/banco/portfolios", files={"file": ("c.csv", content)})
        assert answer.status_code == 202, answer.text
        return str(answer.json()["id"])

    async def upload(self, rows: list[str]) -> str:
        portfolio_id = await self.send(rows)
        while await handlers.process_next_portfolio(self.platform.db, clock=self.clock, vault=self.vault):
            pass
        return portfolio_id

    async def rejections(self, portfolio_id: str) -> list[dict[str, Any]]:
        return list((await self.http.get(f"/v1/portfolios/{portfolio_id}/rejections")).json()["items"])

    async def retention_at(self, when: dt.datetime, rows_per_pass: int = 10_000) -> int:
        """Retention's periodic job at `when`, run until it has nothing left; how many passes it made."""
        self.clock.now = when
        passes = 0
        while await expire_raw_cells(self.platform.db, clock=self.clock, retention=RETENTION,
                                     rows_per_pass=rows_per_pass):
            passes += 1
        return passes


@pytest.fixture
async def ingest(database_url: str) -> AsyncIterator[Ingest]:
    clock = HandClock(START)
    platform = make_platform(settings_for_test(database_url), pool_size=4, clock=clock)
    app = build_app(platform, [build(platform, IngestSettings(max_upload_bytes=2_000_000))])
    _, key = await platform.keys.create(role="operator", now=START)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test",
                                 headers={"Authorization": f"Bearer {key}"}) as http:
        assert (await http.post("/v1/clients", json=CO)).status_code == 201
        yield Ingest(platform, http, clock)
    await platform.db.dispose()


REJECTED = [f"R-{n};{n};Ana Pérez;cero;5;300 123 45{n:02}" for n in range(5)]


async def test_raw_cells_are_blanked_once_their_retention_ends(ingest: Ingest) -> None:
    assert RETENTION == dt.timedelta(days=90)  # the documented default
    old = await ingest.upload(["A-1;1;Ana;1.000;5;", *REJECTED])
    ingest.clock.now = START + dt.timedelta(days=30)
    recent = await ingest.upload(["B-1;2;Eva;1.000;5;", "B-2;;Eva;1.000;5;"])
    assert await ingest.retention_at(START + RETENTION - dt.timedelta(minutes=1)) == 0  # not yet
    assert all(r["raw"] and r["raw_erased"] is None for r in await ingest.rejections(old))

    assert await ingest.retention_at(START + RETENTION + dt.timedelta(minutes=1), rows_per_pass=2) == 3
    rows = await ingest.rejections(old)
    assert [(r["row"], r["code"], r["raw"], r["raw_erased"]) for r in rows] == [
        (n, "invalid_balance", {}, "retention") for n in range(3, 8)]  # what became of each row stays
    exported = (await ingest.http.get(f"/v1/portfolios/{old}/rejections?format=csv")).text
    assert "Ana Pérez" not in exported and "invalid_balance" in exported
    assert [r["raw"]["Nombre"] for r in await ingest.rejections(recent)] == ["Eva"]  # its own retention runs on
    async with ingest.platform.db.transaction() as s:
        dump = " ".join(str(r) for r in (await s.execute(text("SELECT raw FROM ingest.row_issues"))).scalars())
    assert "Pérez" not in dump and "300 123 45" not in dump

    assert await ingest.retention_at(START + RETENTION + dt.timedelta(days=1)) == 0  # done: nothing again
    assert await ingest.retention_at(START + dt.timedelta(days=30) + RETENTION + dt.timedelta(minutes=1)) == 1
    assert (await ingest.rejections(recent))[0]["raw_erased"] == "retention"


async def test_the_file_of_an_upload_never_processed_is_deleted_when_its_retention_ends(ingest: Ingest) -> None:
    waiting = await ingest.send(REJECTED)  # no worker ever runs it
    assert await ingest.retention_at(START + RETENTION - dt.timedelta(minutes=1)) == 0
    async with ingest.platform.db.transaction() as s:
        assert await s.scalar(text("SELECT count(*) FROM ingest.portfolio_chunks")) == 1
    assert await ingest.retention_at(START + RETENTION + dt.timedelta(minutes=1)) == 1
    record = (await ingest.http.get(f"/v1/portfolios/{waiting}")).json()
    assert (record["status"], record["error_code"]) == ("failed", "upload_expired")
    assert "retention" in record["error_detail"]["detail"]
    async with ingest.platform.db.transaction() as s:
        assert await s.scalar(text("SELECT count(*) FROM ingest.portfolio_chunks")) == 0


async def test_a_rejections_message_quotes_no_cell_that_retention_or_erasure_would_leave(ingest: Ingest) -> None:
    """A row whose name was split into two cells (a separator inside it) puts the surname where the balance
    goes: its rejection says the balance is not a number without quoting the cell, which stays in the raw
    cells only, and goes with them."""
    shifted = await ingest.upload(["A-1;1;Ana;1.000;5;", "S-1;3;Ana;Pérez Gómez;5;300 123 4567",
                                   "S-2;4;Ana;1.000;ana.perez@correo.co;300 123 4567"])
    rows = await ingest.rejections(shifted)
    assert [(r["code"], r["raw"]["Saldo"] if r["code"] == "invalid_balance" else r["raw"]["Mora"])
            for r in rows] == [("invalid_balance", "Pérez Gómez"), ("invalid_days_past_due", "ana.perez@correo.co")]
    assert all(r["message"] for r in rows)
    await ingest.retention_at(START + RETENTION + dt.timedelta(minutes=1))
    async with ingest.platform.db.transaction() as s:
        kept = " ".join((await s.execute(text("SELECT raw::text || ' ' || message FROM ingest.row_issues"))).scalars())
    assert "Pérez" not in kept and "ana.perez" not in kept


async def test_migration_0021_takes_the_quoted_cell_out_of_earlier_messages(ingest: Ingest) -> None:
    portfolio_id = await ingest.upload(["A-1;1;Ana;1.000;5;"])
    said = {"'Pérez Gómez' is not a number in es-CO": "the balance is not a number in es-CO",
            "\"O'Neil\" is not a valid date": "the due date is not a valid date",
            "'ana@correo.co' is not an integer in -365..36500": "days past due is not an integer in -365..36500",
            "'2001-01-01' gives 9221 days past due, not in -365..36500":
                "the due date gives 9221 days past due, not in -365..36500",
            "'PESOS' is not the client company's currency, the ISO 4217 code COP":
                "the currency is not the client company's currency, the ISO 4217 code COP",
            "the balance is blank": "the balance is blank"}
    codes = ["invalid_balance", "invalid_due_date", "invalid_days_past_due", "invalid_due_date", "invalid_currency",
             "invalid_balance"]
    async with ingest.platform.db.transaction() as s:
        for n, (message, code) in enumerate(zip(said, codes, strict=True)):
            await s.execute(text("INSERT INTO ingest.row_issues (portfolio_id, kind, row_number, field, code, message, "
                                 "raw) VALUES (:p, 'rejection', :n, 'x', :c, :m, '{}')"),
                            {"p": portfolio_id, "n": 100 + n, "c": code, "m": message})
    spec = importlib.util.spec_from_file_location("migration_0021", MIGRATION_0021)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    async with ingest.platform.db.transaction() as s:
        await s.execute(text(migration.statement()))
        kept = (await s.execute(text("SELECT message FROM ingest.row_issues WHERE row_number >= 100 "
                                     "ORDER BY row_number"))).scalars().all()
    assert kept == list(said.values())


async def test_a_file_without_its_header_row_keeps_its_first_row_only_as_long_as_raw_cells(ingest: Ingest) -> None:
    """A file sent without its header row is refused for its columns, and the record shows the headers it found
    so the client company can fix it: there, its first row, a person's data. They go when raw cells go."""
    content = "A-1;1020304050;Ana Pérez;1.000;5;300 123 4567\nA-2;79888777;Luis Gómez;2.000;5;\n".encode()
    answer = await ingest.http.post("/v1/clients/banco/portfolios", files={"file": ("c.csv", content)})
    assert (answer.status_code, answer.json()["code"]) == (422, "missing_required_columns")
    shown = (await ingest.http.get(answer.json()["instance"])).json()
    assert "Ana Pérez" in shown["error_detail"]["headers"]  # what the client company needs to fix the file
    await ingest.retention_at(START + RETENTION + dt.timedelta(minutes=1))
    shown = (await ingest.http.get(answer.json()["instance"])).json()
    assert (shown["error_code"], shown["error_detail"]["missing"][0]) == ("missing_required_columns", "account_ref")
    async with ingest.platform.db.transaction() as s:
        kept = " ".join((await s.execute(text("SELECT error_detail::text FROM ingest.portfolios"))).scalars())
    assert "Pérez" not in kept and "1020304050" not in kept and "300 123 4567" not in kept
