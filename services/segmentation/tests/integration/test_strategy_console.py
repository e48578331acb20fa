"""The console's strategy versions page (#22, #23), through segmentation's real app and PostgreSQL with a person
signed in: the versions newest first with what changed from the one before (a cell's treatment, the tiers, the
challenger), the restore an operator makes from it (a new version, the same as the restored one), and what another
role or another client company's person gets."""

import datetime as dt
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from recaudo_common.people import UserStore
from recaudo_common.runtime import Platform, build_app, make_platform
from recaudo_common.sessions import csrf_token
from recaudo_common.testing import settings_for_test
from segmentation.main import build

from .test_aging import CLIENT, deliver
from .test_strategy import every_cell
from .test_strategy_by_a_person import RULES, signed_in

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 31, 15, 0, tzinfo=dt.UTC)
SMS = {"tiers": {"high": "100000", "medium": "10000"}, "rules": every_cell("sms_only", ["sms"])}


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


@pytest.fixture
async def console(database_url: str) -> AsyncIterator[tuple[Platform, httpx.AsyncClient]]:
    platform = make_platform(settings_for_test(database_url), pool_size=3, clock=lambda: NOW)
    await deliver(platform, [CLIENT], NOW)
    app = build_app(platform, [build(platform)])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://test") as http:
        yield platform, http
    await platform.db.dispose()


async def test_an_operator_sees_what_each_version_changed_and_restores_one(
        console: tuple[Platform, httpx.AsyncClient]) -> None:
    platform, http = console
    ana = await signed_in(platform, "ana@agencia.co", "operator")
    whatsapp = {**SMS, "rules": [r if (r["bucket"], r["tier"]) != ("31-60", "high") else
                                 {**r, "treatment": "whatsapp_first", "channels": ["whatsapp", "sms"]}
                                 for r in SMS["rules"]]}
    with_challenger = {**whatsapp, "tiers": {"high": "150000", "medium": "10000"},
                       "challenger": {"share": "0.2", "tiers": {"high": "150000", "medium": "10000"},
                                      "rules": every_cell("agent_first", ["agent"])}}
    for body in (SMS, whatsapp, with_challenger):
        assert (await http.put("/v1/clients/banco/strategy", headers=ana, json=body)).status_code == 200

    page = await http.get("/console/strategy/banco", headers={"Cookie": ana["Cookie"]})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    seen = text_of(page.text)
    assert seen.index("Versión 3 (vigente)") < seen.index("Versión 2") < seen.index("Versión 1")
    v2 = seen[seen.index("Versión 2"):seen.index("Versión 1")]
    assert "ana@agencia.co · editada" in v2
    assert "Campeón · 31-60 días · valor alto" in v2 and "whatsapp_first: whatsapp, sms" in v2
    assert v2.count("Campeón ·") == 1  # only the cell that changed
    v3 = seen[seen.index("Versión 3"):seen.index("Versión 2")]
    assert "umbral de valor alto 100000 150000" in v3 and "Retador — 20 % de las cuentas" in v3
    assert "Restaurar la versión 3" not in seen and "Restaurar la versión 1" in seen

    token = ana["Cookie"].removeprefix("recaudo_session=")
    done = await http.post("/console/strategy/banco/versions/1/restore",
                           headers={"Cookie": ana["Cookie"]}, data={"csrf_token": csrf_token(token)})
    assert done.status_code == 303 and done.headers["location"].endswith("?restored=1&as=4")
    after = text_of((await http.get(done.headers["location"], headers={"Cookie": ana["Cookie"]})).text)
    assert "Versión 1 restaurada como versión 4" in after and "Versión 4 (vigente)" in after
    assert "restaurada (de la versión 1)" in after
    current = (await http.get("/v1/clients/banco/strategy", headers=ana)).json()
    assert current["version"] == 4 and current["rules"] == (await http.get(
        "/v1/clients/banco/strategy/versions/1", headers=ana)).json()["rules"]


async def test_only_an_operator_with_the_pages_token_restores_and_only_its_own_client_companys(
        console: tuple[Platform, httpx.AsyncClient]) -> None:
    platform, http = console
    ana = await signed_in(platform, "ana@agencia.co", "operator")
    for _ in range(2):
        assert (await http.put("/v1/clients/banco/strategy", headers=ana, json=SMS)).status_code == 200
    cliente = await UserStore(platform.db).create(email="eva@banco.co", role="client", client_slug="banco",
                                                  password_hash=None, totp_secret=None, by="test", now=NOW)
    eva_token = await platform.auth.sessions.open(user_id=cliente.id, by="password", rules=RULES, now=NOW)
    eva = {"Cookie": f"recaudo_session={eva_token}"}
    seen = text_of((await http.get("/console/strategy/banco", headers=eva)).text)
    assert "Versión 2 (vigente)" in seen and "Restaurar" not in seen  # a client user reads, never restores
    assert "Solo lectura: su rol no permite cambiar la estrategia." in seen and "Guardar" not in seen
    refused = await http.post("/console/strategy/banco/versions/1/restore", headers=eva,
                              data={"csrf_token": csrf_token(eva_token)})
    assert refused.status_code == 303 and refused.headers["location"].endswith("?refused=true")
    forged = await http.post("/console/strategy/banco/versions/1/restore",
                             headers={"Cookie": ana["Cookie"]}, data={"csrf_token": "x" * 64})
    assert forged.headers["location"].endswith("?refused=true")
    assert (await http.get("/v1/clients/banco/strategy", headers=ana)).json()["version"] == 2  # nothing restored
    assert (await http.get("/console/strategy/otro", headers=eva)).status_code == 404
    own = await http.get("/console/strategy", headers=eva)  # the first page's link: straight to its own
    assert own.status_code == 303 and own.headers["location"] == "/console/strategy/banco"
    chooser = await http.get("/console/strategy", headers={"Cookie": ana["Cookie"]})
    assert chooser.status_code == 200 and '<a href="/console/strategy/banco">Banco</a>' in chooser.text
    later = await http.get("/console/strategy?after=banco", headers={"Cookie": ana["Cookie"]})
    assert "No hay empresas cliente que pueda ver." in later.text  # none after the last slug
    luis = await signed_in(platform, "luis@agencia.co", "agent")  # the API lets no agent read a strategy
    for path in ("/console/strategy", "/console/strategy/banco"):
        refused_role = await http.get(path, headers={"Cookie": luis["Cookie"]})
        assert refused_role.status_code == 403 and "Su rol no permite ver la estrategia" in refused_role.text
    signed_out = await http.get("/console/strategy/banco")
    assert signed_out.status_code == 303 and signed_out.headers["location"] == "/console/sign-in"
    shown = text_of((await http.get("/console/strategy/banco?error=Llame+al+0800",
                                    headers=eva)).text)
    assert "0800" not in shown  # no text from a link is shown


async def test_the_grid_is_the_pages_own_script_editable_by_an_operator(
        console: tuple[Platform, httpx.AsyncClient]) -> None:
    platform, http = console
    ana = await signed_in(platform, "ana@agencia.co", "operator")
    page = await http.get("/console/strategy/banco", headers={"Cookie": ana["Cookie"]})
    assert 'data-can-edit="true"' in page.text and '<script src="/console/strategy/strategy.js">' in page.text
    assert "Guardar" in text_of(page.text) and "Crear retador" in text_of(page.text)
    script = await http.get("/console/strategy/strategy.js", headers={"Cookie": ana["Cookie"]})
    assert script.status_code == 200 and script.headers["content-type"].startswith("application/javascript")
    assert "If-Match" in script.text and "X-CSRF-Token" in script.text
    saved = text_of((await http.get("/console/strategy/banco?saved=3&promoted=x",
                                    headers={"Cookie": ana["Cookie"]})).text)
    assert "Estrategia guardada como versión 3" not in saved  # a link's text that is no number is refused whole
    saved = text_of((await http.get("/console/strategy/banco?saved=3", headers={"Cookie": ana["Cookie"]})).text)
    assert "Estrategia guardada como versión 3; las cuentas se vuelven a segmentar." in saved
