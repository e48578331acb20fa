"""An upload's events carry its request: the worker that reads the file later, elsewhere, emits every
account.placed (a batch large enough to be one COPY) with the upload request's id as correlation and cause
(real HTTP API, real PostgreSQL)."""

import datetime as dt
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text

from ingest import handlers
from ingest.main import build
from ingest.settings import IngestSettings
from recaudo_common.events import Envelope
from recaudo_common.outbox import BULK_ROWS
from recaudo_common.personal_data import Vault
from recaudo_common.runtime import Platform, build_app, make_platform
from recaudo_common.testing import settings_for_test

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 31, 15, 0, tzinfo=dt.UTC)
CO = {"slug": "banco", "name": "Banco", "country": "CO", "currency": "COP", "timezone": "America/Bogota",
      "locale": "es-CO", "default_authorised_channels": ["sms"]}


@pytest.fixture
async def ingest(database_url: str) -> AsyncIterator[tuple[Platform, httpx.AsyncClient]]:
    platform = make_platform(settings_for_test(database_url), pool_size=4, clock=lambda: NOW)
    app = build_app(platform, [build(platform, IngestSettings(max_upload_bytes=2_000_000))])  # the runtime's wiring
    _, key = await platform.keys.create(role="operator", now=NOW)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test",
                                 headers={"Authorization": f"Bearer {key}"}) as http:
        yield platform, http
    await platform.db.dispose()


async def envelopes(platform: Platform) -> list[Envelope]:
    async with platform.db.transaction() as s:
        return [Envelope.model_validate(r[0]) for r in await s.execute(text(
            "SELECT envelope FROM ingest.outbox ORDER BY id"))]


async def test_an_uploads_events_carry_the_upload_requests_id(ingest: tuple[Platform, httpx.AsyncClient]) -> None:
    platform, http = ingest
    registered = await http.post("/v1/clients", json=CO)
    assert registered.status_code == 201, registered.text
    accounts = BULK_ROWS * 2
    content = "\n".join(["Obligación;Cédula;Nombre;Saldo;Días Mora"] +
                        [f"A-{n:04};10{n:04};Ana;1.500.000;15" for n in range(accounts)]).encode()
    upload = await http.post("/v1/clients/banco/portfolios", files={"file": ("cartera.csv", content)})
    assert upload.status_code == 202, upload.text
    while await handlers.process_next_portfolio(platform.db, clock=lambda: NOW,
                                                 vault=Vault.from_settings(platform.settings)):
        pass

    registration, *placements = await envelopes(platform)
    register_id, upload_id = (uuid.UUID(r.headers["X-Request-Id"]) for r in (registered, upload))
    assert (registration.type, registration.correlation_id, registration.causation_id) == (
        "client.registered", register_id, register_id)
    assert len(placements) == accounts
    assert {(e.type, e.correlation_id, e.causation_id) for e in placements} == {
        ("account.placed", upload_id, upload_id)}
