"""Accounts placed before pseudonyms (#19 step B1, ingest.accounts.debtor_ref NULL) get their debtor's person when
ingest starts: the same id number one person, across client companies another, their phones and e-mail indexed;
run again, it changes nothing. Then each is announced downstream once (account.pseudonymised, its debtor's data
sealed with their key), in batches that commit with their events: resumed after a crash or run again, no account
is announced twice, and one restated since (a version 2 event) not at all (real PostgreSQL, real vault)."""

import datetime as dt
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text

from ingest import handlers
from ingest.main import build
from ingest.privacy.handlers import announce_pseudonyms, give_every_account_a_person
from ingest.settings import IngestSettings
from recaudo_common.events import AccountPseudonymised, Envelope, decode
from recaudo_common.personal_data import Vault, personal_of
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
        await s.execute(text("UPDATE ingest.accounts SET debtor_ref = NULL, pseudonym_announced_at = NULL"))
        await s.execute(text("DELETE FROM ingest.outbox"))  # their events were version 1, in clear
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


async def announcements(platform: Platform) -> list[Envelope]:
    async with platform.db.transaction() as s:
        rows = (await s.execute(text("SELECT envelope FROM ingest.outbox ORDER BY id"))).scalars().all()
    return [Envelope.model_validate(r) for r in rows]


async def test_every_account_placed_before_pseudonyms_is_announced_once_with_its_debtor_sealed(
        platform: Platform) -> None:
    vault = Vault.from_settings(platform.settings)
    await give_every_account_a_person(platform.db, vault, clock=lambda: NOW)
    assert await announce_pseudonyms(platform.db, vault, clock=lambda: NOW, batch=2) == 4
    given = await refs(platform)
    sent = await announcements(platform)
    assert [(e.type, e.client, e.key) for e in sent] == [
        ("account.pseudonymised", "banco", "banco/A-1"), ("account.pseudonymised", "banco", "banco/A-2"),
        ("account.pseudonymised", "banco", "banco/A-3"), ("account.pseudonymised", "telco", "telco/T-1")]
    events = [decode(e) for e in sent]
    assert all(isinstance(e, AccountPseudonymised) for e in events)
    async with platform.db.transaction() as s:
        opened = {}
        for envelope, event in zip(sent, events, strict=True):
            assert isinstance(event, AccountPseudonymised)
            assert event.debtor_ref == given[(envelope.client, event.account_ref)]
            opened[event.account_ref] = (await personal_of(vault, s, envelope.client, event), event.has_phone,
                                         event.has_email)
    ana, has_phone, has_email = opened["A-1"]
    assert ana is not None and (ana.full_name, ana.phones, ana.email) == ("Ana", ("+573001234567",), "ana@correo.co")
    assert ana.id_number.replace(".", "") == "1020304050" and (has_phone, has_email) == (True, True)
    assert opened["A-2"][1:] == (False, False) and opened["T-1"][0] is not None
    # Nothing of the person travels in clear: only the pseudonym and the sealed copy.
    assert not any(word in e.model_dump_json() for e in sent for word in ("Ana", "1020304050", "3001234567", "correo"))
    # Every start runs it: nothing is announced twice, and the account with no person never is.
    assert await announce_pseudonyms(platform.db, vault, clock=lambda: NOW, batch=2) == 0
    assert len(await announcements(platform)) == 4


async def test_announcing_resumes_after_a_crash_without_announcing_anything_twice(platform: Platform) -> None:
    vault = Vault.from_settings(platform.settings)
    await give_every_account_a_person(platform.db, vault, clock=lambda: NOW)
    calls = 0

    def dies_in_the_second_batch() -> dt.datetime:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("the process died")
        return NOW

    with pytest.raises(RuntimeError):
        await announce_pseudonyms(platform.db, vault, clock=dies_in_the_second_batch, batch=2)
    assert [e.key for e in await announcements(platform)] == ["banco/A-1", "banco/A-2"]  # the first batch committed
    assert await announce_pseudonyms(platform.db, vault, clock=lambda: NOW, batch=2) == 2
    assert [e.key for e in await announcements(platform)] == ["banco/A-1", "banco/A-2", "banco/A-3", "telco/T-1"]


async def test_an_account_restated_since_is_announced_by_its_own_event_not_again(platform: Platform) -> None:
    vault = Vault.from_settings(platform.settings)
    app = build_app(platform, [build(platform, IngestSettings(max_upload_bytes=2_000_000))])
    _, key = await platform.keys.create(role="operator", now=NOW)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test",
                                 headers={"Authorization": f"Bearer {key}"}) as http:
        answer = await http.post("/v1/clients/banco/portfolios", files={"file": (
            "c.csv", f"{HEADER}\nA-3;79888777;Luis;3.500;6;;luis@correo.co".encode())})
        assert answer.status_code == 202, answer.text
        while await handlers.process_next_portfolio(platform.db, clock=lambda: NOW, vault=vault):
            pass
    assert [(e.type, e.version, e.key) for e in await announcements(platform)] == [
        ("account.updated", 2, "banco/A-3")]
    await give_every_account_a_person(platform.db, vault, clock=lambda: NOW)
    assert await announce_pseudonyms(platform.db, vault, clock=lambda: NOW) == 3
    assert [e.key for e in await announcements(platform) if e.type == "account.pseudonymised"] == [
        "banco/A-1", "banco/A-2", "telco/T-1"]
