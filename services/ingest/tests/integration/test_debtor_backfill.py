"""Accounts placed before pseudonyms (#19 step B1, ingest.accounts.debtor_ref NULL) get their debtor's person when
ingest starts: the same id number one person, across client companies another, their phones and e-mail indexed;
run again, it changes nothing (real PostgreSQL, real vault)."""

import datetime as dt
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text

from ingest import handlers
from ingest.main import build
from ingest.privacy.handlers import give_every_account_a_person
from ingest.settings import IngestSettings
from recaudo_common.personal_data import Vault
from recaudo_common.runtime import Platform, build_app, make_platform
from recaudo_common.testing import settings_for_test

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 31, 15, 0, tzinfo=dt.UTC)
CO = {"slug": "banco", "name": "Banco", "country": "CO", "currency": "COP", "timezone": "America/Bogota",
      "locale": "es-CO", "default_authorised_channels": ["sms", "email"]}
HEADER = "Obligación;Cédula;Nombre;Saldo;Días Mora;Telefono1;Correo"


@pytest.fixture
async def platform(database_url: str) -> AsyncIterator[Platform]:
    platform = make_platform(settings_for_test(database_url), pool_size=4, clock=lambda: NOW)
    app = build_app(platform, [build(platform, IngestSettings(max_upload_bytes=2_000_000))])
    _, key = await platform.keys.create(role="operator", now=NOW)
    vault = Vault.from_settings(platform.settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test",
                                 headers={"Authorization": f"Bearer {key}"}) as http:
        for slug, rows in (("banco", ["A-1;1.020.304.050;Ana;1.000;5;300 123 4567;ana@correo.co",
                                      "A-2;1020304050;Ana;2.000;5;;", "A-3;79888777;Luis;3.000;5;;luis@correo.co"]),
                           ("telco", ["T-1;1020304050;Ana;4.000;5;;"])):
            assert (await http.post("/v1/clients", json={**CO, "slug": slug})).status_code == 201
            answer = await http.post(f"/v1/clients/{slug}/portfolios",
                                     files={"file": ("c.csv", "\n".join([HEADER, *rows]).encode())})
            assert answer.status_code == 202, answer.text
            while await handlers.process_next_portfolio(platform.db, clock=lambda: NOW, vault=vault):
                pass
    # As before step B1: no account has a debtor_ref and the vault has never seen anyone.
    async with platform.db.transaction() as s:
        await s.execute(text("UPDATE ingest.accounts SET debtor_ref = NULL"))
        await s.execute(text("DELETE FROM vault.lookups"))
        await s.execute(text("DELETE FROM vault.people"))
        # An id number nothing can find a person by (refused since; accepted once): it keeps none.
        await s.execute(text(
            "INSERT INTO ingest.accounts (client_slug, account_ref, debtor_id, balance, days_past_due, as_of, stated,"
            " placed_portfolio_id, last_portfolio_id, placed_at, updated_at) SELECT client_slug, 'A-0', '---',"
            " balance, days_past_due, as_of, stated, placed_portfolio_id, last_portfolio_id, placed_at, updated_at"
            " FROM ingest.accounts WHERE account_ref = 'A-1'"))
    yield platform
    await platform.db.dispose()


async def refs(platform: Platform) -> dict[tuple[str, str], uuid.UUID | None]:
    async with platform.db.transaction() as s:
        rows = (await s.execute(text("SELECT client_slug, account_ref, debtor_ref FROM ingest.accounts"))).all()
    return {(r.client_slug, r.account_ref): r.debtor_ref for r in rows}


async def test_accounts_placed_before_pseudonyms_get_their_debtors_once(platform: Platform) -> None:
    vault = Vault.from_settings(platform.settings)
    assert await give_every_account_a_person(platform.db, vault, clock=lambda: NOW, batch=2) == 4  # two per batch
    given = await refs(platform)
    assert given[("banco", "A-1")] == given[("banco", "A-2")] is not None  # one person, spelled two ways
    assert given[("banco", "A-3")] not in (None, given[("banco", "A-1")])
    assert given[("telco", "T-1")] not in (None, given[("banco", "A-1")])  # another client company: another person
    assert given[("banco", "A-0")] is None
    async with platform.db.transaction() as s:
        assert await vault.find(s, "banco", "id_number", "1020304050") == given[("banco", "A-1")]
        assert await vault.find(s, "banco", "phone", "+573001234567") == given[("banco", "A-1")]
        assert await vault.find(s, "banco", "email", "luis@correo.co") == given[("banco", "A-3")]
    # Run again (every start of ingest runs it): nothing changes.
    assert await give_every_account_a_person(platform.db, vault, clock=lambda: NOW, batch=2) == 0
    assert await refs(platform) == given


async def test_a_restatement_after_the_backfill_keeps_the_person(platform: Platform) -> None:
    vault = Vault.from_settings(platform.settings)
    await give_every_account_a_person(platform.db, vault, clock=lambda: NOW)
    before = await refs(platform)
    async with platform.db.transaction() as s:
        person = await vault.person_for(s, "banco", "1.020.304.050", NOW)  # what the next upload would find
    assert person.debtor_ref == before[("banco", "A-1")]
