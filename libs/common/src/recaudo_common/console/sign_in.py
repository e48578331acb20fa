"""Signing in on the console with an e-mail and a password (and a TOTP code for an operator who has one), and out.

Mounted by the unit that mounts identity (ingest). A failed sign-in answers the same, in as long, whether the e-mail
is unknown, the password wrong or the person disabled; failures are limited per e-mail and per address, counted in
PostgreSQL so that every replica counts the same ones (sign_in_failures).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from recaudo_common import totp
from recaudo_common.console import page, sign_in_failures
from recaudo_common.console.sign_in_failures import Limit, digest
from recaudo_common.console.visitor import to_sign_in, visitor
from recaudo_common.dependencies import PlatformDep, from_app_state
from recaudo_common.errors import ProblemError
from recaudo_common.gate import public_form
from recaudo_common.identity_settings import IDENTITY_SETTINGS, IdentitySettings
from recaudo_common.people import UserStore, normal_email, open_totp, password_matches
from recaudo_common.personal_data import MasterKeyring
from recaudo_common.routing import AuthorisedFirstRoute
from recaudo_common.runtime import Platform
from recaudo_common.sessions import (
    CSRF_FIELD,
    SESSION_COOKIE,
    SessionRules,
    SignedInBy,
    csrf_matches,
    session_token_of,
)

router = APIRouter(route_class=AuthorisedFirstRoute, prefix="/console", tags=["console"], include_in_schema=False)
# The sign-in form is posted without a session, and sign-out answers even when the session has ended: both small.
BODY_RULES = [public_form(r"/console/sign-(in|out)")]
WRONG = "Correo, contraseña o código incorrectos."


def limits_of(platform: Platform, settings: IdentitySettings, *, email: str, address: str) -> list[Limit]:
    """The two counts a sign-in is held to: its e-mail's and its address's."""
    keyring = MasterKeyring.of_settings(platform.settings)
    return [Limit(digest(keyring, "email", email), settings.sign_in_failures_per_account),
            Limit(digest(keyring, "address", address), settings.sign_in_failures_per_address)]


IdentityConfig = Annotated[IdentitySettings, Depends(from_app_state(IDENTITY_SETTINGS, IdentitySettings))]


def rules_of(settings: IdentitySettings) -> SessionRules:
    return SessionRules(dt.timedelta(hours=settings.session_hours), dt.timedelta(minutes=settings.session_idle_minutes))


async def start_session(platform: Platform, identity: IdentitySettings, *, user_id: uuid.UUID, by: SignedInBy,
                        to: str = "/console") -> Response:
    """Opens a session and answers 303 to `to` with its cookie: HttpOnly (no script reads it), Secure, SameSite=Lax
    (sent on a top-level navigation from another site, such as the identity provider's redirect back or a link in
    an e-mail, never on another site's POST or fetch), Path=/ (every service's /console and API read it)."""
    rules = rules_of(identity)
    token = await platform.auth.sessions.open(user_id=user_id, by=by, rules=rules, now=platform.clock())
    answer = RedirectResponse(to, status_code=303)
    answer.set_cookie(SESSION_COOKIE, token, max_age=int(rules.lifetime.total_seconds()), path="/", httponly=True,
                      secure=identity.session_cookie_secure, samesite="lax")
    answer.headers["Cache-Control"] = "no-store"
    return answer


def _same_origin(request: Request) -> bool:
    """A sign-in form posted from another site (login CSRF: signing the victim in as the attacker) is refused when
    the browser says where it came from."""
    origin = request.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == request.headers.get("host")


def sign_in_page(identity: IdentitySettings, *, error: str | None = None, email: str | None = None,
                 status: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    return page("sign_in.html", status=status, headers=headers, error=error, email=email,
                providers=identity.oidc_providers)


@router.get("", response_class=HTMLResponse)
async def console_home(request: Request, platform: PlatformDep) -> Response:
    """The console's first page; without a session, the way to the sign-in page (303)."""
    person = await visitor(request, platform)
    if person is None:
        return to_sign_in()
    return page("home.html", client_slug=person.principal.client_slug, layout=person.layout())


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_form(identity: IdentityConfig) -> HTMLResponse:
    return sign_in_page(identity)


@router.post("/sign-in", response_class=HTMLResponse)
async def sign_in(request: Request, platform: PlatformDep, identity: IdentityConfig,
                  email: Annotated[str, Form(max_length=254)] = "",
                  password: Annotated[str, Form(max_length=1024)] = "",
                  code: Annotated[str, Form(max_length=16)] = "") -> Response:
    if not _same_origin(request):
        raise ProblemError(403, "cross_site_sign_in", "Forbidden", "a sign-in must come from the console's own page")
    address = request.client.host if request.client else "unknown"
    who = normal_email(email)
    # Counted before the check (a right password takes it back): concurrent guesses cannot all pass one count.
    tried = await sign_in_failures.reserve(platform.db, limits_of(platform, identity, email=who, address=address),
                                           now=platform.clock())
    if tried.wait_s > 0:
        return sign_in_page(identity, status=429, email=email,
                            headers={"Retry-After": str(max(1, int(tried.wait_s) + 1))},
                            error="Demasiados intentos fallidos. Espere unos minutos antes de volver a intentarlo.")
    found = await UserStore(platform.db).credentials(who)
    # The hash is always checked (a dummy one for an unknown e-mail), so the answer takes as long either way.
    right = await password_matches(found.password_hash, password)
    user = found.user
    if right and found.totp_secret is not None and user is not None:
        secret = open_totp(platform.settings, email=user.email, sealed=found.totp_secret)
        right = totp.verify(secret, code, at=platform.clock())
    if not right or user is None or user.disabled_at is not None:
        return sign_in_page(identity, status=401, email=email, error=WRONG)
    await sign_in_failures.forgive(platform.db, tried)
    return await start_session(platform, identity, user_id=user.id, by="password")


@router.post("/sign-out")
async def sign_out(request: Request, platform: PlatformDep, identity: IdentityConfig,
                   csrf: Annotated[str, Form(alias=CSRF_FIELD, max_length=128)] = "") -> Response:
    """Ends the session (revoked in the identity schema: the cookie no longer works anywhere) and clears the
    cookie. Like every unsafe request a session signs, it carries the session's CSRF token."""
    token = session_token_of(request.headers.get("cookie", ""))
    if token is not None:
        if not csrf_matches(token, csrf or request.headers.get("x-csrf-token")):
            raise ProblemError(403, "csrf_token_invalid", "Forbidden",
                               f"signing out needs the session's CSRF token (the {CSRF_FIELD} form field)")
        await platform.auth.sessions.revoke(token, now=platform.clock())
    answer = RedirectResponse("/console/sign-in", status_code=303)
    answer.delete_cookie(SESSION_COOKIE, path="/", httponly=True, secure=identity.session_cookie_secure,
                         samesite="lax")
    return answer
