"""What ingest's integration tests share: an operator's client of ingest's real HTTP API as the runtime wires it."""

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from ingest.main import build
from ingest.settings import IngestSettings
from recaudo_common.runtime import Platform, build_app, make_platform
from recaudo_common.testing import settings_for_test

NOW = dt.datetime(2026, 3, 31, 15, 0, tzinfo=dt.UTC)


@dataclass
class ClientsApi:
    """An operator's HTTP client of ingest and the platform behind it (to read what the API wrote)."""

    http: httpx.AsyncClient
    platform: Platform


@pytest.fixture
async def clients_api(database_url: str) -> AsyncIterator[ClientsApi]:
    platform = make_platform(settings_for_test(database_url), pool_size=2, clock=lambda: NOW)
    app = build_app(platform, [build(platform, IngestSettings(max_upload_bytes=1_000_000))])  # the runtime's wiring
    _, key = await platform.keys.create(role="operator", now=NOW)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test",
                                 headers={"Authorization": f"Bearer {key}"}) as http:
        yield ClientsApi(http, platform)
    await platform.db.dispose()
