"""The console's portfolio pages (#23) through ingest's real app and PostgreSQL with people signed in: a client
company's person uploads with the page's session (cookie and CSRF token, as the page's script sends it), sees the
upload in the list and its result (counts, the rejection and the warning in their tables, the CSV links); an
operator reaches any company's; another company's person, an agent and SRE do not, and a stranger is sent to sign
in."""

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from ingest import handlers
from ingest.main import build
from ingest.settings import IngestSettings
from recaudo_common.auth import Role
from recaudo_common.people import UserStore
from recaudo_common.personal_data import Vault
from recaudo_common.runtime import Platform, build_app, make_platform
from recaudo_common.sessions import SessionRules, csrf_token
from recaudo_common.testing import settings_for_test
from recaudo_common.testing_pages import text_of

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 31, 15, 0, tzinfo=dt.UTC)
RULES = SessionRules(dt.timedelta(hours=12), dt.timedelta(minutes=30))
CSV = ("Obligación;Cédula;Nombre;Saldo;Días Mora;Celular\n"
       "A-01;101;Ana;1.500.000;15;300 123 4567\n"
       "A-02;102;Luis;no es saldo;5;\n"
       "A-03;103;Eva;2.000;10;123\n").encode()


def client(slug: str) -> dict[str, object]:
    return {"slug": slug, "name": f"{slug.title()} S.A.", "country": "CO", "currency": "COP",
            "timezone": "America/Bogota", "locale": "es-CO", "default_authorised_channels": ["sms"]}


@dataclass
class Console:
    platform: Platform
    http: httpx.AsyncClient

    async def person(self, email: str, role: Role, slug: str | None = None) -> dict[str, str]:
        """The headers of a browser signed in as a new user: its session cookie and the page's CSRF token."""
        user = await UserStore(self.platform.db).create(email=email, role=role, client_slug=slug, password_hash=None,
                                                        totp_secret=None, by="test", now=NOW)
        token = await self.platform.auth.sessions.open(user_id=user.id, by="password", rules=RULES, now=NOW)
        return {"Cookie": f"recaudo_session={token}", "X-CSRF-Token": csrf_token(token)}

    async def page(self, url: str, who: dict[str, str]) -> httpx.Response:
        return await self.http.get(url, headers={"Cookie": who["Cookie"]})


@pytest.fixture
async def console(database_url: str) -> AsyncIterator[Console]:
    platform = make_platform(settings_for_test(database_url), pool_size=3, clock=lambda: NOW)
    app = build_app(platform, [build(platform, IngestSettings(max_upload_bytes=1_000_000))])
    _, key = await platform.keys.create(role="operator", now=NOW)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://test") as http:
        for slug in ("banco", "telco"):
            made = await http.post("/v1/clients", json=client(slug), headers={"Authorization": f"Bearer {key}"})
            assert made.status_code == 201, made.text
        yield Console(platform, http)
    await platform.db.dispose()


async def test_a_client_person_uploads_and_reads_the_result_in_the_console(console: Console) -> None:
    eva = await console.person("eva@banco.co", "client", "banco")
    first = await console.page("/console/portfolios/banco", eva)
    assert first.status_code == 200 and first.headers["content-type"].startswith("text/html")
    assert "script-src" not in first.headers["content-security-policy"]  # default-src 'self': no inline script
    seen = text_of(first.text)
    assert "Carteras de Banco S.A." in seen and "Cargar cartera" in seen and "Todavía no hay cargas" in seen
    assert "Perfiles de mapeo" in seen and "account_ref, debtor_id" in seen  # the fields a profile may name
    assert '<script src="/console/portfolios/portfolios.js"></script>' in first.text
    assert f'<meta name="csrf-token" content="{eva["X-CSRF-Token"]}">' in first.text
    script = await console.http.get("/console/portfolios/portfolios.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("application/javascript")
    assert "X-CSRF-Token" in script.text

    # What the page's script sends: the file, the session's cookie and the page's CSRF token.
    sent = await console.http.post("/v1/clients/banco/portfolios", headers=eva,
                                   files={"file": ("cartera-marzo.csv", CSV, "text/csv")})
    assert sent.status_code == 202, sent.text
    upload_id = sent.json()["id"]
    running = text_of((await console.page(f"/console/portfolios/banco/{upload_id}", eva)).text)
    assert "Estado: En cola" in running and "0 %" in running
    vault = Vault.from_settings(console.platform.settings)
    while await handlers.process_next_portfolio(console.platform.db, clock=lambda: NOW, vault=vault):
        pass

    listed = await console.page("/console/portfolios/banco", eva)
    assert f'href="/console/portfolios/banco/{upload_id}"' in listed.text
    row = text_of(listed.text)
    assert "cartera-marzo.csv 2026-03-31 10:00 Completada 3 2 1 1" in row  # Bogotá's time: UTC-5

    result = await console.page(f"/console/portfolios/banco/{upload_id}", eva)
    assert result.status_code == 200
    seen = text_of(result.text)
    assert "Estado: Completada" in seen
    assert "Filas 3 Aceptadas 2 Rechazadas 1 Con advertencias 1" in seen
    rejections = seen[seen.index("Rechazos"):seen.index("Advertencias")]
    # The detail in Spanish, as the API's English message says it.
    assert "3 balance invalid_balance Saldo no válido El saldo no es un número como se escribe en es-CO" in rejections
    assert "4 phones invalid_phone Teléfono no válido Un teléfono no es válido para el país; se descartó" \
        in seen[seen.index("Advertencias"):]
    assert "not a number" not in seen and "dropped" not in seen
    for kind in ("rejections", "warnings"):
        link = f"/v1/portfolios/{upload_id}/{kind}?format=csv"
        assert f'href="{link}"' in result.text
        download = await console.page(link, eva)
        assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    assert "invalid_balance" in (await console.page(
        f"/v1/portfolios/{upload_id}/rejections?format=csv", eva)).content.decode("utf-8-sig")


async def test_who_may_see_a_companys_portfolios(console: Console) -> None:
    eva = await console.person("eva@banco.co", "client", "banco")
    sent = await console.http.post("/v1/clients/banco/portfolios", headers=eva, files={"file": ("c.csv", CSV)})
    upload_id = sent.json()["id"]

    ana = await console.person("ana@agencia.co", "operator")
    chooser = await console.page("/console/portfolios", ana)
    assert chooser.status_code == 200
    assert 'href="/console/portfolios/banco"' in chooser.text and 'href="/console/portfolios/telco"' in chooser.text
    assert "Estado: En cola" in text_of((await console.page(f"/console/portfolios/banco/{upload_id}", ana)).text)
    sofia = await console.person("sofia@agencia.co", "supervisor")
    assert (await console.page("/console/portfolios/telco", sofia)).status_code == 200
    home = await console.page("/console", ana)
    assert 'href="/console/portfolios"' in home.text and "cargar cartera" in text_of(home.text)

    own = await console.page("/console/portfolios", eva)  # a company's person goes straight to its own
    assert own.status_code == 303 and own.headers["location"] == "/console/portfolios/banco"

    tomas = await console.person("tomas@telco.co", "client", "telco")
    for url in ("/console/portfolios/banco", f"/console/portfolios/banco/{upload_id}",
                f"/console/portfolios/telco/{upload_id}"):  # another company's upload under one's own
        other = await console.page(url, tomas)
        assert other.status_code == 404, url
        assert "c.csv" not in other.text and "Banco S.A." not in other.text  # nothing of the other company
    assert "No hay tal" in text_of((await console.page("/console/portfolios/banco", tomas)).text)

    for email, role in (("luis@agencia.co", "agent"), ("sre@agencia.co", "sre")):
        staff = await console.person(email, role)
        refused = await console.page("/console/portfolios/banco", staff)
        assert refused.status_code == 403
        assert "Su rol no permite ver ni cargar carteras" in text_of(refused.text)
        assert 'href="/console/portfolios"' not in (await console.page("/console", staff)).text  # not offered
    assert 'href="/console/portfolios"' in (await console.page("/console", eva)).text

    stranger = await console.http.get(f"/console/portfolios/banco/{upload_id}")
    assert stranger.status_code == 303 and stranger.headers["location"] == "/console/sign-in"
    assert (await console.http.get("/console/portfolios")).status_code == 303

    no_token = await console.http.post("/v1/clients/banco/portfolios", headers={"Cookie": eva["Cookie"]},
                                       files={"file": ("c.csv", CSV)})
    assert (no_token.status_code, no_token.json()["code"]) == (403, "csrf_token_invalid")


async def test_a_refused_file_is_said_in_spanish_with_what_to_fix(console: Console) -> None:
    # The page a refused upload leads to said only 'La carga no se pudo procesar (código missing_required_columns)':
    # neither what was wrong nor which columns, in words the company's person reads.
    eva = await console.person("eva@banco.co", "client", "banco")
    files = {
        "sin-saldo.csv": ("Obligación;Cédula;Nombre\nA-1;1;Ana\n".encode(),
                          "Al archivo le faltan columnas obligatorias: el saldo; la fecha de vencimiento o los días "
                          "de mora."),
        "dos-saldos.csv": ("Obligación;Cédula;Nombre;Saldo Capital;Saldo Total;Mora\nA-1;1;Ana;1;2;5\n".encode(),
                           "Varias columnas corresponden a un mismo campo: el saldo: «Saldo Capital» y «Saldo Total»."),
        "binario.csv": (b"\x00\x01\x02\x03" * 100, "El archivo no es de texto: envíe CSV, XLSX o JSON lines."),
        "vacio.csv": (b"\n\n", "El archivo no tiene fila de encabezado."),
    }
    for name, (content, said) in files.items():
        sent = await console.http.post("/v1/clients/banco/portfolios", headers=eva, files={"file": (name, content)})
        assert sent.status_code == 422 and sent.json()["instance"], sent.text
        page = await console.page(f"/console/portfolios/banco/{sent.json()['instance'].split('/')[-1]}", eva)
        seen = text_of(page.text)
        assert "Estado: Fallida" in seen and said in seen, (name, seen)
        assert f"(código {sent.json()['code']})" in seen  # the code stays, for the agency's people
        assert sent.json()["detail"] not in seen  # not the API's English
