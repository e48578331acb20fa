"""Rectification (#19): an operator corrects a debtor's contact points at their request through the real HTTP API;
every account of the person is corrected and re-sealed, account.contact_rectified announces each, the new phone
and e-mail find the person, and the append-only record says who and why, never the values. Refusals say why;
another client company's key or person is refused as the platform refuses it elsewhere (real PostgreSQL)."""

import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from ingest import handlers
from ingest.main import build
from ingest.settings import IngestSettings
from recaudo_common.personal_data import PersonalData, Vault, unseal
from recaudo_common.runtime import Platform, build_app, make_platform
from recaudo_common.testing import settings_for_test

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 31, 15, 0, tzinfo=dt.UTC)
CO = {"slug": "banco", "name": "Banco", "country": "CO", "currency": "COP", "timezone": "America/Bogota",
      "locale": "es-CO", "default_authorised_channels": ["sms", "email"]}
HEADER = "Obligación;Cédula;Tipo Documento;Nombre;Saldo;Días Mora;Telefono1;Correo;Dirección"
FILE = "\n".join([
    HEADER,
    "A-1;1.020.304.050;CC;Ana Pérez;1.500.000;15;300 123 4567;ana@correo.co;Calle 10",
    "A-2;1020304050;CC;Ana Pérez;2.000.000;40;;;",
    "L-1;79888777;CC;Luis Gómez;900.000;5;310 765 4321;luis@correo.co;Carrera 7",
]) + "\n"
PATH = "/v1/clients/banco/debtors/1020304050/contact-points"


class Ingest:
    def __init__(self, platform: Platform, http: httpx.AsyncClient, operator_key_id: uuid.UUID) -> None:
        self.platform, self.http, self.operator_key_id = platform, http, operator_key_id
        self.vault = Vault.from_settings(platform.settings)

    async def upload(self, client: str, content: str) -> None:
        answer = await self.http.post(f"/v1/clients/{client}/portfolios", files={"file": ("c.csv", content.encode())})
        assert answer.status_code == 202, answer.text
        while await handlers.process_next_portfolio(self.platform.db, clock=lambda: NOW, vault=self.vault):
            pass

    async def rectified_events(self) -> dict[str, dict[str, Any]]:
        async with self.platform.db.transaction() as s:
            rows = (await s.execute(text("SELECT envelope FROM ingest.outbox WHERE envelope->>'type' = "
                                         "'account.contact_rectified' ORDER BY id"))).scalars().all()
        payloads = [(r if isinstance(r, dict) else json.loads(r))["payload"] for r in rows]
        return {p["account_ref"]: p for p in payloads}

    async def opened(self, payload: dict[str, Any]) -> PersonalData:
        ref = uuid.UUID(payload["debtor_ref"])
        async with self.platform.db.transaction() as s:
            key = await self.vault.key_of(s, "banco", ref)
        assert key is not None
        return unseal(key, "banco", ref, payload["personal"])

    async def records(self) -> list[dict[str, Any]]:
        async with self.platform.db.transaction() as s:
            rows = (await s.execute(text("SELECT row_to_json(r)::text FROM ingest.rectifications r"
                                         " ORDER BY rectified_at, id"))).scalars().all()
        return [json.loads(r) for r in rows]

    async def as_key(self, **key: Any) -> dict[str, str]:
        _, secret = await self.platform.keys.create(now=NOW, **key)
        return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
async def ingest(database_url: str) -> AsyncIterator[Ingest]:
    platform = make_platform(settings_for_test(database_url), pool_size=4, clock=lambda: NOW)
    app = build_app(platform, [build(platform, IngestSettings(max_upload_bytes=2_000_000))])
    key_id, key = await platform.keys.create(role="operator", now=NOW)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test",
                                 headers={"Authorization": f"Bearer {key}"}) as http:
        for client in (CO, {**CO, "slug": "telco", "name": "Telco"}):
            assert (await http.post("/v1/clients", json=client)).status_code == 201
        ingest = Ingest(platform, http, key_id)
        await ingest.upload("banco", FILE)
        yield ingest
    await platform.db.dispose()


async def test_a_rectification_corrects_every_account_of_the_person_and_records_who_and_why(ingest: Ingest) -> None:
    answer = await ingest.http.patch(PATH, json={
        "phones": ["(310) 555-1234", "300 123 4567", "+57 310 555 1234"], "email": "Nueva@Correo.co ",
        "reason": "la titular lo pidió por teléfono, radicado 2026-114"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["accounts"], body["fields"]) == (["A-1", "A-2"], ["phones", "email"])
    events = await ingest.rectified_events()
    assert set(events) == {"A-1", "A-2"}
    for ref, payload in events.items():
        assert payload["debtor_ref"] == body["debtor_ref"] and payload["fields"] == ["phones", "email"]
        # Who by their key's id; the operator's words stay with ingest's record, off the topic.
        assert (payload["rectified_by"], payload.get("reason")) == (f"key:{ingest.operator_key_id}", None)
        assert (payload["has_phone"], payload["has_email"]) == (True, True)
        assert "3105551234" not in json.dumps(payload) and "nueva" not in json.dumps(payload).lower()
        opened = await ingest.opened(payload)
        # Phones normalised as a file's are (E.164 for the client company's country, once each); the rest kept.
        assert (opened.phones, opened.email) == (("+573105551234", "+573001234567"), "Nueva@Correo.co")
        assert (opened.full_name, opened.id_type) == ("Ana Pérez", "CC")
        assert opened.id_number == {"A-1": "1.020.304.050", "A-2": "1020304050"}[ref]
        assert opened.address == {"A-1": "Calle 10", "A-2": None}[ref]
    async with ingest.platform.db.transaction() as s:
        stated = {r.account_ref: r.stated for r in await s.execute(text(
            "SELECT account_ref, stated FROM ingest.accounts WHERE client_slug = 'banco'"))}
        assert stated["A-2"]["phones"] == ["+573105551234", "+573001234567"]
        assert stated["L-1"]["email"] == "luis@correo.co"  # another person untouched
        found = await ingest.vault.find(s, "banco", "phone", "+573105551234")
        assert found == uuid.UUID(body["debtor_ref"])
        assert await ingest.vault.find(s, "banco", "email", "nueva@correo.co") == found
    [record] = await ingest.records()
    assert (record["rectified_by"], record["fields"], record["account_refs"], record["reason"]) == (
        f"key:{ingest.operator_key_id}", ["phones", "email"], ["A-1", "A-2"],
        "la titular lo pidió por teléfono, radicado 2026-114")
    assert "3105551234" not in json.dumps(record) and "nueva" not in json.dumps(record).lower()
    async with ingest.platform.db.transaction() as s:  # evidence: the database refuses to rewrite it
        with pytest.raises(DBAPIError, match="append-only"):
            await s.execute(text("UPDATE ingest.rectifications SET reason = 'otra'"))


async def test_removing_an_address_and_a_request_that_changes_nothing(ingest: Ingest) -> None:
    removed = await ingest.http.patch(PATH, json={"address": None, "reason": "dirección antigua"})
    assert removed.json()["fields"] == ["address"]  # A-1 had one
    assert (await ingest.opened((await ingest.rectified_events())["A-1"])).address is None
    same = await ingest.http.patch(PATH, json={"address": None, "reason": "otra vez"})
    assert (same.status_code, same.json()["fields"]) == (200, [])
    assert len(await ingest.rectified_events()) == 2  # announced once, the second changed nothing
    assert sorted(r["fields"] for r in await ingest.records()) == [[], ["address"]]  # both requests recorded


@pytest.mark.parametrize(("body", "code", "locs"), [
    ({"phones": ["123", "3001234567", ""], "email": "no-es-correo", "reason": "x"}, "invalid_contact_points",
     [["body", "phones", 0], ["body", "phones", 2], ["body", "email"]]),
    ({"reason": "nada"}, "invalid_contact_points", [["body"]]),
    ({"email": "a@b.co"}, "validation_error", [["body", "reason"]]),
    ({"email": "a@b.co", "reason": "x", "full_name": "Otra"}, "validation_error", [["body", "full_name"]]),
])
async def test_a_refusal_says_why_and_changes_nothing(ingest: Ingest, body: dict[str, Any], code: str,
                                                      locs: list[list[Any]]) -> None:
    answer = await ingest.http.patch(PATH, json=body)
    assert (answer.status_code, answer.json()["code"]) == (422, code), answer.text
    assert [e["loc"] for e in answer.json()["errors"]] == locs
    assert await ingest.rectified_events() == {} and await ingest.records() == []


async def test_no_such_person_another_client_companys_and_another_key(ingest: Ingest) -> None:
    body = {"email": "x@correo.co", "reason": "x"}
    unknown = await ingest.http.patch("/v1/clients/banco/debtors/5555555/contact-points", json=body)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")
    assert "5555555" not in unknown.text  # the id number is never echoed
    await ingest.upload("telco", "\n".join([HEADER, "T-1;99887766;CC;Eva;1.000;5;;;"]) + "\n")
    elsewhere = await ingest.http.patch("/v1/clients/banco/debtors/99887766/contact-points", json=body)
    assert elsewhere.status_code == 404  # telco's person is no one at banco
    client_key = await ingest.as_key(role="client", client_slug="banco")
    assert (await ingest.http.patch(PATH, json=body, headers=client_key)).status_code == 403  # operators only
    other_operator = await ingest.as_key(role="operator", client_scope=["telco"])
    assert (await ingest.http.patch(PATH, json=body, headers=other_operator)).status_code == 404
    assert await ingest.rectified_events() == {} and await ingest.records() == []


async def test_an_erased_person_cannot_be_rectified(ingest: Ingest) -> None:
    async with ingest.platform.db.transaction() as s:
        ref = await s.scalar(text("SELECT debtor_ref FROM ingest.accounts WHERE account_ref = 'A-1'"))
        await ingest.vault.shred(s, "banco", ref, "request", NOW)
    answer = await ingest.http.patch(PATH, json={"email": "x@correo.co", "reason": "x"})
    assert answer.status_code == 404
