"""What ingest's integration tests share: an operator's client of ingest's real HTTP API as the runtime wires it, and
an uploader that sends a portfolio and runs the worker over it."""

import contextlib
import datetime as dt
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from ingest import handlers
from ingest.main import build
from ingest.settings import IngestSettings
from recaudo_common.events import Envelope, decode
from recaudo_common.personal_data import Vault, personal_of
from recaudo_common.runtime import Platform, build_app, make_platform
from recaudo_common.testing import settings_for_test

NOW = dt.datetime(2026, 3, 31, 15, 0, tzinfo=dt.UTC)
CO = {"slug": "banco", "name": "Banco", "country": "CO", "currency": "COP", "timezone": "America/Bogota",
      "locale": "es-CO", "default_authorised_channels": ["sms", "email"]}
PLAINTEXT = {"debtor_id", "debtor_id_type", "full_name", "phones", "email", "address"}
MX = {"slug": "telco", "name": "Telco", "country": "MX", "currency": "MXN", "timezone": "America/Mexico_City",
      "locale": "es-MX"}


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


class Ingest:
    def __init__(self, platform: Platform, http: httpx.AsyncClient) -> None:
        self.platform, self.http = platform, http
        self.vault = Vault.from_settings(platform.settings)

    async def upload(self, client: str, content: bytes, filename: str = "cartera.csv", expect: int = 202,
                     **params: str) -> dict[str, Any]:
        response = await self.http.post(f"/v1/clients/{client}/portfolios", files={"file": (filename, content)},
                                        data=params)
        if response.status_code == 422 and expect == 202 and response.json().get("instance"):
            # refused at upload: the answer says why, and the record (failed, with the same code) stays
            record = (await self.http.get(response.json()["instance"])).json()
            assert record["error_code"] == response.json()["code"], (record, response.text)
            return dict(record)
        assert response.status_code == expect, response.text
        if expect not in (200, 202):
            return dict(response.json())
        while await handlers.process_next_portfolio(self.platform.db, clock=lambda: NOW, vault=self.vault):
            pass
        return dict((await self.http.get(f"/v1/portfolios/{response.json()['id']}")).json())

    async def issues(self, portfolio: dict[str, Any], kind: str = "rejections") -> list[tuple[int, str, str]]:
        items = (await self.http.get(f"/v1/portfolios/{portfolio['id']}/{kind}?limit=1000")).json()["items"]
        return [(i["row"], i["field"], i["code"]) for i in items]

    async def events(self, event_type: str) -> list[dict[str, Any]]:
        """The payloads of this type in order; an account's personal data opened from its sealed copy (the events
        carry none in clear) and shown under the names the file's columns have."""
        async with self.platform.db.transaction() as s:
            rows = (await s.execute(text(
                "SELECT envelope FROM ingest.outbox WHERE envelope->>'type' = :t ORDER BY id"), {"t": event_type}
            )).scalars().all()
            envelopes = [r if isinstance(r, dict) else json.loads(r) for r in rows]
            payloads = []
            for envelope in envelopes:
                payload = dict(envelope["payload"])
                if "personal" in payload:
                    assert not PLAINTEXT & payload.keys(), payload  # version 2: nothing of the person in clear
                    opened = await personal_of(self.vault, s, envelope["client"], decode(Envelope(**envelope)))
                    assert opened is not None
                    payload |= {"debtor_id": opened.id_number, "debtor_id_type": opened.id_type,
                                "full_name": opened.full_name, "phones": list(opened.phones),
                                "email": opened.email, "address": opened.address}
                payloads.append(payload)
            return payloads


@contextlib.asynccontextmanager
async def operator_of(database_url: str, *clients: dict[str, Any]) -> AsyncIterator[tuple[Platform, httpx.AsyncClient]]:
    """Ingest's API as the runtime wires it (2 MB uploads), an operator's client of it, these client companies
    registered."""
    platform = make_platform(settings_for_test(database_url), pool_size=4, clock=lambda: NOW)
    app = build_app(platform, [build(platform, IngestSettings(max_upload_bytes=2_000_000))])
    _, key = await platform.keys.create(role="operator", now=NOW)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test",
                                 headers={"Authorization": f"Bearer {key}"}) as http:
        for client in clients:
            assert (await http.post("/v1/clients", json=client)).status_code == 201
        yield platform, http
    await platform.db.dispose()


@pytest.fixture
async def ingest(database_url: str) -> AsyncIterator[Ingest]:
    async with operator_of(database_url, CO, MX) as (platform, http):
        yield Ingest(platform, http)
