"""Signing in through an OpenID Connect provider (#23) against a local fake of one, served over real HTTP: its
discovery document (OpenID Connect Discovery 1.0, 3), its JWKS with an RSA key, its authorization endpoint (Core
3.1.2) that redirects back with a code, and its token endpoint (Core 3.1.3) that checks the PKCE verifier (RFC 7636
4.6) and answers a signed id_token (Core 2). The platform checks state, nonce, signature, issuer, audience and
expiry, and signs in only a user it knows by the verified e-mail (or creates one when the provider is set to)."""

import base64
import datetime as dt
import hashlib
import logging
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from fastapi import FastAPI, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse
from joserfc import jwt
from joserfc.jwk import RSAKey

from ingest.main import build
from ingest.settings import IngestSettings
from recaudo_common.db import sql
from recaudo_common.oidc_config import OidcProvider
from recaudo_common.people import UserStore
from recaudo_common.runtime import Platform, build_app, make_platform
from recaudo_common.sessions import SESSION_COOKIE
from recaudo_common.testing import serving_app, settings_for_test

pytestmark = pytest.mark.integration
CLIENT_ID, CLIENT_SECRET = "recaudo-console", "un-secreto-del-cliente-de-prueba"
PUBLIC_URL = "https://recaudo.test"


@dataclass
class FakeProvider:
    """An OpenID Connect provider that signs in whoever `email` says; each field below spoils one thing."""

    issuer: str = ""
    email: str = "ana@agencia.co"
    email_verified: bool = True
    audience: str = CLIENT_ID
    nonce: str | None = None  # None: the one the authorization request carried
    expires_in_s: int = 300
    signing_key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "k1"}))
    published_key: RSAKey | None = None  # None: the signing key's public half
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    token_requests: list[dict[str, str]] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/.well-known/openid-configuration")
        async def discovery() -> dict[str, Any]:
            return {"issuer": self.issuer, "authorization_endpoint": f"{self.issuer}/authorize",
                    "token_endpoint": f"{self.issuer}/token", "jwks_uri": f"{self.issuer}/jwks",
                    "response_types_supported": ["code"], "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["RS256"], "code_challenge_methods_supported": ["S256"],
                    "token_endpoint_auth_methods_supported": ["client_secret_basic"],
                    "scopes_supported": ["openid", "email", "profile"]}

        @app.get("/jwks")
        async def jwks() -> dict[str, Any]:
            key = self.published_key or self.signing_key
            return {"keys": [{**key.as_dict(private=False), "use": "sig", "alg": "RS256"}]}

        @app.get("/authorize")
        async def authorize(request: Request) -> RedirectResponse:
            q = request.query_params
            assert q["response_type"] == "code" and q["client_id"] == CLIENT_ID
            assert "openid" in q["scope"].split() and q["code_challenge_method"] == "S256"
            code = secrets.token_urlsafe(16)
            self.codes[code] = {"challenge": q["code_challenge"], "nonce": q["nonce"], "redirect_uri": q["redirect_uri"]}
            return RedirectResponse(f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q['state']})}", 302)

        @app.post("/token")
        async def token(request: Request, grant_type: str = Form(), code: str = Form(), redirect_uri: str = Form(),
                        code_verifier: str = Form()) -> JSONResponse:
            basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            if request.headers.get("authorization") != f"Basic {basic}":
                return JSONResponse({"error": "invalid_client"}, 401)
            issued = self.codes.pop(code, None)
            challenge = base64.urlsafe_b64encode(hashlib.sha256(code_verifier.encode()).digest()).decode().rstrip("=")
            self.token_requests.append({"grant_type": grant_type, "verifier_ok": str(
                issued is not None and issued["challenge"] == challenge)})
            if (grant_type != "authorization_code" or issued is None or issued["challenge"] != challenge
                    or issued["redirect_uri"] != redirect_uri):
                return JSONResponse({"error": "invalid_grant"}, 400)
            now = int(time.time())
            claims = {"iss": self.issuer, "sub": "248289761001", "aud": self.audience, "iat": now,
                      "exp": now + self.expires_in_s, "nonce": self.nonce or issued["nonce"], "email": self.email,
                      "email_verified": self.email_verified, "name": "Ana Gómez"}
            id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, self.signing_key)
            return JSONResponse({"access_token": secrets.token_urlsafe(16), "token_type": "Bearer",
                                 "expires_in": 3600, "id_token": id_token}, headers={"Cache-Control": "no-store"})

        return app


@dataclass
class Flow:
    platform: Platform
    http: httpx.AsyncClient  # the browser that signs in (it keeps its cookies)
    fake: FakeProvider
    app: FastAPI

    def browser(self) -> httpx.AsyncClient:
        """Another browser on the same console, with cookies of its own."""
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=PUBLIC_URL)

    async def callback_url(self, provider: str = "agencia") -> tuple[httpx.Response, str]:
        """The console's answer to `http` starting a sign-in, and where the provider sends the browser back."""
        start = await self.http.get(f"/console/oidc/{provider}")
        assert start.status_code == 303, start.text
        async with httpx.AsyncClient() as at_provider:
            back = await at_provider.get(start.headers["location"])
        assert back.status_code == 302
        callback = urlsplit(back.headers["location"])
        assert f"{callback.scheme}://{callback.netloc}" == PUBLIC_URL
        return start, f"{callback.path}?{callback.query}"

    async def sign_in(self, provider: str = "agencia") -> httpx.Response:
        """The browser's trip: the console sends it to the provider, which sends it back with a code."""
        _, callback = await self.callback_url(provider)
        return await self.http.get(callback)

    async def sessions(self) -> int:
        async with self.platform.db.transaction() as s:
            return int((await s.execute(sql("SELECT count(*) AS n FROM identity.sessions"))).one().n)


def set_cookies(answer: httpx.Response) -> dict[str, str]:
    """Each cookie an answer sets, by name: its whole Set-Cookie line."""
    return {line.split("=", 1)[0]: line for line in answer.headers.get_list("set-cookie")}


def attributes(line: str) -> dict[str, str]:
    return {k.strip().lower(): v for k, _, v in (part.partition("=") for part in line.split(";")[1:])}


@pytest.fixture
async def flow(database_url: str) -> AsyncIterator[Flow]:
    fake = FakeProvider()
    async with serving_app(fake.app()) as issuer:
        fake.issuer = issuer
        providers = (
            OidcProvider(name="agencia", label="Agencia", issuer=issuer, client_id=CLIENT_ID,
                         client_secret=CLIENT_SECRET),
            OidcProvider(name="banco", label="Banco Andino", issuer=issuer, client_id=CLIENT_ID,
                         client_secret=CLIENT_SECRET, client="banco-andino", create_users_as="client"))
        platform = make_platform(settings_for_test(database_url, public_url=PUBLIC_URL), pool_size=3)
        app = build_app(platform, [build(platform, IngestSettings(oidc_providers=providers))])
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=PUBLIC_URL) as http:
            yield Flow(platform, http, fake, app)
        await platform.db.dispose()


async def known_user(platform: Platform, email: str = "ana@agencia.co") -> None:
    await UserStore(platform.db).create(email=email, role="operator", client_slug=None, password_hash=None,
                                        totp_secret=None, by="test", now=dt.datetime.now(dt.UTC))


async def test_a_known_user_signs_in_through_the_provider_with_pkce_state_and_nonce(flow: Flow) -> None:
    await known_user(flow.platform, "Ana@Agencia.co")
    page = await flow.http.get("/console/sign-in")
    assert 'href="/console/oidc/agencia"' in page.text and "Entrar con Agencia" in page.text
    start = await flow.http.get("/console/oidc/agencia")
    sent = parse_qs(urlsplit(start.headers["location"]).query)
    assert sent["code_challenge_method"] == ["S256"] and len(sent["code_challenge"][0]) == 43
    assert sent["redirect_uri"] == [f"{PUBLIC_URL}/console/oidc/agencia/callback"]
    assert len(sent["state"][0]) >= 32 and len(sent["nonce"][0]) >= 32

    signed = await flow.sign_in()
    assert (signed.status_code, signed.headers["location"]) == (303, "/console"), signed.text
    assert flow.fake.token_requests[-1] == {"grant_type": "authorization_code", "verifier_ok": "True"}
    cookie = set_cookies(signed)[SESSION_COOKIE].split(";")[0]
    home = await flow.http.get("/console", headers={"Cookie": cookie})
    assert home.status_code == 200 and "Ana@Agencia.co" in home.text


async def test_a_state_is_used_once_and_only_the_platforms_own(flow: Flow) -> None:
    await known_user(flow.platform)
    start = await flow.http.get("/console/oidc/agencia")
    async with httpx.AsyncClient() as browser:
        back = urlsplit((await browser.get(start.headers["location"])).headers["location"])
    assert (await flow.http.get(f"{back.path}?{back.query}")).status_code == 303
    replayed = await flow.http.get(f"{back.path}?{back.query}")
    assert replayed.status_code == 400 and "caducó o no es válido" in replayed.text
    forged = await flow.http.get("/console/oidc/agencia/callback", params={"code": "x", "state": "not-ours"})
    assert forged.status_code == 400 and SESSION_COOKIE not in set_cookies(forged)


@pytest.mark.parametrize("spoil", ["signed by another key", "another audience", "another nonce", "expired"])
async def test_an_id_token_that_is_not_right_signs_no_one_in(flow: Flow, spoil: str) -> None:
    await known_user(flow.platform)
    if spoil == "signed by another key":
        flow.fake.published_key = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    elif spoil == "another audience":
        flow.fake.audience = "someone-else"
    elif spoil == "another nonce":
        flow.fake.nonce = "a nonce the platform never sent"
    else:
        flow.fake.expires_in_s = -120  # past the minute of leeway for clocks
    refused = await flow.sign_in()
    assert refused.status_code == 401 and SESSION_COOKIE not in set_cookies(refused)
    assert "No se pudo verificar" in refused.text


async def test_only_known_users_with_a_verified_email_sign_in(flow: Flow) -> None:
    unknown = await flow.sign_in()
    assert unknown.status_code == 403 and "no está habilitada" in unknown.text
    assert await UserStore(flow.platform.db).by_email("ana@agencia.co") is None  # never created by a sign-in
    await known_user(flow.platform)
    flow.fake.email_verified = False
    assert (await flow.sign_in()).status_code == 403
    # A client company's provider cannot sign in the agency's staff, even with a verified e-mail.
    flow.fake.email_verified = True
    assert (await flow.sign_in("banco")).status_code == 403


async def test_a_provider_set_to_create_users_creates_its_client_companys(flow: Flow) -> None:
    flow.fake.email = "tesoreria@bancoandino.co"
    signed = await flow.sign_in("banco")
    assert signed.status_code == 303, signed.text
    made = await UserStore(flow.platform.db).by_email("tesoreria@bancoandino.co")
    assert made is not None and (made.role, made.client_slug, made.created_by) == ("client", "banco-andino",
                                                                                   "oidc banco")


# Login CSRF: someone begins a sign-in in their own browser, signs in at the provider as themselves, stops before
# the callback and sends its URL to a victim; the callback must sign in only the browser that began it.
BROWSER_COOKIE = "recaudo_oidc_browser"
CALLBACK_PATH = "/console/oidc/agencia/callback"


async def test_a_callback_opened_in_another_browser_signs_no_one_in(flow: Flow,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    await known_user(flow.platform)
    _, callback = await flow.callback_url()  # the attacker's sign-in, stopped before its callback
    async with flow.browser() as victim:
        with caplog.at_level(logging.WARNING, logger="recaudo.oidc"):
            refused = await victim.get(callback)
    assert refused.status_code == 400 and "no empezó en este navegador" in refused.text
    assert SESSION_COOKIE not in set_cookies(refused) and await flow.sessions() == 0
    logged = [r for r in caplog.records if r.name == "recaudo.oidc"]
    assert [r.fields for r in logged] == [{"provider": "agencia", "why": "the state was not issued to this browser"}]
    assert flow.fake.token_requests == []  # the attacker's code was never exchanged
    # The state was used: not even the browser that began it can sign in with it now.
    late = await flow.http.get(callback)
    assert late.status_code == 400 and "caducó o no es válido" in late.text and await flow.sessions() == 0


async def test_a_callback_with_the_cookie_of_another_sign_in_signs_no_one_in(flow: Flow) -> None:
    await known_user(flow.platform)
    async with flow.browser() as victim:
        own = await victim.get("/console/oidc/agencia")  # the victim's own sign-in, begun in their browser
        assert own.status_code == 303 and victim.cookies.get(BROWSER_COOKIE, path=CALLBACK_PATH)
        _, attackers = await flow.callback_url()
        refused = await victim.get(attackers)
        assert refused.status_code == 400 and "no empezó en este navegador" in refused.text
        assert SESSION_COOKIE not in set_cookies(refused) and await flow.sessions() == 0
        assert victim.cookies.get(BROWSER_COOKIE, path=CALLBACK_PATH) is None  # cleared on a refusal too
    assert flow.fake.token_requests == []  # no code was exchanged


async def test_the_browser_cookie_is_httponly_lax_secure_short_and_only_for_the_callback(flow: Flow) -> None:
    await known_user(flow.platform)
    start, callback = await flow.callback_url()
    state = parse_qs(urlsplit(callback).query)["state"][0]
    line = set_cookies(start)[BROWSER_COOKIE]
    value, flags = line.split(";")[0].split("=", 1)[1], attributes(line)
    assert {"httponly", "secure"} <= flags.keys() and flags["samesite"] == "lax"
    assert flags["path"] == CALLBACK_PATH and flags["max-age"] == "600"
    assert state not in line and value != hashlib.sha256(state.encode()).hexdigest()  # nor the key it is kept by
    signed = await flow.http.get(callback)
    assert signed.status_code == 303 and set_cookies(signed)[SESSION_COOKIE]
    cleared = attributes(set_cookies(signed)[BROWSER_COOKIE])
    assert cleared["max-age"] == "0" and cleared["path"] == CALLBACK_PATH
    assert flow.http.cookies.get(BROWSER_COOKIE, path=CALLBACK_PATH) is None and await flow.sessions() == 1


async def test_the_browser_cookie_is_secure_exactly_when_the_session_cookie_is(database_url: str) -> None:
    fake = FakeProvider()
    async with serving_app(fake.app()) as issuer:
        fake.issuer = issuer
        provider = OidcProvider(name="agencia", label="Agencia", issuer=issuer, client_id=CLIENT_ID)
        platform = make_platform(settings_for_test(database_url, public_url="http://localhost:8000"), pool_size=1)
        settings = IngestSettings(oidc_providers=(provider,), session_cookie_secure=False)  # development only
        app = build_app(platform, [build(platform, settings)])
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost:8000") as http:
            start = await http.get("/console/oidc/agencia")
        await platform.db.dispose()
    flags = attributes(set_cookies(start)[BROWSER_COOKIE])
    assert start.status_code == 303 and "secure" not in flags and "httponly" in flags
