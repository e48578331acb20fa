"""A client company's uploads as a list (#23): newest first, each item as `GET /v1/portfolios/{id}` answers it,
paged by cursor with a `next` link, and only the caller's own client company's."""

import datetime as dt
import itertools
from collections.abc import AsyncIterator

import httpx
import pytest

from ingest.main import build
from ingest.settings import IngestSettings
from recaudo_common.runtime import build_app, make_platform
from recaudo_common.testing import settings_for_test
from recaudo_common.testing_pages import assert_invalid_cursors_refused, walk_pages

pytestmark = pytest.mark.integration
START = dt.datetime(2026, 3, 31, 15, 0, tzinfo=dt.UTC)
CSV = b"Cuenta;Cedula;Nombre;Saldo;Mora\nD-1;1;Ana;1.000;5\n"


def client(slug: str) -> dict[str, object]:
    return {"slug": slug, "name": slug.title(), "country": "CO", "currency": "COP", "timezone": "America/Bogota",
            "locale": "es-CO", "default_authorised_channels": ["sms"]}


@pytest.fixture
async def api(database_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient, httpx.AsyncClient]]:
    ticks = itertools.count()
    platform = make_platform(settings_for_test(database_url), pool_size=2,
                             clock=lambda: START + dt.timedelta(seconds=next(ticks)))  # each upload a moment later
    app = build_app(platform, [build(platform, IngestSettings(upload_burst=50))])
    _, operator = await platform.keys.create(role="operator", now=START)
    _, banco = await platform.keys.create(role="client", client_slug="banco", now=START)
    _, telco = await platform.keys.create(role="client", client_slug="telco", now=START)

    def http(key: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test",
                                 headers={"Authorization": f"Bearer {key}"})

    async with http(operator) as op, http(banco) as b, http(telco) as t:
        for slug in ("banco", "telco"):
            assert (await op.post("/v1/clients", json=client(slug))).status_code == 201
        yield op, b, t
    await platform.db.dispose()


async def upload(http: httpx.AsyncClient, slug: str, n: int) -> str:
    answer = await http.post(f"/v1/clients/{slug}/portfolios",
                             files={"file": (f"c{n}.csv", CSV + f"X-{n};2;Eva;5;1\n".encode())})
    assert answer.status_code == 202, answer.text
    return str(answer.json()["id"])


async def test_a_client_company_lists_its_uploads_newest_first_page_by_page(
        api: tuple[httpx.AsyncClient, httpx.AsyncClient, httpx.AsyncClient]) -> None:
    _, banco, telco = api
    mine = [await upload(banco, "banco", n) for n in range(5)]
    theirs = await upload(telco, "telco", 9)

    seen: list[dict[str, object]] = []
    url: str | None = "/v1/clients/banco/portfolios?limit=2"
    pages = 0
    while url:
        answer = await banco.get(url)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        seen += body["items"]
        url = body["next"]
        pages += 1
        if url:
            assert answer.headers["Link"] == f'<{url}>; rel="next"'
            assert url.startswith("/v1/clients/banco/portfolios?") and "limit=2" in url
        else:
            assert "Link" not in answer.headers
    assert pages == 3 and [p["id"] for p in seen] == mine[::-1]  # newest first, none twice, none missed
    assert theirs not in [p["id"] for p in seen]
    for item in seen:  # each item is what the portfolio's own URL answers, its client the slug
        assert item == (await banco.get(f"/v1/portfolios/{item['id']}")).json() and item["client"] == "banco"


async def test_another_client_companys_list_and_a_cursor_this_list_never_gave_are_refused(
        api: tuple[httpx.AsyncClient, httpx.AsyncClient, httpx.AsyncClient]) -> None:
    operator, banco, _ = api
    await upload(banco, "banco", 0)
    assert (await banco.get("/v1/clients/telco/portfolios")).status_code in (403, 404)
    assert (await operator.get("/v1/clients/banco/portfolios")).json()["items"][0]["client"] == "banco"
    for cursor in ("not-base64!", "WyJ4Il0", "WyJ4IiwieSJd", "WzEsMl0", "A" * 600):
        refused = await banco.get("/v1/clients/banco/portfolios", params={"cursor": cursor})
        assert refused.status_code == 422, (cursor, refused.text)
        assert refused.json()["code"] in ("invalid_cursor", "validation_error"), refused.json()
    for limit in ("0", "501", "x"):
        assert (await banco.get("/v1/clients/banco/portfolios", params={"limit": limit})).status_code == 422


async def test_the_client_companies_are_read_page_by_page_by_slug(
        api: tuple[httpx.AsyncClient, httpx.AsyncClient, httpx.AsyncClient]) -> None:
    operator, banco, _ = api
    for slug in ("caja", "zeta", "andina", "mutual", "fondo"):
        assert (await operator.post("/v1/clients", json=client(slug))).status_code == 201
    items, pages = await walk_pages(operator, "/v1/clients", limit=2)
    assert pages == 4 and [c["slug"] for c in items] == [
        "andina", "banco", "caja", "fondo", "mutual", "telco", "zeta"]  # by slug, none twice, none missed
    assert items == (await operator.get("/v1/clients")).json()["items"]
    own, _ = await walk_pages(banco, "/v1/clients", limit=1)
    assert [c["slug"] for c in own] == ["banco"]  # a client company's key pages through its own only
    await assert_invalid_cursors_refused(operator, "/v1/clients", (1,), (None,))
