"""The person on a console page, once for every service's pages: who they are (the session's principal), what the
shared layout shows of them (name, role, the session's CSRF token for the page's script and forms), and the way to
the sign-in page when there is no session."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import RedirectResponse

from recaudo_common.auth import Principal
from recaudo_common.runtime import Platform
from recaudo_common.sessions import csrf_matches, csrf_token, session_token_of

ROLE_LABELS = {"operator": "Operador", "supervisor": "Supervisor", "agent": "Agente", "client": "Cliente",
               "sre": "SRE"}
SIGN_IN = "/console/sign-in"


@dataclass(frozen=True)
class Visitor:
    """A signed-in person and their session's token (never shown: only its CSRF token is)."""

    principal: Principal
    session_token: str

    @property
    def csrf(self) -> str:
        return csrf_token(self.session_token)

    def layout(self) -> dict[str, str | None]:
        """What the shared layout's header needs: the person, their role in Spanish, the CSRF token."""
        return {**layout_of(self.principal), "csrf_token": self.csrf}

    def sent(self, offered: str | None) -> bool:
        """Whether a form or request carries this session's CSRF token."""
        return csrf_matches(self.session_token, offered)


def layout_of(principal: Principal | None) -> dict[str, str | None]:
    """The header's person and role for a page shown without the session's token (a refusal)."""
    if principal is None:
        return {"user": None, "role_label": None}
    return {"user": principal.user_email, "role_label": ROLE_LABELS.get(principal.role, principal.role)}


async def visitor(request: Request, platform: Platform) -> Visitor | None:
    """The person signed in on this request (a live session in the identity schema), or None."""
    token = session_token_of(request.headers.get("cookie", ""))
    principal = await platform.auth.sessions.principal(token, now=platform.clock()) if token else None
    return None if principal is None or token is None else Visitor(principal, token)


def to_sign_in() -> RedirectResponse:
    return RedirectResponse(SIGN_IN, status_code=303)


def to_own_client(principal: Principal, prefix: str) -> RedirectResponse | None:
    """From a page that lists client companies (under `prefix`): a client company's person straight to its own
    page, since there is nothing to choose; None for everyone else."""
    if principal.role == "client" and principal.client_slug:
        return RedirectResponse(f"{prefix}/{principal.client_slug}", status_code=303)
    return None
