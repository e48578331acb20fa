"""Every action a person takes is recorded with their name (#23): changes asked of any service's API by a person
signed in (or a key) land in identity.actions with the e-mail (or key id), the route, the client company and
account, and the answer, refusals included; reads are not actions. `GET /v1/actions` reads them back newest first,
a page at a time, each caller only its own client companies'. Through the real routes of ingest and outreach and
PostgreSQL."""

import datetime as dt
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from recaudo.services import build_units
from recaudo_common.runtime import Platform, build_app, make_platform
from recaudo_common.testing import settings_for_test

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)
PASSWORD = "una frase larga de acceso"
CLIENT = {"name": "Banco", "country": "CO", "currency": "COP", "timezone": "America/Bogota", "locale": "es-CO"}


@dataclass
class Agency:
    platform: Platform
    ingest: httpx.AsyncClient
    outreach: httpx.AsyncClient
    operator: dict[str, str]
    operator_key_id: str

    async def person(self, email: str, role: str) -> dict[str, str]:
        """A new person of `role`, signed in: the Cookie and X-CSRF-Token headers their console sends."""
        made = await self.ingest.post("/v1/users", headers=self.operator,
                                      json={"email": email, "password": PASSWORD, "role": role})
        assert made.status_code == 201, made.text
        signed = await self.ingest.post("/console/sign-in", data={"email": email, "password": PASSWORD, "code": ""})
        token = re.match(r"recaudo_session=([^;]+)", signed.headers["set-cookie"])
        assert token is not None
        cookie = {"Cookie": f"recaudo_session={token[1]}"}
        csrf = re.search(r'name="csrf-token" content="([0-9a-f]+)"', (await self.ingest.get(
            "/console", headers=cookie)).text)
        assert csrf is not None
        return {**cookie, "X-CSRF-Token": csrf[1]}


@pytest.fixture
async def agency(database_url: str) -> AsyncIterator[Agency]:
    platform = make_platform(settings_for_test(database_url), pool_size=3, clock=lambda: NOW)
    ingest = build_app(platform, build_units(platform, ["ingest"]))
    outreach = build_app(platform, build_units(platform, ["outreach"]))
    key_id, key = await platform.keys.create(role="operator", now=NOW)
    operator = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=ingest), base_url="https://test") as i_http, \
            httpx.AsyncClient(transport=httpx.ASGITransport(app=outreach), base_url="https://test") as o_http:
        for slug in ("banco-andino", "otro-banco"):
            assert (await i_http.post("/v1/clients", headers=operator, json={"slug": slug, **CLIENT})).status_code \
                == 201
        yield Agency(platform, i_http, o_http, operator, str(key_id))
    await platform.db.dispose()


async def test_changes_are_recorded_with_the_persons_name_and_read_back_newest_first(agency: Agency) -> None:
    ana = await agency.person("ana@agencia.co", "operator")
    pedro = await agency.person("pedro@agencia.co", "agent")
    held = await agency.outreach.post("/v1/clients/banco-andino/accounts/A-1/legal-holds", headers=ana,
                                      json={"hold": "dispute", "note": "reclamo del deudor"})
    refused = await agency.ingest.patch("/v1/clients/banco-andino", headers=pedro, json={"name": "Otro"})
    assert refused.status_code == 403
    assert (await agency.ingest.get("/v1/clients/banco-andino", headers=ana)).status_code == 200  # a read

    answer = await agency.ingest.get("/v1/actions", headers=agency.operator)
    assert answer.status_code == 200, answer.text
    items = answer.json()["items"]
    shown = [(a["actor"], a["method"], a["route"], a["client_slug"], a["account_ref"], a["status"]) for a in items]
    assert shown[:3] == [
        ("user pedro@agencia.co", "PATCH", "/v1/clients/{slug}", "banco-andino", None, 403),
        ("user ana@agencia.co", "POST", "/v1/clients/{slug}/accounts/{account_ref}/legal-holds", "banco-andino", "A-1",
         held.status_code),
        (f"key {agency.operator_key_id}", "POST", "/v1/users", None, None, 201),
    ]
    assert all(a["method"] != "GET" for a in items)
    assert ("user ana@agencia.co", "POST", "/console/sign-in") not in {(a["actor"], a["method"], a["route"])
                                                                       for a in items}
    assert items[1]["request_id"] == held.headers["x-request-id"] and items[1]["service"] == "outreach"
    assert [a["route"] for a in items][-2:] == ["/v1/clients", "/v1/clients"]

    # One actor; a page at a time.
    mine = await agency.ingest.get("/v1/actions", headers=agency.operator, params={"actor": "user ana@agencia.co"})
    assert [a["route"] for a in mine.json()["items"]] == ["/v1/clients/{slug}/accounts/{account_ref}/legal-holds"]
    first = await agency.ingest.get("/v1/actions", headers=agency.operator, params={"limit": 1})
    second = await agency.ingest.get(first.json()["next"], headers=agency.operator)
    assert second.json()["items"][0]["id"] < first.json()["items"][0]["id"]
    assert (await agency.ingest.get("/v1/actions", headers=agency.operator, params={"cursor": "bm9wZQ"})
            ).status_code == 422


async def test_a_client_company_sees_only_its_own_actions_and_an_agent_none(agency: Agency) -> None:
    ana = await agency.person("ana@agencia.co", "operator")
    await agency.outreach.post("/v1/clients/otro-banco/accounts/B-1/legal-holds", headers=ana,
                               json={"hold": "dispute", "note": "x"})
    _, client_key = await agency.platform.keys.create(role="client", client_slug="banco-andino", now=NOW)
    banco = {"Authorization": f"Bearer {client_key}"}
    await agency.outreach.post("/v1/clients/banco-andino/accounts/A-1/legal-holds", headers=banco,
                               json={"hold": "dispute", "note": "y"})
    seen = (await agency.ingest.get("/v1/actions", headers=banco)).json()["items"]
    assert seen and {a["client_slug"] for a in seen} == {"banco-andino"}
    assert (await agency.ingest.get("/v1/actions", headers=banco, params={"client": "otro-banco"})).status_code == 404
    pedro = await agency.person("pedro@agencia.co", "agent")
    assert (await agency.ingest.get("/v1/actions", headers=pedro)).status_code == 403


async def test_a_change_refused_for_another_company_is_no_row_in_that_companys_list(agency: Agency) -> None:
    """A client company's key asking to change another's accounts is refused 404; the attempt is its own: the other
    company's list never shows it (nor whose it was)."""
    _, telco_key = await agency.platform.keys.create(role="client", client_slug="telco-azteca", now=NOW)
    telco = {"Authorization": f"Bearer {telco_key}"}
    refused = await agency.ingest.post("/v1/clients/banco-andino/recalls", headers=telco,
                                       json={"account_refs": ["A-1"]})
    assert refused.status_code == 404
    _, banco_key = await agency.platform.keys.create(role="client", client_slug="banco-andino", now=NOW)
    seen = (await agency.ingest.get("/v1/actions", headers={"Authorization": f"Bearer {banco_key}"})).json()
    assert all(telco_key[:8] not in str(a) and a["status"] != 404 for a in seen["items"]), seen
    theirs = (await agency.ingest.get("/v1/actions", headers=telco)).json()["items"]
    assert [(a["client_slug"], a["route"], a["status"]) for a in theirs] == [
        ("telco-azteca", "/v1/clients/{slug}/recalls", 404)]
