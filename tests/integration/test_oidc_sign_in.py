"""Signing in through an OpenID Connect provider (#23) against a local fake of one, served over real HTTP: its
discovery document (OpenID Connect Discovery 1.0, 3), its JWKS with an RSA key, its authorization endpoint (Core
3.1.2) that redirects back with a code, and its token endpoint (Core 3.1.3) that checks the PKCE verifier (RFC 7636
4.6) and answers a signed id_token (Core 2). The platform checks state, nonce, signature, issuer, audience and
expiry, and signs in only a user it knows by the verified e-mail (or creates one when the provider is set to)."""

import base64
import datetime as dt
import hashlib
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
from recaudo_common.oidc_config import OidcProvider
from recaudo_common.people import UserStore
from recaudo_common.runtime import Platform, build_app, make_platform
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
    http: httpx.AsyncClient
    fake: FakeProvider

    async def sign_in(self, provider: str = "agencia") -> httpx.Response:
        """The browser's trip: the console sends it to the provider, which sends it back with a code."""
        start = await self.http.get(f"/console/oidc/{provider}")
        assert start.status_code == 303, start.text
        async with httpx.AsyncClient() as browser:
            back = await browser.get(start.headers["location"])
        assert back.status_code == 302
        callback = urlsplit(back.headers["location"])
        assert f"{callback.scheme}://{callback.netloc}" == PUBLIC_URL
        return await self.http.get(f"{callback.path}?{callback.query}")


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
            yield Flow(platform, http, fake)
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
    cookie = signed.headers["set-cookie"].split(";")[0]
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
    assert forged.status_code == 400 and "set-cookie" not in forged.headers


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
    assert refused.status_code == 401 and "set-cookie" not in refused.headers
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
