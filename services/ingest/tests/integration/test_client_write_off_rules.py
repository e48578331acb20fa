"""A client company's automatic write-off rules through ingest's real HTTP API and PostgreSQL (#22): an operator
sets when what the strategy does not pursue is written off, returned with the client company and carried by
client.updated; removed by DELETE; refused saying why when wrong, and to anyone but an operator."""

from typing import Any

import pytest
from sqlalchemy import text

from .conftest import NOW, ClientsApi

pytestmark = pytest.mark.integration
BASE = {"name": "Banco", "country": "CO", "currency": "COP", "timezone": "America/Bogota", "locale": "es-CO"}
RULES = {"after_days": 30, "min_days_past_due": 180}


async def carried(clients_api: ClientsApi) -> list[Any]:
    async with clients_api.platform.db.transaction() as s:
        return list((await s.execute(text(
            "SELECT envelope->'payload'->'write_off_rules' FROM ingest.outbox "
            "WHERE envelope->>'type' = 'client.updated' ORDER BY id"))).scalars().all())


async def test_an_operator_sets_and_removes_the_rules_and_client_updated_carries_them(
        clients_api: ClientsApi) -> None:
    client = clients_api.http
    created = await client.post("/v1/clients", json=BASE | {"slug": "banco"})
    assert created.status_code == 201 and created.json()["write_off_rules"] is None
    put = await client.put("/v1/clients/banco/write-off-rules", json=RULES)
    assert (put.status_code, put.json()["write_off_rules"]) == (200, RULES), put.text
    assert (await client.get("/v1/clients/banco")).json()["write_off_rules"] == RULES
    removed = await client.delete("/v1/clients/banco/write-off-rules")
    assert (removed.status_code, removed.json()["write_off_rules"]) == (200, None)
    assert await carried(clients_api) == [RULES, None]


@pytest.mark.parametrize(("rules", "says"), [
    ({"min_days_past_due": 10}, "after_days"), (RULES | {"after_days": 0}, "after_days"),
    (RULES | {"min_days_past_due": -1}, "min_days_past_due"), (RULES | {"reason": "fraud"}, "reason")])
async def test_wrong_rules_are_refused_saying_why(clients_api: ClientsApi, rules: dict[str, Any], says: str) -> None:
    client = clients_api.http
    assert (await client.post("/v1/clients", json=BASE | {"slug": "banco"})).status_code == 201
    answer = await client.put("/v1/clients/banco/write-off-rules", json=rules)
    assert answer.status_code == 422 and says in answer.text, answer.text
    assert await carried(clients_api) == []


async def test_only_an_operator_sets_them(clients_api: ClientsApi) -> None:
    client, platform = clients_api.http, clients_api.platform
    assert (await client.post("/v1/clients", json=BASE | {"slug": "banco"})).status_code == 201
    _, own = await platform.keys.create(role="client", client_slug="banco", now=NOW)
    refused = await client.put("/v1/clients/banco/write-off-rules", json=RULES,
                               headers={"Authorization": f"Bearer {own}"})
    assert refused.status_code == 403
