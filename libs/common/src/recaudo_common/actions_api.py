"""`GET /v1/actions`: who did what, newest first, as recaudo_common.actions recorded it. Mounted with the key and
user routes by the unit that owns identity (ingest)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from recaudo_common.actions import actions_page
from recaudo_common.dependencies import OperatorOrClient, PlatformDep
from recaudo_common.pagination import Page, Paging, invalid_cursor
from recaudo_common.routing import AuthorisedFirstRoute

router = APIRouter(route_class=AuthorisedFirstRoute, prefix="/v1/actions", tags=["identity"])


ACTION_EXAMPLE: JsonDict = {
    "id": 4211, "at": "2026-12-04T14:05:31Z", "actor": "user eva@bancoandino.co", "role": "operator",
    "service": "outreach", "method": "POST", "route": "/v1/clients/{slug}/accounts/{account_ref}/legal-holds",
    "client_slug": "banco-andino", "account_ref": "CR-2024-000187", "status": 201,
    "request_id": "01937a3c-1d1a-7435-885c-4180eddb6d0b"}


class ActionOut(BaseModel):
    """v1: one change asked of the API, by whom and with what answer."""

    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [ACTION_EXAMPLE]})
    id: int
    at: dt.datetime
    actor: str = Field(description="`user <e-mail>` for a person signed in, `key <id>` for an API key")
    role: str
    service: str = Field(description="the service that answered (`platform` when one process serves them all)")
    method: str
    route: str = Field(description="the route's template, never the raw path")
    client_slug: str | None
    account_ref: str | None
    status: int = Field(description="what it answered: refusals are recorded too")
    request_id: str = Field(description="the request's id (X-Request-ID), which its events carry as correlation")


class ActionList(Page[ActionOut]):
    """v1: a page of actions, newest first; `next` links the following page."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "items": [ACTION_EXAMPLE], "next": "/v1/actions?cursor=WzQyMTFd&limit=50"}]})


@router.get("", response_model=ActionList)
async def list_actions(principal: OperatorOrClient, platform: PlatformDep, paging: Paging, response: Response,
                       client: Annotated[str | None, Query(max_length=100, description="one client company")] = None,
                       actor: Annotated[str | None, Query(max_length=400, description="one actor, as recorded "
                                                                                         "(`user <e-mail>`)")] = None,
                       ) -> ActionList:
    """Who did what: every change a person or key asked of the API (POST, PUT, PATCH, DELETE), with the person's
    name, the route, the client company and account, and the answer, newest first. An operator or supervisor sees
    those of the client companies they may see (all without a scope: also the platform's own, such as keys and
    users); a client company's person or key sees its own company's. Follow `next`."""
    if client is not None:
        principal.require_client(client)
    scope = principal.client_scope if principal.role != "client" else (principal.client_slug or "",)
    key = paging.key(1)
    before = None if key is None else key[0]
    if before is not None and (not isinstance(before, int) or before <= 0):
        raise invalid_cursor()
    found = await actions_page(platform.db, clients=scope, client=client, actor=actor, before=before,
                               limit=paging.limit + 1)
    page = paging.page([ActionOut.model_validate(a) for a in found], lambda a: (a.id,), response)
    return ActionList(items=page.items, next=page.next)
