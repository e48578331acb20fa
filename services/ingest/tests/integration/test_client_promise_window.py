"""A client company's promise window through ingest's real HTTP API and PostgreSQL: 30 days unless it sets its
own (1 to 365), returned with the client company and carried by client.registered to the services that enforce it."""

import datetime as dt
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text

from ingest.main import build
from ingest.settings import IngestSettings
from recaudo_common.runtime import build_app, make_platform
from recaudo_common.testing import settings_for_test

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 31, 15, 0, tzinfo=dt.UTC)
BASE = {"name": "Banco", "country": "CO", "currency": "COP", "timezone": "America/Bogota", "locale": "es-CO"}


@pytest.fixture
async def http(database_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, object]]:
    platform = make_platform(settings_for_test(database_url), pool_size=2, clock=lambda: NOW)
    app = build_app(platform, [build(platform, IngestSettings(max_upload_bytes=1_000_000))])  # the runtime's wiring
    _, key = await platform.keys.create(role="operator", now=NOW)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test",
                                 headers={"Authorization": f"Bearer {key}"}) as client:
        yield client, platform
    await platform.db.dispose()


async def test_the_window_is_30_days_unless_the_client_company_sets_its_own(
        http: tuple[httpx.AsyncClient, object]) -> None:
    client, platform = http
    default = await client.post("/v1/clients", json=BASE | {"slug": "banco"})
    own = await client.post("/v1/clients", json=BASE | {"slug": "cooperativa", "promise_window_days": 45})
    assert (default.status_code, default.json()["promise_window_days"]) == (201, 30)
    assert (own.status_code, own.json()["promise_window_days"]) == (201, 45)
    assert (await client.get("/v1/clients/cooperativa")).json()["promise_window_days"] == 45
    async with platform.db.transaction() as s:  # type: ignore[attr-defined]
        carried = dict((await s.execute(text(
            "SELECT envelope->'payload'->>'slug', (envelope->'payload'->>'promise_window_days')::int "
            "FROM ingest.outbox WHERE envelope->>'type' = 'client.registered'"))).all())
    assert carried == {"banco": 30, "cooperativa": 45}


@pytest.mark.parametrize("days", [0, -1, 366, "treinta"])
async def test_a_window_out_of_range_is_refused_and_says_why(http: tuple[httpx.AsyncClient, object],
                                                             days: object) -> None:
    client, _ = http
    answer = await client.post("/v1/clients", json=BASE | {"slug": "banco", "promise_window_days": days})
    assert answer.status_code == 422
    assert "promise_window_days" in answer.text
    assert (await client.get("/v1/clients/banco")).status_code == 404
