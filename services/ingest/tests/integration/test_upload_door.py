"""The upload door's limits, made from ingest's settings once per app: uploads a second per key and client company
(429 past the burst) and uploads received at once by this process (503 while they are all taken)."""

import datetime as dt
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from ingest.main import build
from ingest.settings import IngestSettings
from ingest.uploads_runtime import APP_STATE, IngestRuntime
from recaudo_common.runtime import build_app, make_platform
from recaudo_common.testing import settings_for_test

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 31, 15, 0, tzinfo=dt.UTC)
CO = {"slug": "banco", "name": "Banco", "country": "CO", "currency": "COP", "timezone": "America/Bogota",
      "locale": "es-CO", "default_authorised_channels": ["sms"]}
CSV = b"Cuenta;Cedula;Nombre;Saldo;Mora\nD-1;1;Ana;1.000;5\n"


@pytest.fixture
async def door(database_url: str) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    platform = make_platform(settings_for_test(database_url), pool_size=2, clock=lambda: NOW)
    settings = IngestSettings(upload_rate_per_s=0.001, upload_burst=2, max_concurrent_uploads=1)
    app = build_app(platform, [build(platform, settings)])  # the runtime's wiring
    _, key = await platform.keys.create(role="operator", now=NOW)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test",
                                 headers={"Authorization": f"Bearer {key}"}) as http:
        assert (await http.post("/v1/clients", json=CO)).status_code == 201
        yield app, http
    await platform.db.dispose()


async def upload(http: httpx.AsyncClient, n: int) -> httpx.Response:
    return await http.post("/v1/clients/banco/portfolios", files={"file": (f"c{n}.csv", CSV + f"X-{n};2;Eva;5;1\n".encode())})


async def test_uploads_past_the_burst_are_refused_with_when_to_retry(
        door: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, http = door
    assert [(await upload(http, n)).status_code for n in range(2)] == [202, 202]
    refused = await upload(http, 2)
    assert (refused.status_code, refused.json()["code"]) == (429, "rate_limited")
    assert int(refused.headers["Retry-After"]) >= 1


async def test_an_upload_while_the_server_receives_all_it_may_is_refused_503(
        door: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, http = door
    runtime: IngestRuntime = getattr(app.state, APP_STATE)
    async with runtime.receiving:  # the one upload this process may receive at once is in flight
        busy = await upload(http, 0)
    assert (busy.status_code, busy.json()["code"], busy.headers["Retry-After"]) == (503, "uploads_busy", "5")
    assert (await upload(http, 1)).status_code == 202  # the slot is free again
