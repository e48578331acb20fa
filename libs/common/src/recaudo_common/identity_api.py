"""HTTP routes of the identity component: operators create and revoke API keys."""


import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field

from recaudo_common.auth import Principal, Role
from recaudo_common.errors import ProblemError, not_found
from recaudo_common.runtime import Platform


class KeyIn(BaseModel):
    """v1"""

    model_config = ConfigDict(extra="forbid")
    role: Role
    client: str | None = Field(None, description="the client company a `client` key is bound to")
    client_scope: list[str] | None = Field(None, description="limit an operator key to these client companies")
    label: str | None = None


class KeyOut(BaseModel):
    """v1: the key itself is shown once, here."""

    id: uuid.UUID
    role: Role
    client: str | None
    key: str


def build_keys_router(platform: Platform,
                      client_exists: Callable[[str], Awaitable[bool]] | None = None) -> APIRouter:
    """`client_exists` (from the service that owns client companies) refuses keys for a company that is not one."""
    router = APIRouter(prefix="/v1", tags=["identity"])
    Auth = Annotated[Principal, Depends(platform.auth)]

    @router.post("/keys", status_code=201, response_model=KeyOut)
    async def create_key(body: KeyIn, principal: Auth) -> KeyOut:
        principal.require_role("operator")
        if principal.client_scope is not None:
            raise ProblemError(403, "forbidden", "Forbidden", "a scoped operator key cannot create keys")
        if (body.role == "client") != (body.client is not None):
            raise ProblemError(422, "invalid_key_request", "Invalid key request",
                               "a client key needs `client`; operator and sre keys take none")
        if body.client_scope is not None and body.role != "operator":
            raise ProblemError(422, "invalid_key_request", "Invalid key request",
                               "only operator keys take client_scope")
        named = ([body.client] if body.client else []) + list(body.client_scope or [])
        unknown = [slug for slug in named if client_exists is not None and not await client_exists(slug)]
        if unknown:
            raise ProblemError(422, "unknown_client", "Unknown client company",
                               f"no client company {', '.join(repr(u) for u in unknown)}")
        key_id, key = await platform.keys.create(role=body.role, client_slug=body.client,
                                                 client_scope=body.client_scope, label=body.label,
                                                 now=platform.clock())
        return KeyOut(id=key_id, role=body.role, client=body.client, key=key)

    @router.delete("/keys/{key_id}", status_code=204)
    async def revoke_key(key_id: uuid.UUID, principal: Auth) -> Response:
        principal.require_role("operator")
        if principal.client_scope is not None:
            raise ProblemError(403, "forbidden", "Forbidden", "a scoped operator key cannot revoke keys")
        if not await platform.keys.revoke(key_id, now=platform.clock()):
            raise not_found("API key")
        return Response(status_code=204)

    return router
