"""The console's account pages (#23) through ingest's real app and PostgreSQL with people signed in: 'Buscar
cuenta' finds an account by its id number typed with dots and shows it in the client company's locale; the
account's page carries its facts, its script and the actions its role may take; another company's person, an
agent and a stranger do not get in, and an account the company never placed is not found. A balance is written in
its company's currency: a Chilean company's without cents, a Peruvian one's in soles (S/)."""

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
from recaudo_common.sessions import SessionRules
from recaudo_common.testing import settings_for_test
from recaudo_common.testing_pages import text_of

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 31, 15, 0, tzinfo=dt.UTC)
RULES = SessionRules(dt.timedelta(hours=12), dt.timedelta(minutes=30))
CSV = ("Obligación;Cédula;Tipo Documento;Nombre;Saldo;Días Mora\n"
       "A-01;1.020.304.050;CC;María Gómez;1.500.000;15\n"
       "A-02;79888777;CC;Luis Peña;20.000,50;95\n").encode()


@dataclass
class Console:
    platform: Platform
    http: httpx.AsyncClient

    async def person(self, email: str, role: Role, slug: str | None = None) -> str:
        """The session cookie of a browser signed in as a new user."""
        user = await UserStore(self.platform.db).create(email=email, role=role, client_slug=slug, password_hash=None,
                                                        totp_secret=None, by="test", now=NOW)
        token = await self.platform.auth.sessions.open(user_id=user.id, by="password", rules=RULES, now=NOW)
        return f"recaudo_session={token}"

    async def page(self, url: str, cookie: str | None) -> httpx.Response:
        return await self.http.get(url, headers={"Cookie": cookie} if cookie else {})


@pytest.fixture
async def console(database_url: str) -> AsyncIterator[Console]:
    platform = make_platform(settings_for_test(database_url), pool_size=3, clock=lambda: NOW)
    app = build_app(platform, [build(platform, IngestSettings(max_upload_bytes=1_000_000))])
    _, key = await platform.keys.create(role="operator", now=NOW)
    operator = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://test") as http:
        for slug in ("banco", "telco"):
            made = await http.post("/v1/clients", headers=operator, json={
                "slug": slug, "name": f"{slug.title()} S.A.", "country": "CO", "currency": "COP",
                "timezone": "America/Bogota", "locale": "es-CO", "default_authorised_channels": ["sms"]})
            assert made.status_code == 201, made.text
        sent = await http.post("/v1/clients/banco/portfolios", headers=operator, files={"file": ("c.csv", CSV)})
        assert sent.status_code == 202, sent.text
        vault = Vault.from_settings(platform.settings)
        while await handlers.process_next_portfolio(platform.db, clock=lambda: NOW, vault=vault):
            pass
        yield Console(platform, http)
    await platform.db.dispose()


async def test_an_account_is_found_and_opened(console: Console) -> None:
    ana = await console.person("ana@agencia.co", "operator")
    empty = await console.page("/console/accounts/banco", ana)
    assert empty.status_code == 200 and "Buscar cuenta" in text_of(empty.text)
    assert "script-src" not in empty.headers["content-security-policy"]
    found = await console.page("/console/accounts/banco?q=1.020.304.050", ana)
    seen = text_of(found.text)
    assert "A-01 María Gómez CC 1.020.304.050 Activa $1.500.000,00 15 2026-03-31 10:00" in seen  # as stated
    assert "A-02" not in seen and 'href="/console/accounts/banco/A-01"' in found.text
    assert "A-02 Luis Peña CC 79888777 Activa $20.000,50 95" in text_of(
        (await console.page("/console/accounts/banco?q=pena%20LUIS", ana)).text)
    assert "Ninguna cuenta coincide con «rosa»." in text_of((await console.page("/console/accounts/banco?q=rosa",
                                                                                ana)).text)

    account = await console.page("/console/accounts/banco/A-01", ana)
    assert account.status_code == 200
    seen = text_of(account.text)
    assert "Cuenta A-01" in seen and "Saldo asignado $1.500.000,00" in seen and "Historia de la cuenta" in seen
    assert "Días de mora al asignar 15" in seen and "Saldo hoy" in seen  # today's, filled by the page's script
    for action in ("Poner retención legal", "Registrar contacto", "Agregar a no contactar"):
        assert action in seen
    assert '<script src="/console/accounts/accounts.js"></script>' in account.text
    script = await console.http.get("/console/accounts/accounts.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("application/javascript")
    assert "X-CSRF-Token" in script.text
    missing = await console.page("/console/accounts/banco/NO-EXISTE", ana)
    assert missing.status_code == 404 and "No hay tal cuenta" in text_of(missing.text)
    home = await console.page("/console", ana)
    assert 'href="/console/accounts"' in home.text


async def test_who_may_see_a_companys_accounts(console: Console) -> None:
    eva = await console.person("eva@banco.co", "client", "banco")
    own = await console.page("/console/accounts", eva)
    assert own.status_code == 303 and own.headers["location"] == "/console/accounts/banco"
    page = await console.page("/console/accounts/banco/A-01", eva)
    seen = text_of(page.text)
    assert page.status_code == 200 and "Agregar a no contactar" in seen
    assert "Poner retención legal" not in seen and "Registrar contacto" not in seen  # the agency's operators'

    tomas = await console.person("tomas@telco.co", "client", "telco")
    for url in ("/console/accounts/banco?q=1020304050", "/console/accounts/banco/A-01"):
        other = await console.page(url, tomas)
        assert other.status_code == 404 and "María" not in other.text and "A-01" not in other.text
    assert "A-01" not in (await console.page("/console/accounts/telco?q=1020304050", tomas)).text

    ana = await console.person("ana@agencia.co", "operator")
    chooser = await console.page("/console/accounts", ana)
    assert 'href="/console/accounts/banco"' in chooser.text and 'href="/console/accounts/telco"' in chooser.text
    agent = await console.person("pablo@agencia.co", "agent")
    refused = await console.page("/console/accounts/banco", agent)
    assert refused.status_code == 403 and "Su rol no permite ver las cuentas" in text_of(refused.text)
    stranger = await console.page("/console/accounts/banco?q=1020304050", None)
    assert stranger.status_code == 303 and stranger.headers["location"] == "/console/sign-in"


async def placed(console: Console, slug: str, country: str, currency: str, timezone: str, locale: str,
                 csv: str) -> None:
    """A client company of another country, with the accounts of `csv` placed."""
    _, key = await console.platform.keys.create(role="operator", now=NOW)
    operator = {"Authorization": f"Bearer {key}"}
    made = await console.http.post("/v1/clients", headers=operator, json={
        "slug": slug, "name": f"{slug.title()} S.A.", "country": country, "currency": currency,
        "timezone": timezone, "locale": locale, "default_authorised_channels": ["sms"]})
    assert made.status_code == 201, made.text
    sent = await console.http.post(f"/v1/clients/{slug}/portfolios", headers=operator,
                                   files={"file": ("c.csv", csv.encode())})
    assert sent.status_code == 202, sent.text
    vault = Vault.from_settings(console.platform.settings)
    while await handlers.process_next_portfolio(console.platform.db, clock=lambda: NOW, vault=vault):
        pass


async def test_a_balance_is_shown_in_its_companys_currency(console: Console) -> None:
    header = "Obligación;Cédula;Tipo Documento;Nombre;Saldo;Días Mora\n"
    await placed(console, "tienda-cl", "CL", "CLP", "America/Santiago", "es-CL",
                 header + "C-01;11222333;RUT;Pedro Soto;1.500.000;30\n")
    await placed(console, "caja-pe", "PE", "PEN", "America/Lima", "es-PE",
                 header + "P-01;44556677;DNI;Rosa Quispe;2,500.50;20\n")
    ana = await console.person("ana@agencia.co", "operator")
    chilean = text_of((await console.page("/console/accounts/tienda-cl?q=pedro", ana)).text)
    assert "C-01 Pedro Soto RUT 11222333 Activa $1.500.000 30" in chilean, chilean  # pesos have no cents
    assert "1.500.000,00" not in chilean
    peruvian = text_of((await console.page("/console/accounts/caja-pe?q=rosa", ana)).text)
    assert "P-01 Rosa Quispe DNI 44556677 Activa S/ 2,500.50 20" in peruvian, peruvian
    assert "Saldo asignado S/ 2,500.50" in text_of((await console.page("/console/accounts/caja-pe/P-01", ana)).text)
