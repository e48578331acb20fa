"""What the unit that mounts identity (ingest) adds to itself: the key and user routes, who did what, signing in
and out, and the OpenID Connect sign-in, with their body rules and per-app state."""

from __future__ import annotations

from fastapi import APIRouter

from recaudo_common.actions_api import router as actions_router
from recaudo_common.console import sign_in
from recaudo_common.console.oidc import router as oidc_router
from recaudo_common.gate import BodyRule
from recaudo_common.identity_api import router as keys_router
from recaudo_common.identity_settings import IDENTITY_SETTINGS, IdentitySettings
from recaudo_common.users_api import router as users_router

ROUTERS: list[APIRouter] = [keys_router, users_router, actions_router, sign_in.router, oidc_router]
BODY_RULES: list[BodyRule] = [*sign_in.BODY_RULES]


def app_state(settings: IdentitySettings) -> dict[str, object]:
    """The unit's identity settings."""
    return {IDENTITY_SETTINGS: settings}
