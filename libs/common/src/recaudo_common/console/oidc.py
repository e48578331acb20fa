"""Signing in through an OpenID Connect provider the agency or a client company configured (RECAUDO_OIDC_PROVIDERS):
the authorization code flow with PKCE (S256), state and nonce kept hashed in the identity schema for ten minutes
and used once, the state bound to the browser that began the sign-in by a cookie (no login CSRF: a callback URL
someone else began signs no one in), and the id_token's signature checked against the provider's JWKS with its
issuer, audience, expiry and nonce (OpenID Connect Core 1.0, 3.1.3.7). A person is matched to a user by their
verified e-mail.

PKCE, the random values and the authorization URL come from Authlib; the id_token is read with joserfc (Authlib's
JOSE library). The token request is an ordinary form POST (RFC 6749 4.1.3) with the client authenticated by HTTP
Basic (client_secret_basic, Discovery's default)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
from dataclasses import dataclass
from typing import Annotated, Any

import httpx
from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from recaudo_common.console.sign_in import IdentityConfig, sign_in_page, start_session
from recaudo_common.db import sql
from recaudo_common.dependencies import PlatformDep
from recaudo_common.identity_settings import IdentitySettings
from recaudo_common.oidc_config import OidcProvider
from recaudo_common.people import UserStore, normal_email
from recaudo_common.routing import AuthorisedFirstRoute
from recaudo_common.runtime import Platform

log = logging.getLogger("recaudo.oidc")
router = APIRouter(route_class=AuthorisedFirstRoute, prefix="/console/oidc", tags=["console"], include_in_schema=False)
REQUEST_TTL = dt.timedelta(minutes=10)
TIMEOUT_S = 10.0
ALGORITHMS = ["RS256", "PS256", "ES256"]  # asymmetric only: never HS256 keyed by a secret the client also holds
# The state alone proves only that this platform issued it, not to whom: someone could begin a sign-in, sign in at
# the provider as themselves, stop before the callback and send its URL to a victim, whose browser would then be
# signed in as them (and what the victim uploads would land in their company). So `start` gives the browser a cookie
# bound to the state, and the callback signs in only a browser that carries it.
BROWSER_COOKIE = "recaudo_oidc_browser"
NOT_THIS_BROWSER = "Este inicio de sesión no empezó en este navegador. Vuelva a intentarlo."


class SignInRefused(Exception):
    """The provider's answer cannot sign anyone in; the message says why (in English, for the log; never the
    person's e-mail)."""


@dataclass(frozen=True)
class ProviderMetadata:
    """What the discovery document (OpenID Connect Discovery 1.0, section 3) says this flow needs."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


def callback_path(provider: OidcProvider) -> str:
    return f"/console/oidc/{provider.name}/callback"


def redirect_uri(platform: Platform, provider: OidcProvider) -> str:
    return platform.settings.public_url.rstrip("/") + callback_path(provider)


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def browser_binding(state: str) -> str:
    """The browser cookie's value for a state: a hash of it (the cookie need only match it, never reveal it), apart
    from the hash the state is kept by."""
    return hashlib.sha256(b"recaudo oidc browser v1\x00" + state.encode()).hexdigest()


def began_here(cookie_header: str, state: str) -> bool:
    """Whether the browser's cookies bind it to `state`. Every cookie of the name counts (a browser sends one per
    path that matches, and a stray one must not hide ours); each is compared in constant time."""
    expected = browser_binding(state).encode()
    offered = [value.strip().strip('"') for name, _, value in (part.strip().partition("=")
                                                               for part in cookie_header.split(";"))
               if name == BROWSER_COOKIE]
    return any(hmac.compare_digest(value.encode(), expected) for value in offered)


async def _get_json(http: httpx.AsyncClient, url: str) -> dict[str, Any]:
    answer = await http.get(url)
    if answer.status_code != 200:
        raise SignInRefused(f"{url} answered {answer.status_code}")
    body = answer.json()
    if not isinstance(body, dict):
        raise SignInRefused(f"{url} is not a JSON object")
    return body


async def discover(http: httpx.AsyncClient, provider: OidcProvider) -> ProviderMetadata:
    doc = await _get_json(http, provider.issuer.rstrip("/") + "/.well-known/openid-configuration")
    if doc.get("issuer") != provider.issuer:  # Discovery 4.3: it must be exactly the issuer asked about
        raise SignInRefused("the discovery document names another issuer")
    try:
        return ProviderMetadata(doc["issuer"], doc["authorization_endpoint"], doc["token_endpoint"], doc["jwks_uri"])
    except KeyError as missing:
        raise SignInRefused(f"the discovery document has no {missing}") from None


def verify_id_token(id_token: str, *, jwks: dict[str, Any], provider: OidcProvider, nonce: str,
                    now: dt.datetime) -> dict[str, Any]:
    """The id_token's claims once its signature (a key of the provider's JWKS), issuer, audience, expiry, issue
    time and nonce are right (Core 3.1.3.7); else SignInRefused."""
    try:
        token = jwt.decode(id_token, KeySet.import_key_set(jwks), algorithms=ALGORITHMS)  # type: ignore[arg-type]
        jwt.JWTClaimsRegistry(
            now=int(now.timestamp()), leeway=60,
            iss={"essential": True, "value": provider.issuer}, aud={"essential": True, "value": provider.client_id},
            exp={"essential": True}, iat={"essential": True}, sub={"essential": True},
            nonce={"essential": True, "value": nonce},
        ).validate(token.claims)
    except (JoseError, ValueError) as refused:
        raise SignInRefused(f"the id_token is not valid: {type(refused).__name__}") from None
    claims = dict(token.claims)
    audience = claims["aud"]
    if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != provider.client_id:
        raise SignInRefused("the id_token is for several audiences and not authorised for us (azp)")
    return claims


def _provider(identity: IdentitySettings, name: str) -> OidcProvider | None:
    return next((p for p in identity.oidc_providers if p.name == name), None)


@router.get("/{name}")
async def start(name: str, platform: PlatformDep, identity: IdentityConfig) -> Response:
    """Sends the browser to the provider with a fresh state, nonce and PKCE challenge."""
    provider = _provider(identity, name)
    if provider is None:
        return sign_in_page(identity, status=404, error="Ese proveedor de identidad no está configurado.")
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_S) as http:
            metadata = await discover(http, provider)
    except (httpx.HTTPError, ValueError, SignInRefused) as failed:
        log.warning("identity provider unreachable", extra={"fields": {"provider": name, "error": str(failed)}})
        return sign_in_page(identity, status=502, error="El proveedor de identidad no responde. Intente más tarde.")
    state, nonce, verifier = generate_token(43), generate_token(43), generate_token(64)
    now = platform.clock()
    async with platform.db.transaction() as s:
        await s.execute(sql("DELETE FROM identity.oidc_requests WHERE expires_at < :now"), {"now": now})
        await s.execute(sql(
            "INSERT INTO identity.oidc_requests (state_hash, provider, nonce, code_verifier, created_at, expires_at)"
            " VALUES (:h, :p, :n, :v, :now, :exp)"),
            {"h": _hash(state), "p": name, "n": nonce, "v": verifier, "now": now, "exp": now + REQUEST_TTL})
    url = add_params_to_uri(metadata.authorization_endpoint, [
        ("response_type", "code"), ("client_id", provider.client_id),
        ("redirect_uri", redirect_uri(platform, provider)),
        ("scope", " ".join(provider.scopes)), ("state", state), ("nonce", nonce),
        ("code_challenge", create_s256_code_challenge(verifier)), ("code_challenge_method", "S256")])
    answer = Response(status_code=303, headers={"Location": url, "Cache-Control": "no-store"})
    # HttpOnly (no script needs it), Secure as the session cookie is (production refuses it off), SameSite=Lax (the
    # provider's redirect back is a top-level GET from another site, which Lax lets carry it), sent only to this
    # provider's callback and for as long as the state lives. A later sign-in in the same browser replaces it.
    answer.set_cookie(BROWSER_COOKIE, browser_binding(state), max_age=int(REQUEST_TTL.total_seconds()),
                      path=callback_path(provider), httponly=True, secure=identity.session_cookie_secure,
                      samesite="lax")
    return answer


async def _claims(platform: Platform, provider: OidcProvider, *, code: str, nonce: str, verifier: str
                  ) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=TIMEOUT_S) as http:
        metadata = await discover(http, provider)
        answer = await http.post(metadata.token_endpoint, data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri(platform, provider),
            "client_id": provider.client_id, "code_verifier": verifier},
            auth=httpx.BasicAuth(provider.client_id, provider.client_secret) if provider.client_secret
            else httpx.USE_CLIENT_DEFAULT)
        if answer.status_code != 200:
            raise SignInRefused(f"the token endpoint answered {answer.status_code}")
        id_token = answer.json().get("id_token")
        if not isinstance(id_token, str):
            raise SignInRefused("the token endpoint gave no id_token")
        jwks = await _get_json(http, metadata.jwks_uri)
    return verify_id_token(id_token, jwks=jwks, provider=provider, nonce=nonce, now=platform.clock())


@router.get("/{name}/callback")
async def callback(request: Request, name: str, platform: PlatformDep, identity: IdentityConfig,
                   state: Annotated[str, Query(max_length=200)] = "", code: Annotated[str, Query(max_length=2000)] = "",
                   error: Annotated[str, Query(max_length=200)] = "") -> Response:
    """Where the provider sends the browser back: the state must be one this platform issued in the last ten
    minutes for this provider (used once) to this browser, the code is exchanged with its PKCE verifier, and the
    id_token's e-mail, verified by the provider, names the user who signs in."""
    provider = _provider(identity, name)
    answer = await _finish(request, platform, identity, provider, name=name, state=state, code=code, error=error)
    if provider is not None:  # an unknown provider's start set no cookie
        # Whatever came of it, this sign-in is over: its cookie goes, whether it signed in, was refused or failed.
        answer.delete_cookie(BROWSER_COOKIE, path=callback_path(provider), httponly=True,
                             secure=identity.session_cookie_secure, samesite="lax")
    return answer


async def _finish(request: Request, platform: Platform, identity: IdentitySettings, provider: OidcProvider | None,
                  *, name: str, state: str, code: str, error: str) -> Response:
    now = platform.clock()
    # Used up first, whatever follows: a callback URL that reached the wrong browser cannot be tried again elsewhere.
    async with platform.db.transaction() as s:
        row = (await s.execute(sql(
            "DELETE FROM identity.oidc_requests WHERE state_hash = :h AND provider = :p RETURNING nonce,"
            " code_verifier, expires_at"), {"h": _hash(state), "p": name})).first()
    if provider is None or row is None or row.expires_at <= now:
        return sign_in_page(identity, status=400,
                            error="El inicio de sesión caducó o no es válido. Vuelva a intentarlo.")
    if not began_here(request.headers.get("cookie", ""), state):
        log.warning("identity provider sign-in refused",
                    extra={"fields": {"provider": name, "why": "the state was not issued to this browser"}})
        return sign_in_page(identity, status=400, error=NOT_THIS_BROWSER)
    if error or not code:
        return sign_in_page(identity, status=401, error="El proveedor de identidad no autorizó el inicio de sesión.")
    try:
        claims = await _claims(platform, provider, code=code, nonce=row.nonce, verifier=row.code_verifier)
    except (httpx.HTTPError, ValueError, SignInRefused) as refused:
        log.warning("identity provider sign-in refused", extra={"fields": {"provider": name, "why": str(refused)}})
        return sign_in_page(identity, status=401, error="No se pudo verificar el inicio de sesión con el proveedor.")
    email = claims.get("email")
    if not isinstance(email, str) or claims.get("email_verified") is not True:
        return sign_in_page(identity, status=403, error="El proveedor no confirmó su correo electrónico.")
    users = UserStore(platform.db)
    user = await users.by_email(email)
    if user is None and provider.create_users_as is not None:
        role = provider.create_users_as
        user = await users.create(email=normal_email(email), role=role,
                                  client_slug=provider.client if role == "client" else None, password_hash=None,
                                  totp_secret=None, by=f"oidc {provider.name}", now=now)
    # A company's provider signs in only that company's users: it cannot vouch for the agency's staff.
    belongs = user is not None and (provider.client is None or user.client_slug == provider.client)
    if user is None or user.disabled_at is not None or not belongs:
        return sign_in_page(identity, status=403,
                            error="Su cuenta no está habilitada en Recaudo. Pida acceso a un operador.")
    return await start_session(platform, identity, user_id=user.id, by="oidc")
