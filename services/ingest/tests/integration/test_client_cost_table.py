"""A client company's own cost table through ingest's real HTTP API and PostgreSQL (#22): an operator sets the cost
of one contact on each channel, returned with the client company and carried by client.updated (and by every later
client.updated: a change of its arrangement limits keeps it); refused saying why when a channel or a cost is wrong,
and to anyone but an operator."""

from typing import Any

import pytest
from sqlalchemy import text

from .conftest import NOW, ClientsApi

pytestmark = pytest.mark.integration
BASE = {"name": "Banco", "country": "CO", "currency": "COP", "timezone": "America/Bogota", "locale": "es-CO"}
TABLE = {"sms": "45.50", "whatsapp": "60", "email": "5.25", "voice": "350", "agent": "2800"}


async def carried(clients_api: ClientsApi) -> list[Any]:
    async with clients_api.platform.db.transaction() as s:
        return list((await s.execute(text(
            "SELECT envelope->'payload'->'cost_table' FROM ingest.outbox WHERE envelope->>'type' = 'client.updated' "
            "ORDER BY id"))).scalars().all())


async def test_an_operator_sets_the_cost_table_and_client_updated_carries_it(clients_api: ClientsApi) -> None:
    client = clients_api.http
    created = await client.post("/v1/clients", json=BASE | {"slug": "banco"})
    assert created.status_code == 201 and created.json()["cost_table"] is None
    assert created.headers["Location"] == "/v1/clients/banco"
    put = await client.put("/v1/clients/banco/cost-table", json=TABLE)
    assert put.status_code == 200, put.text
    expected = {"sms": "45.50", "whatsapp": "60.00", "email": "5.25", "voice": "350.00", "agent": "2800.00"}
    assert {c: f"{float(v):.2f}" for c, v in put.json()["cost_table"].items()} == expected
    assert (await client.get("/v1/clients/banco")).json()["cost_table"] == put.json()["cost_table"]
    limits = {"max_discount_pct": "25", "instalments_min": 3, "instalments_max": 9, "min_instalment_amount": "0"}
    assert (await client.put("/v1/clients/banco/arrangement-limits", json=limits)).status_code == 200
    events = await carried(clients_api)
    assert len(events) == 2  # the table's change, then the limits' change that still carries it
    assert [{c: f"{float(v):.2f}" for c, v in e.items()} for e in events] == [expected, expected]


@pytest.mark.parametrize(("table", "says"), [
    (TABLE | {"letter": "900"}, "letter"), ({k: v for k, v in TABLE.items() if k != "agent"}, "agent"),
    (TABLE | {"sms": "-1"}, "sms"), (TABLE | {"email": "0.001"}, "email"), (TABLE | {"voice": "caro"}, "voice")])
async def test_a_wrong_table_is_refused_saying_why(clients_api: ClientsApi, table: dict[str, str], says: str) -> None:
    client = clients_api.http
    assert (await client.post("/v1/clients", json=BASE | {"slug": "banco"})).status_code == 201
    answer = await client.put("/v1/clients/banco/cost-table", json=table)
    assert answer.status_code == 422 and says in answer.text, answer.text
    assert (await client.get("/v1/clients/banco")).json()["cost_table"] is None and await carried(clients_api) == []


async def test_only_an_operator_sets_it(clients_api: ClientsApi) -> None:
    client, platform = clients_api.http, clients_api.platform
    assert (await client.post("/v1/clients", json=BASE | {"slug": "banco"})).status_code == 201
    _, own = await platform.keys.create(role="client", client_slug="banco", now=NOW)
    refused = await client.put("/v1/clients/banco/cost-table", json=TABLE, headers={"Authorization": f"Bearer {own}"})
    assert refused.status_code == 403
    assert (await client.put("/v1/clients/nadie/cost-table", json=TABLE)).status_code == 404
