"""People limited to some client companies through ingest's and outreach's real HTTP routes and PostgreSQL (#23):
an operator gives an agency user `clients` when creating them or later (PATCH /v1/users/{id}); a scoped person's
session sees only those companies, in lists and one by one, from their next request; the limit is lifted with
`"clients": null`; unknown companies and people who cannot be scoped are refused. Named to be collected after the
sibling it imports from (in a whole run 'tests' is a service's package)."""

import httpx
import pytest

from recaudo.services import build_units
from recaudo_common.runtime import build_app
from tests.integration.test_people_and_sessions import PASSWORD, Console, console

pytestmark = pytest.mark.integration
__all__ = ["console"]  # the fixture, imported for the tests below
SUR = {"slug": "financiera-del-sur", "name": "Financiera del Sur", "country": "CO", "currency": "COP",
       "timezone": "America/Bogota", "locale": "es-CO"}


async def listed(console: Console, headers: dict[str, str]) -> list[str]:
    answer = await console.http.get("/v1/clients", headers=headers)
    assert answer.status_code == 200, answer.text
    return [c["slug"] for c in answer.json()["items"]]


async def test_a_scoped_supervisor_sees_only_its_companies_until_the_limit_changes(console: Console) -> None:
    assert (await console.http.post("/v1/clients", headers=console.operator, json=SUR)).status_code == 201
    made = await console.user("luis@agencia.co", "supervisor", clients=["banco-andino"])
    assert made["clients"] == ["banco-andino"]
    shown = (await console.http.get(f"/v1/users/{made['id']}", headers=console.operator)).json()
    assert shown["clients"] == ["banco-andino"]
    unscoped = await console.user("eva@agencia.co", "supervisor")
    assert "clients" not in unscoped  # every company, as before: absent like the other nones

    luis, _ = await console.session("luis@agencia.co")
    eva, _ = await console.session("eva@agencia.co")
    assert await listed(console, luis) == ["banco-andino"]
    assert await listed(console, eva) == ["banco-andino", "financiera-del-sur"]
    assert (await console.http.get("/v1/clients/banco-andino", headers=luis)).status_code == 200
    other = await console.http.get("/v1/clients/financiera-del-sur", headers=luis)
    assert (other.status_code, other.json()["code"]) == (404, "not_found")

    # Changed by an operator: the live session follows from its next request, no new sign-in.
    moved = await console.http.patch(f"/v1/users/{made['id']}", headers=console.operator,
                                     json={"clients": ["financiera-del-sur"]})
    assert moved.status_code == 200 and moved.json()["clients"] == ["financiera-del-sur"], moved.text
    assert await listed(console, luis) == ["financiera-del-sur"]
    assert (await console.http.get("/v1/clients/banco-andino", headers=luis)).status_code == 404
    unchanged = await console.http.patch(f"/v1/users/{made['id']}", headers=console.operator, json={})
    assert unchanged.json()["clients"] == ["financiera-del-sur"]
    lifted = await console.http.patch(f"/v1/users/{made['id']}", headers=console.operator, json={"clients": None})
    assert lifted.status_code == 200 and "clients" not in lifted.json()
    assert await listed(console, luis) == ["banco-andino", "financiera-del-sur"]


async def test_bad_scopes_are_refused_and_a_scoped_operator_manages_no_one(console: Console) -> None:
    base = {"password": PASSWORD}
    for body, code in (({"email": "a@agencia.co", "role": "agent", "clients": ["nadie", "banco-andino"]},
                        "unknown_client"),
                       ({"email": "a@agencia.co", "role": "sre", "clients": ["banco-andino"]}, "invalid_user"),
                       ({"email": "a@banco.co", "role": "client", "client": "banco-andino",
                         "clients": ["banco-andino"]}, "invalid_user"),
                       ({"email": "a@agencia.co", "role": "agent", "clients": []}, "validation_error")):
        refused = await console.http.post("/v1/users", headers=console.operator, json={**base, **body})
        assert (refused.status_code, refused.json()["code"]) == (422, code), refused.text
    unknown = (await console.http.post("/v1/users", headers=console.operator, json={
        **base, "email": "a@agencia.co", "role": "agent", "clients": ["nadie"]})).json()
    assert unknown["detail"] == "no client company 'nadie'"

    client_user = await console.user("tesoreria@banco.co", "client", client="banco-andino")
    refused = await console.http.patch(f"/v1/users/{client_user['id']}", headers=console.operator,
                                       json={"clients": ["banco-andino"]})
    assert (refused.status_code, refused.json()["code"]) == (422, "invalid_user")
    agent = await console.user("pedro@agencia.co", "agent")
    refused = await console.http.patch(f"/v1/users/{agent['id']}", headers=console.operator,
                                       json={"clients": ["nadie"]})
    assert (refused.status_code, refused.json()["code"]) == (422, "unknown_client")

    # An operator limited to some companies is no people manager, as a scoped operator key is none.
    await console.user("jefa@agencia.co", "operator", clients=["banco-andino"])
    cookie, csrf = await console.session("jefa@agencia.co")
    change = await console.http.patch(f"/v1/users/{agent['id']}", headers={**cookie, "X-CSRF-Token": csrf},
                                      json={"clients": None})
    assert (change.status_code, change.json()["code"]) == (403, "forbidden")
    assert (await console.http.get("/v1/users", headers=cookie)).status_code == 403
    assert (await console.http.get("/v1/clients/banco-andino", headers=cookie)).status_code == 200


async def test_a_scoped_agent_gets_the_desk_of_its_companies_only(console: Console) -> None:
    """Across services: outreach reads the scope from the same session. (Its queue with calls in it:
    services/outreach/tests/integration/test_agent_desk_scope.py.)"""
    assert (await console.http.post("/v1/clients", headers=console.operator, json=SUR)).status_code == 201
    await console.user("pedro@agencia.co", "agent", clients=["financiera-del-sur"])
    agent, csrf = await console.session("pedro@agencia.co")
    outreach = build_app(console.platform, build_units(console.platform, ["outreach"]))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=outreach), base_url="https://test") as http:
        mine = await http.get("/v1/agent/next", params={"client": "financiera-del-sur"}, headers=agent)
        assert mine.status_code == 200 and mine.json() == {"item": None}, mine.text
        other = await http.get("/v1/agent/next", params={"client": "banco-andino"}, headers=agent)
        assert (other.status_code, other.json()["code"]) == (404, "not_found")
        logged = await http.post("/v1/clients/banco-andino/accounts/A-1/contacts",
                                 headers={**agent, "X-CSRF-Token": csrf},
                                 json={"channel": "agent", "at": "2026-03-04T10:00:00-05:00", "outcome": "refused"})
        assert (logged.status_code, logged.json()["code"]) == (404, "not_found")
