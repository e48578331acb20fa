"""Accounts placed before #19, across services: their placements reached outreach, payments and reporting in clear
(version 1 events, no pseudonym), and the vault knew no one, so reporting could not find the person to answer an
access request or to erase them. Ingest's backfill, at its start, gives each account a person and announces it
(account.pseudonymised); then the person is found, their data opened and erased everywhere through reporting's
API, as if they had been placed since (real PostgreSQL, each real bus, the four services' real consumers, relays
and workers)."""

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text

import ingest.main
import outreach.main
import payments.main
import reporting.main
from ingest import handlers as ingest_handlers
from ingest.settings import IngestSettings
from recaudo_common.events import AccountPlacedV1
from recaudo_common.outbox import Outbox
from recaudo_common.personal_data import Vault
from recaudo_common.runtime import Platform, ServiceUnit, background_tasks, build_app, make_platform
from recaudo_common.testing import eventually, relay_all, settings_for_test
from reporting.settings import ReportingSettings

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 31, 15, 0, tzinfo=dt.UTC)
BANCO = "/v1/clients/banco"
CO = {"slug": "banco", "name": "Banco", "country": "CO", "currency": "COP", "timezone": "America/Bogota",
      "locale": "es-CO", "default_authorised_channels": ["sms", "email"]}
FILE = "\n".join([
    "Obligación;Cédula;Nombre;Saldo;Días Mora;Telefono1;Correo",
    "A-1;1020304050;Ana Pérez;1.500.000;15;300 123 4567;ana@correo.co",
    "A-2;1020304050;Ana Pérez;2.000.000;40;;",
    "B-1;79888777;Beto Gómez;900.000;5;310 765 4321;beto@correo.co",
]) + "\n"
ANA = ["Ana Pérez", "1020304050", "3001234567", "ana@correo.co"]
BETO = ["Beto Gómez", "79888777", "3107654321", "beto@correo.co"]
SCHEMAS = ("ingest", "outreach", "payments", "reporting", "vault")


@pytest.fixture(params=["postgres", "kafka"])
async def platform(request: pytest.FixtureRequest, database_url: str) -> AsyncIterator[Platform]:
    transport = request.param
    bootstrap = request.getfixturevalue("kafka_bootstrap") if transport == "kafka" else "unused:1"
    platform = make_platform(settings_for_test(database_url, transport=transport, kafka_bootstrap=bootstrap),
                             pool_size=12, clock=lambda: NOW)
    await platform.transport.start()
    yield platform
    await platform.transport.stop()
    await platform.db.dispose()


async def dump(platform: Platform) -> str:
    """Every row of every table of the services' schemas and the vault, as text."""
    async with platform.db.transaction() as s:
        tables = (await s.execute(text(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema = ANY(:s) "
            "AND table_type = 'BASE TABLE'"), {"s": list(SCHEMAS)})).all()
        rows = [r[0] for schema, table in tables for r in await s.execute(text(
            f'SELECT row_to_json(t)::text FROM "{schema}"."{table}" t'))]
    return "\n".join(rows)


async def placed_before_pseudonyms(platform: Platform, http: httpx.AsyncClient) -> None:
    """The file placed as ingest did before #19: its events version 1, in clear; no account with a pseudonym and
    none announced; no one in the vault."""
    assert (await http.post("/v1/clients", json=CO)).status_code == 201
    answer = await http.post(f"{BANCO}/portfolios", files={"file": ("c.csv", FILE.encode())})
    assert answer.status_code == 202, answer.text
    vault = Vault.from_settings(platform.settings)
    while await ingest_handlers.process_next_portfolio(platform.db, clock=lambda: NOW, vault=vault):
        pass
    async with platform.db.transaction() as s:
        stated = (await s.execute(text("SELECT stated FROM ingest.accounts ORDER BY account_ref"))).scalars().all()
        await s.execute(text("DELETE FROM ingest.outbox WHERE envelope->>'type' = 'account.placed'"))
        await s.execute(text("UPDATE ingest.accounts SET debtor_ref = NULL, pseudonym_announced_at = NULL"))
        await s.execute(text("DELETE FROM vault.lookups"))
        await s.execute(text("DELETE FROM vault.people"))
        await Outbox("ingest").add(s, [AccountPlacedV1.model_validate(
            {k: v for k, v in dict(row).items() if k in AccountPlacedV1.model_fields}
        ).envelope(client="banco", occurred_at=NOW) for row in stated])
    await relay_all(platform, "ingest")


async def run(platform: Platform, units: list[ServiceUnit], stop: asyncio.Event) -> list[asyncio.Future[None]]:
    """The units' consumers, relays and workers, as `recaudo serve` runs them."""
    return [asyncio.ensure_future(task(stop)) for task in background_tasks(platform, units, stop)]


async def count(platform: Platform, query: str) -> int:
    async with platform.db.transaction() as s:
        return int(await s.scalar(text(query)) or 0)


async def test_a_person_placed_before_pseudonyms_is_accessed_and_erased_through_reporting_after_the_backfill(
        platform: Platform) -> None:
    units = {"ingest": ingest.main.build(platform, IngestSettings(max_upload_bytes=2_000_000)),
             "outreach": outreach.main.build(platform),
             "payments": payments.main.build(platform),
             "reporting": reporting.main.build(platform, ReportingSettings(
                 database_url=platform.settings.database_url, environment="test"))}
    app = build_app(platform, list(units.values()))
    _, key = await platform.keys.create(role="operator", now=NOW)
    stop = asyncio.Event()
    tasks: list[asyncio.Future[None]] = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test",
                                 headers={"Authorization": f"Bearer {key}"}) as http:
        try:
            await placed_before_pseudonyms(platform, http)
            # The other services consume the placements in clear, as they did before #19.
            tasks += await run(platform, [units["outreach"], units["payments"], units["reporting"]], stop)
            await eventually(lambda: placed_everywhere(platform), timeout_s=60,
                             message="the placements consumed by outreach, payments and reporting")
            assert await count(platform, "SELECT count(*) FROM payments.accounts WHERE debtor_id = '1020304050'") == 2
            personal_data = f"{BANCO}/debtors/1020304050/personal-data"
            assert (await http.get(personal_data)).status_code == 404  # no one to find

            # Ingest starts: its backfill gives every account a person and announces it.
            tasks += await run(platform, [units["ingest"]], stop)

            async def opened() -> bool:
                return (await http.get(personal_data)).status_code == 200
            await eventually(opened, timeout_s=60, message="the person found through reporting")
            answer = (await http.get(personal_data)).json()
            assert (answer["identity"]["full_name"], answer["identity"]["id_number"]) == ("Ana Pérez", "1020304050")
            assert [a["account_ref"] for a in answer["accounts"]] == ["A-1", "A-2"]
            await eventually(lambda: announced_everywhere(platform), timeout_s=60,
                             message="the pseudonyms in outreach and payments")
            assert await count(platform, "SELECT count(*) FROM payments.accounts WHERE debtor_id IS NOT NULL") == 0

            refused = await http.post(f"{BANCO}/debtors/1020304050/erasure")
            assert (refused.status_code, refused.json()["code"]) == (409, "obligation_active")
            recalled = await http.post(f"{BANCO}/recalls", json={"account_refs": ["A-1", "A-2"]})
            assert recalled.status_code == 200, recalled.text

            async def erasure_started() -> bool:
                answer = await http.post(f"{BANCO}/debtors/1020304050/erasure")
                return answer.status_code == 202
            await eventually(erasure_started, timeout_s=60, message="the recall reaching reporting")
            [erasure] = (await http.get(f"{BANCO}/erasures")).json()["items"]

            async def completed() -> bool:
                shown = (await http.get(f"{BANCO}/erasures/{erasure['id']}")).json()
                return bool(shown["status"] == "completed")
            await eventually(completed, timeout_s=60, message="every service's confirmation")
            assert (await http.get(personal_data)).status_code == 404
            assert (await http.get(f"{BANCO}/debtors/79888777/personal-data")).status_code == 200
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
    after = await dump(platform)
    assert [mark for mark in ANA if mark in after] == []
    assert all(mark in after for mark in BETO)  # the other person, placed the same way, is intact


async def placed_everywhere(platform: Platform) -> bool:
    return all([await count(platform, f"SELECT count(*) FROM {service}.accounts WHERE client_slug = 'banco'") == 3
                for service in ("outreach", "payments", "reporting")])


async def announced_everywhere(platform: Platform) -> bool:
    return all([await count(platform, f"SELECT count(*) FROM {service}.accounts WHERE debtor_ref IS NOT NULL") == 3
                for service in ("outreach", "payments", "reporting")])
