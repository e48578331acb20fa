"""Each placed debtor gets a pseudonym and a key (#19, the expand step): account.placed and account.updated carry
the debtor's debtor_ref and their personal data sealed with their key, and nothing of the person in clear; the same
id number is the same person within a file and across uploads, not across client companies; erasing the person
leaves every sealed copy shut (real HTTP API, real PostgreSQL)."""

import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import event, text

from ingest import handlers
from recaudo_common.personal_data import PersonalData, SealBroken, Vault, unseal
from recaudo_common.runtime import Platform

from .conftest import operator_of

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 31, 15, 0, tzinfo=dt.UTC)
CO = {"slug": "banco", "name": "Banco", "country": "CO", "currency": "COP", "timezone": "America/Bogota",
      "locale": "es-CO", "default_authorised_channels": ["sms", "email"]}
OTHER = {**CO, "slug": "telco", "name": "Telco"}
HEADER = "Obligación;Cédula;Tipo Documento;Nombre;Saldo;Días Mora;Telefono1;Telefono2;Correo;Dirección"
FIRST = "\n".join([
    HEADER,
    "A-1;1.020.304.050;CC;Ana Pérez;1.500.000;15;300 123 4567;310 765 4321;ana@correo.co;Calle 10 # 20-30",
    "A-2;1020304050;CC;Ana Pérez;2.000.000;40;300 123 4567;;;",  # Ana again, her id number spelled otherwise
    "A-3;79888777;CE;Luis Gómez;900.000;5;;;luis@correo.co;",
]) + "\n"


class Ingest:
    def __init__(self, platform: Platform, http: httpx.AsyncClient) -> None:
        self.platform, self.http = platform, http
        self.vault = Vault.from_settings(platform.settings)  # what main.build makes from the same settings

    async def upload(self, client: str, content: str) -> None:
        answer = await self.http.post(f"/v1/clients/{client}/portfolios",
                                      files={"file": ("cartera.csv", content.encode())})
        assert answer.status_code == 202, answer.text
        while await handlers.process_next_portfolio(self.platform.db, clock=lambda: NOW, vault=self.vault):
            pass
        done = (await self.http.get(f"/v1/portfolios/{answer.json()['id']}")).json()
        assert (done["status"], done["rows_rejected"]) == ("completed", 0), done

    async def events(self, client: str, event_type: str) -> dict[str, dict[str, Any]]:
        """The latest event of this type for each account of the client company, by account_ref."""
        async with self.platform.db.transaction() as s:
            rows = (await s.execute(text(
                "SELECT envelope FROM ingest.outbox WHERE envelope->>'type' = :t AND envelope->>'client' = :c"
                " ORDER BY id"), {"t": event_type, "c": client})).scalars().all()
        payloads = [(r if isinstance(r, dict) else json.loads(r))["payload"] for r in rows]
        return {p["account_ref"]: p for p in payloads}

    async def stored_refs(self, client: str) -> dict[str, uuid.UUID | None]:
        async with self.platform.db.transaction() as s:
            rows = (await s.execute(text("SELECT account_ref, debtor_ref FROM ingest.accounts WHERE client_slug = :c"),
                                    {"c": client})).all()
        return {r.account_ref: r.debtor_ref for r in rows}

    async def opened(self, client: str, payload: dict[str, Any], vault: Vault | None = None) -> PersonalData:
        """The event's sealed personal data opened with its person's key from the vault (SealBroken if gone)."""
        ref = uuid.UUID(payload["debtor_ref"])
        async with self.platform.db.transaction() as s:
            key = await (vault or self.vault).key_of(s, client, ref)
        if key is None:
            raise SealBroken("the person's key is gone")
        return unseal(key, client, ref, payload["personal"])


@pytest.fixture
async def ingest(database_url: str) -> AsyncIterator[Ingest]:
    async with operator_of(database_url, CO, OTHER) as (platform, http):
        yield Ingest(platform, http)


PLAINTEXT = {"debtor_id", "debtor_id_type", "full_name", "phones", "email", "address"}


async def test_placed_accounts_carry_their_debtors_pseudonym_and_sealed_data(ingest: Ingest) -> None:
    await ingest.upload("banco", FIRST)
    placed = await ingest.events("banco", "account.placed")
    ana, ana_again, luis = (placed[a] for a in ("A-1", "A-2", "A-3"))
    assert ana["debtor_ref"] == ana_again["debtor_ref"] != luis["debtor_ref"]
    assert await ingest.opened("banco", ana) == PersonalData(
        full_name="Ana Pérez", id_number="1.020.304.050", id_type="CC", phones=("+573001234567", "+573107654321"),
        email="ana@correo.co", address="Calle 10 # 20-30")
    assert await ingest.opened("banco", ana_again) == PersonalData(
        full_name="Ana Pérez", id_number="1020304050", id_type="CC", phones=("+573001234567",))
    assert await ingest.opened("banco", luis) == PersonalData(
        full_name="Luis Gómez", id_number="79888777", id_type="CE", email="luis@correo.co")
    for payload in placed.values():  # version 2: nothing of the person in clear, only whether they can be reached
        assert not PLAINTEXT & payload.keys(), payload
        assert "Pérez" not in json.dumps(payload) and "1020304050" not in json.dumps(payload).replace(".", "")
    assert (ana["has_phone"], ana["has_email"], ana_again["has_email"]) == (True, True, False)
    assert (luis["has_phone"], luis["has_email"]) == (False, True)
    async with ingest.platform.db.transaction() as s:
        luis_key = await ingest.vault.key_of(s, "banco", uuid.UUID(luis["debtor_ref"]))
    assert luis_key is not None
    with pytest.raises(SealBroken):  # bound to its person: Ana's sealed data does not open as Luis's
        unseal(luis_key, "banco", uuid.UUID(luis["debtor_ref"]), ana["personal"])
    assert await ingest.stored_refs("banco") == {a: uuid.UUID(p["debtor_ref"]) for a, p in placed.items()}
    async with ingest.platform.db.transaction() as s:  # her phones and e-mail find her, through blind indexes
        assert await ingest.vault.find(s, "banco", "phone", "+573107654321") == uuid.UUID(ana["debtor_ref"])
        assert await ingest.vault.find(s, "banco", "email", "LUIS@correo.co") == uuid.UUID(luis["debtor_ref"])


async def test_the_same_id_number_is_the_same_person_across_uploads_not_across_client_companies(ingest: Ingest
                                                                                                 ) -> None:
    await ingest.upload("banco", FIRST)
    first = await ingest.events("banco", "account.placed")
    await ingest.upload("banco", "\n".join([
        HEADER, "A-1;1020304050;CC;Ana Pérez;1.200.000;45;300 123 4567;;ana@nuevo.co;",  # restated
        "A-4;79.888.777;CE;Luis Gómez;50.000;1;;;;",  # Luis's second account, in a later upload
    ]) + "\n")
    updated = (await ingest.events("banco", "account.updated"))["A-1"]
    assert updated["debtor_ref"] == first["A-1"]["debtor_ref"] and updated["previous_balance"] == "1500000.00"
    assert (await ingest.opened("banco", updated)).email == "ana@nuevo.co"  # what this upload said
    assert (await ingest.events("banco", "account.placed"))["A-4"]["debtor_ref"] == first["A-3"]["debtor_ref"]
    stored = await ingest.stored_refs("banco")
    assert stored["A-1"] == stored["A-2"] == uuid.UUID(first["A-1"]["debtor_ref"])
    assert stored["A-4"] == stored["A-3"]
    await ingest.upload("telco", "\n".join([HEADER, "T-1;1020304050;CC;Ana Pérez;80.000;3;;;;"]) + "\n")
    elsewhere = (await ingest.events("telco", "account.placed"))["T-1"]
    assert elsewhere["debtor_ref"] != first["A-1"]["debtor_ref"]  # another client company: another person
    assert (await ingest.opened("telco", elsewhere)).id_number == "1020304050"


async def test_once_the_person_is_shredded_their_sealed_copies_stay_shut(ingest: Ingest) -> None:
    await ingest.upload("banco", FIRST)
    placed = await ingest.events("banco", "account.placed")
    ana = uuid.UUID(placed["A-1"]["debtor_ref"])
    async with ingest.platform.db.transaction() as s:
        assert await ingest.vault.shred(s, "banco", ana, "erasure requested", NOW)
    for payload in (placed["A-1"], placed["A-2"]):
        for vault in (ingest.vault, Vault.from_settings(ingest.platform.settings)):  # the worker's, and a fresh one
            with pytest.raises(SealBroken):
                await ingest.opened("banco", payload, vault)
    assert (await ingest.opened("banco", placed["A-3"])).full_name == "Luis Gómez"  # Luis is untouched
    # Placed again after the erasure, Ana is a new person whose key opens nothing of the erased one's.
    await ingest.upload("banco", "\n".join([HEADER, "A-9;1020304050;CC;Ana Pérez;10.000;2;;;;"]) + "\n")
    again = (await ingest.events("banco", "account.placed"))["A-9"]
    assert uuid.UUID(again["debtor_ref"]) != ana
    async with ingest.platform.db.transaction() as s:
        new_key = await ingest.vault.key_of(s, "banco", uuid.UUID(again["debtor_ref"]))
    assert new_key is not None
    for ref in (ana, uuid.UUID(again["debtor_ref"])):
        with pytest.raises(SealBroken):
            unseal(new_key, "banco", ref, placed["A-1"]["personal"])


@contextmanager
def vault_statements(platform: Platform) -> Iterator[list[str]]:
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "vault." in statement:
            sent.append(statement)

    event.listen(platform.db.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(platform.db.engine.sync_engine, "before_cursor_execute", record)


async def test_a_batch_of_a_thousand_rows_asks_the_vault_a_handful_of_times(ingest: Ingest) -> None:
    rows = [f"B-{n};{5_000_000 + n % 700};CC;Ana;1.000;5;300 {n % 10}00 {n:04};;p{n}@correo.co;" for n in range(1000)]
    with vault_statements(ingest.platform) as sent:
        await ingest.upload("banco", "\n".join([HEADER, *rows]) + "\n")
    # One read of the people, one insert of the new ones, one insert of their phones and e-mails: for the batch.
    assert len(sent) == 3, sent
    placed = await ingest.events("banco", "account.placed")
    assert len(placed) == 1000 and len({p["debtor_ref"] for p in placed.values()}) == 700
