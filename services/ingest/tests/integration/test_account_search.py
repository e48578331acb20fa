"""Finding an account (#23): by reference, by id number as typed, by phone national or international, by name in
any order without accents or case; a page at a time; only the caller's own client company's accounts; and the
client company's mapping profiles listed by name."""

import datetime as dt
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text

from ingest import handlers
from ingest.account_search import store
from ingest.account_search.domain import read_query
from ingest.main import build
from ingest.settings import IngestSettings
from recaudo_common.personal_data import Vault
from recaudo_common.runtime import build_app, make_platform
from recaudo_common.testing import settings_for_test
from recaudo_common.testing_pages import cursor_of, walk_pages

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 31, 15, 0, tzinfo=dt.UTC)
CO = {"slug": "banco", "name": "Banco", "country": "CO", "currency": "COP", "timezone": "America/Bogota",
      "locale": "es-CO", "default_authorised_channels": ["sms", "email"]}
HEADER = "Obligación;Cédula;Tipo Documento;Nombre;Saldo;Días Mora;Telefono1"
BANCO = "\n".join([
    HEADER,
    "A-1;1.020.304.050;CC;María José Gómez Peña;1.500.000;15;300 123 4567",
    "A-2;1020304050;CC;María José Gómez Peña;2.000.000;40;",
    "L-1;79888777;CC;LUIS GÓMEZ;900.000;5;310 765 4321",
    "M-1;52111222;CC;Marisol Rueda;120.000;95;",
]) + "\n"
TELCO = HEADER + "\nT-1;1020304050;CC;María José Gómez Peña;50.000;3;300 123 4567\n"


@pytest.fixture
async def api(database_url: str) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    platform = make_platform(settings_for_test(database_url), pool_size=4, clock=lambda: NOW)
    app = build_app(platform, [build(platform, IngestSettings(max_upload_bytes=2_000_000))])
    vault = Vault.from_settings(platform.settings)
    keys = {"operator": (await platform.keys.create(role="operator", now=NOW))[1],
            "banco": (await platform.keys.create(role="client", client_slug="banco", now=NOW))[1],
            "telco": (await platform.keys.create(role="client", client_slug="telco", now=NOW))[1]}
    https = {who: httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test",
                                    headers={"Authorization": f"Bearer {key}"}) for who, key in keys.items()}
    op = https["operator"]
    for client, content in ((CO, BANCO), ({**CO, "slug": "telco", "name": "Telco"}, TELCO)):
        assert (await op.post("/v1/clients", json=client)).status_code == 201
        sent = await op.post(f"/v1/clients/{client['slug']}/portfolios", files={"file": ("c.csv", content.encode())})
        assert sent.status_code == 202, sent.text
    while await handlers.process_next_portfolio(platform.db, clock=lambda: NOW, vault=vault):
        pass
    yield https
    for http in https.values():
        await http.aclose()
    await platform.db.dispose()


async def found(http: httpx.AsyncClient, q: str, slug: str = "banco") -> list[str]:
    answer = await http.get(f"/v1/clients/{slug}/accounts", params={"q": q})
    assert answer.status_code == 200, answer.text
    return [item["account_ref"] for item in answer.json()["items"]]


@pytest.mark.parametrize(("q", "refs"), [
    ("1.020.304.050", ["A-1", "A-2"]), ("1020304050", ["A-1", "A-2"]), (" 1 020 304 050 ", ["A-1", "A-2"]),
    ("3001234567", ["A-1"]), ("+57 300 123 4567", ["A-1"]), ("(310) 765-4321", ["L-1"]),
    ("gomez maria", ["A-1", "A-2"]), ("GÓMEZ", ["A-1", "A-2", "L-1"]), ("peña maría josé", ["A-1", "A-2"]),
    ("mari", ["A-1", "A-2", "M-1"]), ("a-1", ["A-1"]), ("L-", ["L-1"]), ("rosa", []), ("7988", []), ("   ", []),
    ("'; DROP TABLE ingest.accounts; --", []), ("%", []), ("_", []), ("\\", []), ("A-1\x00", ["A-1"]),
])
async def test_an_account_is_found_by_reference_id_number_phone_or_name(api: dict[str, httpx.AsyncClient], q: str,
                                                                        refs: list[str]) -> None:
    assert await found(api["banco"], q) == refs
    assert await found(api["operator"], q) == refs


async def test_an_item_says_who_owes_what(api: dict[str, httpx.AsyncClient]) -> None:
    answer = await api["banco"].get("/v1/clients/banco/accounts", params={"q": "L-1"})
    assert answer.json()["items"] == [{
        "account_ref": "L-1", "debtor_name": "LUIS GÓMEZ", "id_number": "79888777", "id_type": "CC",
        "status": "active", "balance": "900000.00", "days_past_due": 5, "placed_at": "2026-03-31T15:00:00Z"}]


async def test_a_client_company_finds_only_its_own_accounts(api: dict[str, httpx.AsyncClient]) -> None:
    assert await found(api["telco"], "1.020.304.050", "telco") == ["T-1"]
    assert await found(api["telco"], "maria gomez", "telco") == ["T-1"]
    for q in ("A-1", "1020304050", "3001234567"):
        refused = await api["telco"].get("/v1/clients/banco/accounts", params={"q": q})
        assert refused.status_code in (403, 404), refused.text
        assert "A-1" not in refused.text


async def test_pages_and_bounds(api: dict[str, httpx.AsyncClient]) -> None:
    items, pages = await walk_pages(api["banco"], "/v1/clients/banco/accounts?q=gomez", limit=1)
    assert [i["account_ref"] for i in items] == ["A-1", "A-2", "L-1"] and pages == 3
    for cursor in ("not-base64!", cursor_of(1), cursor_of("A", "B")):
        refused = await api["banco"].get("/v1/clients/banco/accounts", params={"q": "gomez", "cursor": cursor})
        assert refused.status_code == 422 and refused.json()["code"] == "invalid_cursor", refused.text
    bad: list[dict[str, str | int]] = [{"q": "x" * 101}, {"q": ""}, {}, {"q": "a", "limit": 101}, {"q": "a", "limit": 0}]
    for params in bad:
        refused = await api["banco"].get("/v1/clients/banco/accounts", params=params)
        assert refused.status_code == 422, (params, refused.text)


async def test_mapping_profiles_are_listed_by_name(api: dict[str, httpx.AsyncClient]) -> None:
    for name in ("mensual", "anual", "semanal"):
        saved = await api["banco"].put(f"/v1/clients/banco/mappings/{name}", json={"mapping": {"debtor_id": "Cc"}})
        assert saved.status_code == 200, saved.text
    items, pages = await walk_pages(api["banco"], "/v1/clients/banco/mappings", limit=2)
    assert [i["name"] for i in items] == ["anual", "mensual", "semanal"] and pages == 2
    assert items[0]["mapping"] == {"debtor_id": "Cc"}
    assert (await api["telco"].get("/v1/clients/telco/mappings")).json() == {"items": [], "next": None}
    assert (await api["telco"].get("/v1/clients/banco/mappings")).status_code in (403, 404)


@pytest.mark.parametrize(("q", "indexes"), [
    ("1.020.304.050", {"accounts_by_ref_prefix", "accounts_by_id_number", "accounts_by_phone"}),
    ("+57 300 123 4567", {"accounts_by_ref_prefix", "accounts_by_id_number", "accounts_by_phone"}),
    ("cr-2024", {"accounts_by_ref_prefix", "accounts_by_id_number"}), ("A-1", {"accounts_by_ref_prefix"}),
])
async def test_a_search_by_reference_id_number_or_phone_reads_indexes_not_every_account(
        api: dict[str, httpx.AsyncClient], database_url: str, q: str, indexes: set[str]) -> None:
    """With many accounts (twenty thousand more of the client company's, analysed), each condition is read from
    its index and none by reading the company's every account."""
    platform = make_platform(settings_for_test(database_url), pool_size=1, clock=lambda: NOW)
    async with platform.db.transaction() as s:
        await s.execute(text(
            "INSERT INTO ingest.accounts (client_slug, account_ref, debtor_id, balance, days_past_due, as_of, stated,"
            " placed_portfolio_id, last_portfolio_id, placed_at, updated_at)"
            " SELECT 'banco', 'Z-' || g, (50000000 + g)::text, 1000, 30, DATE '2026-03-31',"
            " jsonb_build_object('full_name', 'Persona ' || g, 'phones', jsonb_build_array('+57320' || lpad(g::text, 7,"
            " '0'))), gen_random_uuid(), gen_random_uuid(), :now, :now FROM generate_series(1, 20000) g"),
            {"now": NOW})
        await s.execute(text("ANALYZE ingest.accounts"))
    statement, params = store.search_sql("banco", read_query(q, country="CO"), after=None, limit=21)
    async with platform.db.transaction() as s:
        plan = "\n".join((await s.execute(text(f"EXPLAIN {statement}"), params)).scalars().all())
    await platform.db.dispose()
    used = set(re.findall(r"Index Scan (?:on|using) (\w+)", plan))
    assert used == indexes and "Seq Scan" not in plan and "accounts_pkey" not in plan, plan
