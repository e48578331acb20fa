"""The console's agent desk (#23) through outreach's real app and PostgreSQL with people signed in: an agent (or an
operator, a supervisor) gets the page with the client companies they may work and the page's own script; a client
company's person and an SRE get a Spanish refusal; no session is sent to sign in. The page's script works with the
session alone: the next call, then its outcome with a promise, recorded with the agent who logged it."""

import dataclasses
import datetime as dt
import html
import json
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from outreach.withdrawals import NOT_PURSUED, PERSON_ERASED
from recaudo_common.auth import Role
from recaudo_common.console import page
from recaudo_common.money import amount_style
from recaudo_common.people import UserStore
from recaudo_common.sessions import SessionRules, csrf_token

from .conftest import Outreach, client_event, make_outreach, segmented

pytestmark = pytest.mark.integration
RULES = SessionRules(dt.timedelta(hours=12), dt.timedelta(minutes=30))


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


@pytest.fixture
async def desk(database_url: str) -> AsyncIterator[tuple[Outreach, httpx.AsyncClient]]:
    o, plain = await make_outreach(database_url)
    app = plain._transport.app  # type: ignore[attr-defined]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://test") as http:
        yield o, http
    await plain.aclose()
    await o.platform.db.dispose()


async def person(o: Outreach, email: str, role: Role, client: str | None = None) -> tuple[dict[str, str], str]:
    """The headers of a browser signed in as a new user (its cookie and the page's CSRF token), and its id."""
    user = await UserStore(o.platform.db).create(email=email, role=role, client_slug=client, password_hash=None,
                                                 totp_secret=None, by="test", now=o.clock.now)
    token = await o.platform.auth.sessions.open(user_id=user.id, by="password", rules=RULES, now=o.clock.now)
    return {"Cookie": f"recaudo_session={token}", "X-CSRF-Token": csrf_token(token)}, str(user.id)


async def test_agents_operators_and_supervisors_get_the_desk_and_others_a_refusal(
        desk: tuple[Outreach, httpx.AsyncClient]) -> None:
    o, http = desk
    other = client_event("otro", country="MX", timezone="America/Mexico_City", locale="es-MX", currency="MXN")
    await o.deliver(other, client="otro")
    signed_out = await http.get("/console/agent")
    assert (signed_out.status_code, signed_out.headers["location"]) == (303, "/console/sign-in")
    for email, role in (("luis@agencia.co", "agent"), ("ana@agencia.co", "operator"), ("eva@agencia.co", "supervisor")):
        headers, _ = await person(o, email, role)
        shown = await http.get("/console/agent", headers={"Cookie": headers["Cookie"]})
        assert shown.status_code == 200 and shown.headers["content-type"].startswith("text/html")
        assert "script-src" not in shown.headers["content-security-policy"]  # default-src 'self': our scripts only
        seen = text_of(shown.text)
        assert "Escritorio de agente" in seen and "Siguiente llamada" in seen and email in seen
        # Both client companies, each with its locale, the style the server writes its amounts in (data-amounts,
        # for amounts.js) and the marks its locale writes amounts with; the CSRF token for the script.
        assert re.search(r'<option value="banco" data-currency="COP" data-timezone="America/Bogota"\s+'
                         r'data-locale="es-CO" data-amounts="([^"]*)" data-group="\." data-decimal=",">Banco Andino'
                         r'</option>', shown.text)
        assert re.search(r'value="otro" data-currency="MXN" data-timezone="America/Mexico_City"\s+'
                         r'data-locale="es-MX" data-amounts="[^"]*" data-group="," data-decimal="\."', shown.text)
        styles = re.findall(r'data-amounts="([^"]*)"', shown.text)
        assert [json.loads(html.unescape(s)) for s in styles] == [
            dataclasses.asdict(amount_style("COP", "es-CO")), dataclasses.asdict(amount_style("MXN", "es-MX"))]
        assert f'<meta name="csrf-token" content="{headers["X-CSRF-Token"]}">' in shown.text
        assert ('<script src="/console/agent/amounts.js"></script>\n<script src="/console/agent/desk.js"></script>'
                in shown.text and "onclick" not in shown.text)
    for email, role, client in (("cli@banco.co", "client", "banco"), ("ops@agencia.co", "sre", None)):
        headers, _ = await person(o, email, role, client)
        refused = await http.get("/console/agent", headers={"Cookie": headers["Cookie"]})
        assert refused.status_code == 403
        assert "solo para agentes, operadores y supervisores" in text_of(refused.text)
        assert "Siguiente llamada" not in refused.text and "Banco Andino" not in refused.text
    script = await http.get("/console/agent/desk.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("application/javascript")
    assert "X-CSRF-Token" in script.text and "innerHTML" not in script.text and "Intl.NumberFormat" not in script.text
    amounts = await http.get("/console/agent/amounts.js")
    assert amounts.status_code == 200 and amounts.headers["content-type"].startswith("application/javascript")
    assert "window.recaudoAmounts" in amounts.text
    # Why a call was withdrawn is said in Spanish for each reason the withdrawals give, the erasure's and the
    # do_not_pursue treatment's among them (the contact law's codes have their own table).
    for reason in ("account recalled", "opted out", "do not contact", "legal hold: dispute", PERSON_ERASED,
                   NOT_PURSUED):
        assert f'"{reason}": "' in script.text, reason


async def test_the_pages_calls_take_the_next_call_and_log_a_promise_with_the_agents_name(
        desk: tuple[Outreach, httpx.AsyncClient]) -> None:
    o, http = desk
    await o.deliver(await o.placed("D-1", channels=("agent",)), segmented("D-1", ("agent",), value="900000"))
    luis, luis_id = await person(o, "luis@agencia.co", "agent")
    cookie_only = {"Cookie": luis["Cookie"]}
    taken = await http.get("/v1/agent/next?client=banco", headers=cookie_only)  # what the page's script asks
    assert taken.status_code == 200, taken.text
    call = taken.json()["item"]
    assert (call["account_ref"], call["balance"], call["days_past_due"], call["offer"]) == (
        "D-1", "1500000.00", 45, "settlement")
    assert call["script"]  # the API gives one: the page shows it (it makes its own only when there is none)
    outcome = {"channel": "agent", "at": o.clock.now.isoformat(), "outcome": "promise_to_pay",
               "promise": {"amount": "150000", "due_date": "2026-03-10"}, "attempt_id": call["attempt_id"]}
    url = "/v1/clients/banco/accounts/D-1/contacts"
    no_token = await http.post(url, headers=cookie_only, json=outcome)
    assert (no_token.status_code, no_token.json()["code"]) == (403, "csrf_token_invalid")
    logged = await http.post(url, headers=luis, json=outcome)
    assert logged.status_code == 201, logged.text
    assert logged.json()["rule_violations"] == [] and logged.json()["promise_id"]
    [(by, how)] = await o.sql("SELECT logged_by::text, outcome FROM outreach.contacts WHERE account_ref = 'D-1'")
    assert (by, how) == (luis_id, "promise_to_pay")  # the session's person, by their user id
    assert (await http.get("/v1/agent/next?client=banco", headers=cookie_only)).json()["item"] is None
    client_person, _ = await person(o, "cli@banco.co", "client", "banco")
    assert (await http.get("/v1/agent/next?client=banco", headers=client_person)).status_code == 403


def test_the_first_page_links_the_desk_for_the_agencys_people_only() -> None:
    for label, linked in (("Agente", True), ("Operador", True), ("Supervisor", True), ("Cliente", False),
                          ("SRE", False)):
        home = page("home.html", user="x@agencia.co", role_label=label, client_slug=None, csrf_token="t").body
        assert (b'href="/console/agent"' in home) is linked
