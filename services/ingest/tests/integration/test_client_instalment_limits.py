"""A client company's instalment limits through ingest's real HTTP API and PostgreSQL (#21): 2 to 12 instalments and
no smallest instalment unless it sets its own, returned with the client company and carried by client.registered to
the debtor page and payments, which enforce them; limits outside 2..12 or upside down refused saying why."""

import pytest
from sqlalchemy import text

from .conftest import ClientsApi

pytestmark = pytest.mark.integration
BASE = {"name": "Banco", "country": "CO", "currency": "COP", "timezone": "America/Bogota", "locale": "es-CO"}


async def test_the_limits_default_to_2_to_12_and_a_client_company_sets_its_own(
        clients_api: ClientsApi) -> None:
    client, platform = clients_api.http, clients_api.platform
    default = await client.post("/v1/clients", json=BASE | {"slug": "banco"})
    own = await client.post("/v1/clients", json=BASE | {"slug": "cooperativa", "instalments_min": 3,
                                                         "instalments_max": 6, "min_instalment_amount": "50000",
                                                         "max_discount_pct": "25"})
    assert default.status_code == 201 and own.status_code == 201, own.text
    assert {k: default.json()[k] for k in ("instalments_min", "instalments_max", "min_instalment_amount")} == {
        "instalments_min": 2, "instalments_max": 12, "min_instalment_amount": "0.00"}
    read = (await client.get("/v1/clients/cooperativa")).json()
    assert (read["instalments_min"], read["instalments_max"], read["min_instalment_amount"]) == (3, 6, "50000.00")
    async with platform.db.transaction() as s:
        carried = {r[0]: r[1:] for r in (await s.execute(text(
            "SELECT envelope->'payload'->>'slug', (envelope->'payload'->>'instalments_min')::int, "
            "(envelope->'payload'->>'instalments_max')::int, envelope->'payload'->>'min_instalment_amount' "
            "FROM ingest.outbox WHERE envelope->>'type' = 'client.registered'"))).all()}
    assert carried == {"banco": (2, 12, "0"), "cooperativa": (3, 6, "50000")}


@pytest.mark.parametrize(("limits", "says"), [
    ({"instalments_min": 1}, "instalments_min"), ({"instalments_max": 13}, "instalments_max"),
    ({"instalments_max": 36}, "instalments_max"), ({"min_instalment_amount": "-1"}, "min_instalment_amount"),
    ({"instalments_min": 8, "instalments_max": 4}, "instalments_min must not be above instalments_max"),
    ({"min_instalment_amount": "10.001"}, "min_instalment_amount")])
async def test_limits_out_of_range_are_refused_and_say_why(clients_api: ClientsApi,
                                                          limits: dict[str, object], says: str) -> None:
    client = clients_api.http
    answer = await client.post("/v1/clients", json=BASE | {"slug": "banco"} | limits)
    assert answer.status_code == 422 and says in answer.text, answer.text
    assert (await client.get("/v1/clients/banco")).status_code == 404


async def test_an_operator_changes_the_limits_and_client_updated_carries_them(
        clients_api: ClientsApi) -> None:
    client, platform = clients_api.http, clients_api.platform
    assert (await client.post("/v1/clients", json=BASE | {"slug": "banco"})).status_code == 201
    limits = {"max_discount_pct": "25", "instalments_min": 3, "instalments_max": 9, "min_instalment_amount": "80000"}
    changed = await client.put("/v1/clients/banco/arrangement-limits", json=limits)
    assert changed.status_code == 200, changed.text
    read = (await client.get("/v1/clients/banco")).json()
    assert (read["max_discount_pct"], read["instalments_min"], read["instalments_max"],
            read["min_instalment_amount"]) == ("25.00", 3, 9, "80000.00")
    async with platform.db.transaction() as s:
        updated = (await s.execute(text(
            "SELECT envelope->'payload' FROM ingest.outbox WHERE envelope->>'type' = 'client.updated'"))).scalars().all()
    assert len(updated) == 1
    assert {k: updated[0][k] for k in ("slug", "instalments_min", "instalments_max", "min_instalment_amount",
                                       "max_discount_pct", "timezone")} == {
        "slug": "banco", "instalments_min": 3, "instalments_max": 9, "min_instalment_amount": "80000.00",
        "max_discount_pct": "25.00", "timezone": "America/Bogota"}

    upside_down = await client.put("/v1/clients/banco/arrangement-limits",
                                   json=limits | {"instalments_min": 10, "instalments_max": 4})
    assert upside_down.status_code == 422 and upside_down.json()["code"] == "invalid_client"
    assert "instalments_min must not be above instalments_max" in upside_down.json()["detail"]
    partial = await client.put("/v1/clients/banco/arrangement-limits", json={"instalments_max": 6})
    assert partial.status_code == 422 and partial.json()["code"] == "validation_error"
    assert (await client.put("/v1/clients/nadie/arrangement-limits", json=limits)).status_code == 404
    assert (await client.get("/v1/clients/banco")).json()["instalments_max"] == 9  # the refusals changed nothing
