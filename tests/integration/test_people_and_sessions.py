"""Named users and their sessions through ingest's real HTTP routes and PostgreSQL (#23): users created, listed a
page at a time, disabled and given a new password by operators only; signing in on the console page, the session
cookie's flags, CSRF refusals, idle and disabled sessions, sign-out, failed sign-ins limited, a TOTP second factor."""

import asyncio
import datetime as dt
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import text

from recaudo.services import build_units
from recaudo_common import totp
from recaudo_common.runtime import Platform, build_app, make_platform
from recaudo_common.testing import settings_for_test
from recaudo_common.testing_clock import HandClock

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)
BANCO = {"slug": "banco-andino", "name": "Banco", "country": "CO", "currency": "COP",
         "timezone": "America/Bogota", "locale": "es-CO"}
PASSWORD = "una frase larga de acceso"


@dataclass
class Console:
    platform: Platform
    http: httpx.AsyncClient
    operator: dict[str, str]
    clock: HandClock[dt.datetime]

    async def user(self, email: str, role: str = "operator", **extra: object) -> dict[str, object]:
        made = await self.http.post("/v1/users", headers=self.operator,
                                    json={"email": email, "password": PASSWORD, "role": role, **extra})
        assert made.status_code == 201, made.text
        body: dict[str, object] = made.json()
        return body

    async def sign_in(self, email: str, password: str = PASSWORD, code: str = "") -> httpx.Response:
        return await self.http.post("/console/sign-in", data={"email": email, "password": password, "code": code})

    async def session(self, email: str, **kwargs: str) -> tuple[dict[str, str], str]:
        """The Cookie header of a new session of `email`, and its CSRF token as the console page gives it."""
        answer = await self.sign_in(email, **kwargs)
        assert answer.status_code == 303, answer.text
        token = re.match(r"recaudo_session=([^;]+)", answer.headers["set-cookie"])
        assert token is not None
        cookie = {"Cookie": f"recaudo_session={token[1]}"}
        home = await self.http.get("/console", headers=cookie)
        assert home.status_code == 200
        csrf = re.search(r'name="csrf-token" content="([0-9a-f]+)"', home.text)
        assert csrf is not None
        return cookie, csrf[1]


@pytest.fixture
async def console(database_url: str) -> AsyncIterator[Console]:
    clock = HandClock(NOW)
    platform = make_platform(settings_for_test(database_url), pool_size=3, clock=clock)
    platform.auth.ttl_s = 0
    app = build_app(platform, build_units(platform, ["ingest"]))
    _, key = await platform.keys.create(role="operator", now=NOW)
    operator = {"Authorization": f"Bearer {key}"}
    # https: the session cookie is Secure, and a browser (httpx's cookie jar too) sends it only over TLS.
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://test") as http:
        assert (await http.post("/v1/clients", headers=operator, json=BANCO)).status_code == 201
        yield Console(platform, http, operator, clock)
    await platform.db.dispose()


async def test_operators_create_list_disable_and_reset_users(console: Console) -> None:
    made = await console.http.post("/v1/users", headers=console.operator, json={
        "email": "Ana.Gomez@Agencia.co", "password": PASSWORD, "role": "agent"})
    assert made.status_code == 201, made.text
    ana = made.json()
    assert made.headers["location"] == f"/v1/users/{ana['id']}"
    assert ana["role"] == "agent" and ana["has_password"] and PASSWORD not in made.text and "$argon2" not in made.text
    assert ana["created_by"].startswith("key ")
    taken = await console.http.post("/v1/users", headers=console.operator, json={
        "email": "ana.gomez@agencia.co", "password": PASSWORD, "role": "operator"})
    assert (taken.status_code, taken.json()["code"]) == (409, "email_taken")
    for body, code in (({"email": "x@agencia.co", "password": "corta", "role": "agent"}, "weak_password"),
                       ({"email": "x@agencia.co", "password": "x@agencia.co", "role": "agent"}, "weak_password"),
                       ({"email": "no es correo", "password": PASSWORD, "role": "agent"}, "invalid_user"),
                       ({"email": "x@banco.co", "password": PASSWORD, "role": "client"}, "invalid_user"),
                       ({"email": "x@banco.co", "password": PASSWORD, "role": "client", "client": "nadie"},
                        "unknown_client"),
                       ({"email": "x@agencia.co", "password": PASSWORD, "role": "agent", "totp": True},
                        "invalid_user")):
        refused = await console.http.post("/v1/users", headers=console.operator, json=body)
        assert (refused.status_code, refused.json()["code"]) == (422, code), refused.text
    assert "at least 12 characters" in (await console.http.post("/v1/users", headers=console.operator, json={
        "email": "x@agencia.co", "password": "corta", "role": "agent"})).json()["detail"]
    await console.user("tesoreria@banco.co", "client", client="banco-andino")
    await console.user("luis@agencia.co", "supervisor")

    first = (await console.http.get("/v1/users", headers=console.operator, params={"limit": 2})).json()
    assert [u["email"] for u in first["items"]] == ["luis@agencia.co", "tesoreria@banco.co"]
    # Users made in the same instant (the test's clock stands still) are still each listed once.
    second = (await console.http.get(first["next"], headers=console.operator)).json()
    assert [u["email"] for u in second["items"]] == ["Ana.Gomez@Agencia.co"] and second["next"] is None
    assert (await console.http.get("/v1/users", headers=console.operator,
                                   params={"cursor": "nonsense"})).json()["code"] == "invalid_cursor"

    ana_session, _ = await console.session("ana.gomez@agencia.co")  # any case signs in
    disabled = await console.http.post(f"/v1/users/{ana['id']}/disable", headers=console.operator)
    assert disabled.status_code == 200 and disabled.json()["disabled_at"] is not None
    ended = await console.http.get("/v1/clients/banco-andino", headers=ana_session)
    assert (ended.status_code, ended.json()["code"]) == (401, "session_expired")
    assert (await console.sign_in("ana.gomez@agencia.co")).status_code == 401

    luis = (await console.http.get("/v1/users", headers=console.operator)).json()["items"][0]
    luis_session, _ = await console.session("luis@agencia.co")
    new = "otra frase larga y nueva"
    weak = await console.http.post(f"/v1/users/{luis['id']}/password", headers=console.operator, json={"password": "x"})
    assert (weak.status_code, weak.json()["code"]) == (422, "weak_password")
    reset = await console.http.post(f"/v1/users/{luis['id']}/password", headers=console.operator,
                                    json={"password": new})
    assert reset.status_code == 200, reset.text
    assert (await console.http.get("/v1/clients/banco-andino", headers=luis_session)).status_code == 401
    assert (await console.sign_in("luis@agencia.co")).status_code == 401
    assert (await console.sign_in("luis@agencia.co", new)).status_code == 303


async def test_only_operators_manage_users(console: Console) -> None:
    await console.user("luis@agencia.co", "supervisor")
    await console.user("tesoreria@banco.co", "client", client="banco-andino")
    body = {"email": "nuevo@agencia.co", "password": PASSWORD, "role": "operator"}
    for email in ("luis@agencia.co", "tesoreria@banco.co"):
        cookie, csrf = await console.session(email)
        refused = await console.http.post("/v1/users", headers={**cookie, "X-CSRF-Token": csrf}, json=body)
        assert (refused.status_code, refused.json()["code"]) == (403, "forbidden"), refused.text
        assert (await console.http.get("/v1/users", headers=cookie)).status_code == 403
    # A supervisor does what an operator does otherwise: reading a client company, for one.
    supervisor, _ = await console.session("luis@agencia.co")
    assert (await console.http.get("/v1/clients/banco-andino", headers=supervisor)).status_code == 200


async def test_signing_in_sets_a_cookie_scripts_cannot_read_and_the_console_needs_it(console: Console) -> None:
    away = await console.http.get("/console")
    assert (away.status_code, away.headers["location"]) == (303, "/console/sign-in")
    form = await console.http.get("/console/sign-in")
    assert form.status_code == 200 and form.headers["content-type"].startswith("text/html")
    for field in ('type="email"', 'type="password"', 'type="submit"', "Iniciar sesión"):
        assert field in form.text
    assert form.headers["x-frame-options"] == "DENY" and "frame-ancestors 'none'" in (
        form.headers["content-security-policy"])

    await console.user("ana@agencia.co")
    signed = await console.sign_in("ana@agencia.co")
    assert (signed.status_code, signed.headers["location"]) == (303, "/console")
    flags = [f.strip().lower() for f in signed.headers["set-cookie"].split(";")]
    assert {"httponly", "secure", "samesite=lax", "path=/"} <= set(flags)
    assert "max-age=43200" in flags  # twelve hours
    cookie, _ = await console.session("ana@agencia.co")
    home = await console.http.get("/console", headers=cookie)
    assert "ana@agencia.co" in home.text and "Cerrar sesión" in home.text


async def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(console: Console) -> None:
    await console.user("ana@agencia.co")
    wrong = await console.sign_in("ana@agencia.co", "no es la contraseña de ana")
    unknown = await console.sign_in("nadie@agencia.co", "no es la contraseña de ana")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.text.replace("ana@agencia.co", "") == unknown.text.replace("nadie@agencia.co", "")
    assert "set-cookie" not in wrong.headers
    assert "Correo, contraseña o código incorrectos." in wrong.text


async def test_failed_sign_ins_are_limited_per_account(console: Console) -> None:
    await console.user("ana@agencia.co")
    for _ in range(5):
        assert (await console.sign_in("ana@agencia.co", "adivinando una vez más")).status_code == 401
    # The right password too, until the window has passed: a guesser learns nothing from it.
    limited = await console.sign_in("ana@agencia.co")
    assert limited.status_code == 429 and 0 < int(limited.headers["retry-after"]) <= 15 * 60 + 1
    assert "Demasiados intentos" in limited.text
    # Still limited just before the failures are 15 minutes old, and free once they are.
    console.clock.now = NOW + dt.timedelta(minutes=14, seconds=59)
    assert (await console.sign_in("ana@agencia.co")).status_code == 429
    console.clock.now = NOW + dt.timedelta(minutes=15, seconds=1)
    assert (await console.sign_in("ana@agencia.co")).status_code == 303


async def test_every_replica_counts_the_same_failed_sign_ins_and_keeps_no_email_or_address(
        console: Console, database_url: str) -> None:
    """Two processes of the unit that mounts identity (two replicas behind one Service) on one database: a guesser
    going round them gets the same five tries as on one."""
    await console.user("ana@agencia.co")
    other = make_platform(settings_for_test(database_url), pool_size=2, clock=console.clock)
    app = build_app(other, build_units(other, ["ingest"]))
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://test") as replica:
            for i in range(5):
                http = console.http if i % 2 == 0 else replica
                answer = await http.post("/console/sign-in", data={"email": "ana@agencia.co", "password": f"x{i}"})
                assert answer.status_code == 401
            for http in (console.http, replica):
                limited = await http.post("/console/sign-in", data={"email": "ana@agencia.co", "password": PASSWORD})
                assert limited.status_code == 429, limited.text
    finally:
        await other.db.dispose()
    async with console.platform.db.transaction() as s:
        kept = [r[0] for r in await s.execute(text("SELECT key FROM identity.sign_in_failures"))]
    assert len(kept) == 10  # five failures, each counted for the e-mail and for the address
    assert not [k for k in kept if b"ana" in k or b"127.0.0.1" in k or b"testclient" in k]
    assert {len(k) for k in kept} == {32}  # digests


async def test_guesses_sent_at_once_are_counted_before_their_check(console: Console) -> None:
    """Fifteen wrong passwords for one e-mail sent together: five are checked, the rest refused unchecked."""
    await console.user("ana@agencia.co")
    answers = await asyncio.gather(*(console.sign_in("ana@agencia.co", f"adivinando {i}") for i in range(15)))
    assert sorted(a.status_code for a in answers) == [401] * 5 + [429] * 10


async def test_a_right_password_is_not_counted_as_a_failure(console: Console) -> None:
    await console.user("ana@agencia.co")
    for _ in range(4):
        assert (await console.sign_in("ana@agencia.co", "adivinando")).status_code == 401
    assert (await console.sign_in("ana@agencia.co")).status_code == 303  # its try taken back
    assert (await console.sign_in("ana@agencia.co", "adivinando")).status_code == 401  # the fifth failure
    assert (await console.sign_in("ana@agencia.co")).status_code == 429


async def test_failures_past_the_window_are_pruned(console: Console) -> None:
    for i in range(3):
        assert (await console.sign_in(f"persona{i}@agencia.co", "adivinando")).status_code == 401
    console.clock.now = NOW + dt.timedelta(minutes=16)
    assert (await console.sign_in("otra@agencia.co", "adivinando")).status_code == 401
    async with console.platform.db.transaction() as s:
        left = await s.scalar(text("SELECT count(*) FROM identity.sign_in_failures"))
    assert left == 2  # the three older failures' six rows pruned; the last one's two kept


async def test_failed_sign_ins_are_limited_per_address(console: Console) -> None:
    for i in range(20):
        assert (await console.sign_in(f"persona{i}@agencia.co", "adivinando una vez más")).status_code == 401
    assert (await console.sign_in("otra@agencia.co", "adivinando una vez más")).status_code == 429


async def test_an_unsafe_request_signed_by_the_cookie_needs_the_csrf_token(console: Console) -> None:
    await console.user("ana@agencia.co")
    cookie, csrf = await console.session("ana@agencia.co")
    body = {"email": "nuevo@agencia.co", "password": PASSWORD, "role": "agent"}
    for headers in (cookie, {**cookie, "X-CSRF-Token": "0" * 64}, {**cookie, "X-CSRF-Token": "ñ".encode("latin-1")}):
        refused = await console.http.post("/v1/users", headers=headers, json=body)
        assert (refused.status_code, refused.json()["code"]) == (403, "csrf_token_invalid"), refused.text
        assert "X-CSRF-Token" in refused.json()["detail"]
    made = await console.http.post("/v1/users", headers={**cookie, "X-CSRF-Token": csrf}, json=body)
    assert made.status_code == 201, made.text
    assert made.json()["created_by"] == "user ana@agencia.co"  # who did it, by name
    # A machine's key needs no CSRF token.
    assert (await console.http.post("/v1/users", headers=console.operator, json={
        **body, "email": "otro@agencia.co"})).status_code == 201
    # A sign-in form posted by another site is refused (login CSRF).
    forged = await console.http.post("/console/sign-in", headers={"Origin": "https://evil.example"},
                                     data={"email": "ana@agencia.co", "password": PASSWORD})
    assert (forged.status_code, forged.json()["code"]) == (403, "cross_site_sign_in")


async def test_sign_out_ends_the_session_everywhere(console: Console) -> None:
    await console.user("ana@agencia.co")
    cookie, csrf = await console.session("ana@agencia.co")
    refused = await console.http.post("/console/sign-out", headers=cookie)
    assert (refused.status_code, refused.json()["code"]) == (403, "csrf_token_invalid")
    out = await console.http.post("/console/sign-out", headers=cookie, data={"csrf_token": csrf})
    assert (out.status_code, out.headers["location"]) == (303, "/console/sign-in")
    assert 'recaudo_session=""' in out.headers["set-cookie"] and "max-age=0" in out.headers["set-cookie"].lower()
    assert (await console.http.get("/v1/clients/banco-andino", headers=cookie)).status_code == 401
    assert (await console.http.get("/console", headers=cookie)).status_code == 303


async def test_a_session_unused_too_long_or_too_old_ends(console: Console) -> None:
    await console.user("ana@agencia.co")
    cookie, _ = await console.session("ana@agencia.co")
    for minutes in (29, 58, 87):  # used every 29 minutes: alive
        console.clock.now = NOW + dt.timedelta(minutes=minutes)
        assert (await console.http.get("/v1/clients/banco-andino", headers=cookie)).status_code == 200
    console.clock.now = NOW + dt.timedelta(minutes=87 + 30)
    assert (await console.http.get("/v1/clients/banco-andino", headers=cookie)).status_code == 401

    console.clock.now = NOW
    cookie, _ = await console.session("ana@agencia.co")
    for minutes in range(25, 12 * 60, 25):  # used all day long: it still ends twelve hours after sign-in
        console.clock.now = NOW + dt.timedelta(minutes=minutes)
        assert (await console.http.get("/v1/clients/banco-andino", headers=cookie)).status_code == 200
    console.clock.now = NOW + dt.timedelta(hours=12)
    assert (await console.http.get("/v1/clients/banco-andino", headers=cookie)).status_code == 401


async def test_an_operator_with_totp_signs_in_with_its_code(console: Console) -> None:
    made = await console.user("jefe@agencia.co", totp=True)
    uri = str(made["totp_uri"])
    assert uri.startswith("otpauth://totp/Recaudo:jefe%40agencia.co?secret=")
    secret = re.search(r"secret=([A-Z2-7]+)", uri)
    assert secret is not None
    async with console.platform.db.transaction() as s:  # kept sealed under the vault's master key
        kept = (await s.execute(text("SELECT totp_secret FROM identity.users WHERE id = :id"),
                                {"id": made["id"]})).scalar_one()
    assert kept.startswith("s1.") and secret[1] not in kept
    listed = (await console.http.get(f"/v1/users/{made['id']}", headers=console.operator)).json()
    assert listed["totp"] is True and "totp_uri" not in listed  # shown once
    assert (await console.sign_in("jefe@agencia.co")).status_code == 401
    code = totp.totp(totp._key(secret[1]), NOW)
    assert (await console.sign_in("jefe@agencia.co", code=f"{(int(code) + 500_000) % 10**6:06d}")).status_code == 401
    assert (await console.sign_in("jefe@agencia.co", code=code)).status_code == 303



async def test_a_code_in_another_scripts_digits_is_a_wrong_code_whatever_the_password(console: Console) -> None:
    """Digits that str.isdigit takes but are not ASCII (Arabic-Indic, superscripts) are a wrong code: not a 500,
    which came only after the password matched and so told whoever had guessed it that it was right."""
    await console.user("jefe@agencia.co", totp=True)
    for code in ("١٢٣٤٥٦", "¹²³⁴⁵⁶"):  # four failures: under the per-account limit of five
        right = await console.sign_in("jefe@agencia.co", code=code)
        wrong = await console.sign_in("jefe@agencia.co", "no es la contraseña de jefe", code=code)
        assert right.status_code == wrong.status_code == 401, right.text
        assert right.text == wrong.text and "Correo, contraseña o código incorrectos." in right.text

async def test_an_agent_works_the_agent_desk_of_another_service_and_nothing_else(console: Console) -> None:
    await console.user("pedro@agencia.co", "agent")
    await console.user("luis@agencia.co", "supervisor")
    agent, _ = await console.session("pedro@agencia.co")
    supervisor, _ = await console.session("luis@agencia.co")
    outreach = build_app(console.platform, build_units(console.platform, ["outreach"]))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=outreach), base_url="https://test") as http:
        desk = await http.get("/v1/agent/next", params={"client": "banco-andino"}, headers=agent)
        assert desk.status_code == 200 and desk.json() == {"item": None}, desk.text
        history = await http.get("/v1/clients/banco-andino/accounts/A-1/contacts", headers=agent)
        assert (history.status_code, history.json()["code"]) == (403, "forbidden")
    assert (await console.http.get("/v1/clients/banco-andino", headers=agent)).status_code == 403
    # A supervisor does not manage keys either.
    assert (await console.http.get("/v1/keys", headers=supervisor)).status_code == 403
