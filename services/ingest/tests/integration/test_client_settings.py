"""Editing a client company's settings (#23) through ingest's real HTTP API and PostgreSQL: an operator changes what
was set at creation (PATCH), carried by client.updated; country, currency and slug stay; every settings change
takes the ETag of what the caller read as If-Match and is refused 412 when someone changed them meanwhile."""

from typing import Any

import pytest
from sqlalchemy import text

from .conftest import NOW, ClientsApi

pytestmark = pytest.mark.integration
BASE = {"slug": "banco", "name": "Banco", "country": "CO", "currency": "COP", "timezone": "America/Bogota",
        "locale": "es-CO", "default_authorised_channels": ["sms", "email"]}
TABLE = {"sms": "45.50", "whatsapp": "60", "email": "5.25", "voice": "350", "agent": "2800"}


async def updates(clients_api: ClientsApi) -> list[dict[str, Any]]:
    async with clients_api.platform.db.transaction() as s:
        return list((await s.execute(text(
            "SELECT envelope->'payload' FROM ingest.outbox WHERE envelope->>'type' = 'client.updated' "
            "ORDER BY id"))).scalars().all())


async def test_an_operator_edits_what_was_set_at_creation_and_every_service_is_told(clients_api: ClientsApi) -> None:
    http = clients_api.http
    created = await http.post("/v1/clients", json=BASE)
    assert created.status_code == 201
    patched = await http.patch("/v1/clients/banco", json={
        "name": "Banco Andino S.A.", "timezone": "America/Lima", "locale": "es-PE",
        "default_authorised_channels": ["sms", "whatsapp", "agent"], "promise_window_days": 10})
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert (body["name"], body["timezone"], body["locale"], body["promise_window_days"]) == (
        "Banco Andino S.A.", "America/Lima", "es-PE", 10)
    assert body["default_authorised_channels"] == ["sms", "whatsapp", "agent"] and body["currency"] == "COP"
    assert (await http.get("/v1/clients/banco")).json() == body
    [told] = await updates(clients_api)
    assert (told["name"], told["timezone"], told["locale"], told["default_authorised_channels"]) == (
        "Banco Andino S.A.", "America/Lima", "es-PE", ["sms", "whatsapp", "agent"])
    assert (await http.patch("/v1/clients/banco", json={"name": "Banco Andino"})).json()["locale"] == "es-PE"


@pytest.mark.parametrize(("change", "status", "code"), [
    ({"country": "PE"}, 422, "immutable_setting"), ({"currency": "PEN"}, 422, "immutable_setting"),
    ({"slug": "otro"}, 422, "immutable_setting"), ({"timezone": "Mars/Olympus"}, 422, "invalid_client"),
    ({"locale": "fr-FR"}, 422, "invalid_client"), ({"default_authorised_channels": []}, 422, "validation_error"),
    ({"default_authorised_channels": ["fax"]}, 422, "validation_error"), ({"promise_window_days": 0}, 422,
                                                                         "validation_error"),
    ({"max_upload_bytes": 5}, 422, "validation_error"), ({"name": ""}, 422, "validation_error")])
async def test_a_change_that_cannot_be_is_refused_saying_why_and_nothing_changes(
        clients_api: ClientsApi, change: dict[str, Any], status: int, code: str) -> None:
    http = clients_api.http
    assert (await http.post("/v1/clients", json=BASE)).status_code == 201
    before = (await http.get("/v1/clients/banco")).json()
    refused = await http.patch("/v1/clients/banco", json=change)
    assert (refused.status_code, refused.json()["code"]) == (status, code), refused.text
    assert (await http.get("/v1/clients/banco")).json() == before and await updates(clients_api) == []
    assert (await http.patch("/v1/clients/banco", json={"country": "CO", "currency": "COP"})).status_code == 200


async def test_settings_changed_since_they_were_read_are_not_overwritten(clients_api: ClientsApi) -> None:
    http, platform = clients_api.http, clients_api.platform
    assert (await http.post("/v1/clients", json=BASE)).status_code == 201
    read = await http.get("/v1/clients/banco")
    tag = read.headers["ETag"]
    assert (await http.get("/v1/clients/banco")).headers["ETag"] == tag

    ana = await http.put("/v1/clients/banco/cost-table", json=TABLE, headers={"If-Match": tag})
    assert ana.status_code == 200 and ana.headers["ETag"] != tag
    for method, url, body in (("PATCH", "/v1/clients/banco", {"name": "Otro"}),
                              ("PUT", "/v1/clients/banco/cost-table", TABLE | {"sms": "1"}),
                              ("PUT", "/v1/clients/banco/upload-cap", {"max_upload_bytes": 1000}),
                              ("PUT", "/v1/clients/banco/write-off-rules", {"after_days": 30}),
                              ("DELETE", "/v1/clients/banco/write-off-rules", None),
                              ("PUT", "/v1/clients/banco/arrangement-limits", {
                                  "max_discount_pct": "10", "instalments_min": 2, "instalments_max": 6,
                                  "min_instalment_amount": "0"})):
        stale = await http.request(method, url, json=body, headers={"If-Match": tag})
        assert (stale.status_code, stale.json()["code"]) == (412, "precondition_failed"), (url, stale.text)
    now = (await http.get("/v1/clients/banco")).json()
    assert now == ana.json() and len(await updates(clients_api)) == 1  # only Ana's change, told once

    luis = await http.patch("/v1/clients/banco", json={"name": "Banco de Luis"}, headers={"If-Match": ana.headers["ETag"]})
    assert luis.status_code == 200 and luis.json()["cost_table"] == ana.json()["cost_table"]
    _, own = await platform.keys.create(role="client", client_slug="banco", now=NOW)
    assert (await http.patch("/v1/clients/banco", json={"name": "X"},
                             headers={"Authorization": f"Bearer {own}"})).status_code == 403
    assert (await http.patch("/v1/clients/nadie", json={"name": "X"})).status_code == 404
