"""A key names only client companies ingest keeps: the identity routes, mounted by ingest, ask ingest's own table."""

import datetime as dt
from collections.abc import AsyncIterator

import httpx
import pytest

from recaudo.services import build_units
from recaudo_common.runtime import Platform, build_app, make_platform
from recaudo_common.testing import settings_for_test

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)
BANCO = {"slug": "banco-andino", "name": "Banco", "country": "CO", "currency": "COP",
         "timezone": "America/Bogota", "locale": "es-CO"}


@pytest.fixture
async def platform(database_url: str) -> AsyncIterator[Platform]:
    p = make_platform(settings_for_test(database_url), pool_size=2, clock=lambda: NOW)
    yield p
    await p.db.dispose()


async def test_a_key_for_a_client_company_ingest_does_not_keep_is_refused(platform: Platform) -> None:
    app = build_app(platform, build_units(platform, ["ingest"]))
    _, operator = await platform.keys.create(role="operator", now=NOW)
    op = {"Authorization": f"Bearer {operator}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        for body in ({"role": "client", "client": "banco-andino"},
                     {"role": "operator", "client_scope": ["banco-andino"]}):
            refused = await http.post("/v1/keys", headers=op, json=body)
            assert refused.status_code == 422, refused.text
            assert refused.json()["code"] == "unknown_client"
            assert refused.json()["detail"] == "no client company 'banco-andino'"
        assert (await http.post("/v1/clients", headers=op, json=BANCO)).status_code == 201
        made = await http.post("/v1/keys", headers=op, json={"role": "client", "client": "banco-andino"})
        assert made.status_code == 201, made.text
        key = {"Authorization": f"Bearer {made.json()['key']}"}
        assert (await http.get("/v1/clients/banco-andino", headers=key)).status_code == 200
