"""A client company's promise window through ingest's real HTTP API and PostgreSQL: 30 days unless it sets its
own (1 to 365), returned with the client company and carried by client.registered to the services that enforce it."""

import pytest
from sqlalchemy import text

from .conftest import ClientsApi

pytestmark = pytest.mark.integration
BASE = {"name": "Banco", "country": "CO", "currency": "COP", "timezone": "America/Bogota", "locale": "es-CO"}


async def test_the_window_is_30_days_unless_the_client_company_sets_its_own(
        clients_api: ClientsApi) -> None:
    client, platform = clients_api.http, clients_api.platform
    default = await client.post("/v1/clients", json=BASE | {"slug": "banco"})
    own = await client.post("/v1/clients", json=BASE | {"slug": "cooperativa", "promise_window_days": 45})
    assert (default.status_code, default.json()["promise_window_days"]) == (201, 30)
    assert (own.status_code, own.json()["promise_window_days"]) == (201, 45)
    assert (await client.get("/v1/clients/cooperativa")).json()["promise_window_days"] == 45
    async with platform.db.transaction() as s:
        carried = dict((await s.execute(text(
            "SELECT envelope->'payload'->>'slug', (envelope->'payload'->>'promise_window_days')::int "
            "FROM ingest.outbox WHERE envelope->>'type' = 'client.registered'"))).all())
    assert carried == {"banco": 30, "cooperativa": 45}


@pytest.mark.parametrize("days", [0, -1, 366, "treinta"])
async def test_a_window_out_of_range_is_refused_and_says_why(clients_api: ClientsApi,
                                                             days: object) -> None:
    client = clients_api.http
    answer = await client.post("/v1/clients", json=BASE | {"slug": "banco", "promise_window_days": days})
    assert answer.status_code == 422
    assert "promise_window_days" in answer.text
    assert (await client.get("/v1/clients/banco")).status_code == 404
