"""HTTP routes of the identity component: operators create, list and revoke API keys.

`router` is mounted by the unit that owns client companies (ingest), which also puts its finder of them on
`app.state` (`ServiceUnit.app_state={CLIENT_FINDER: ...}`) so a key can name only a company that is one.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from pydantic.config import JsonDict
from sqlalchemy.ext.asyncio import AsyncSession

from recaudo_common.auth import KeyRecord, KeyRole, Principal, Role
from recaudo_common.db import Database, sql
from recaudo_common.dependencies import PlatformDep, caller_who
from recaudo_common.errors import ProblemError, not_found
from recaudo_common.pagination import Page, PageRequest, cursor_time, cursor_uuid, page_request
from recaudo_common.routing import AuthorisedFirstRoute

# The `app.state` name of the mounting unit's finder of client companies (a row, or None where there is none).
CLIENT_FINDER = "identity_client_finder"
ClientFinder = Callable[[AsyncSession, str], Awaitable[object | None]]


class KeyIn(BaseModel):
    """v1"""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"role": "client", "client": "banco-andino", "label": "Integración SFTP de Banco Andino",
         "expires_at": "2027-12-31T23:59:59-05:00"},
        {"role": "operator", "client_scope": ["banco-andino", "financiera-del-sur"], "label": "Mesa de operaciones"}]})
    role: KeyRole
    client: str | None = Field(None, description="the client company a `client` key is bound to")
    client_scope: list[str] | None = Field(None, description="limit an operator key to these client companies")
    label: str | None = Field(None, max_length=200)
    expires_at: AwareDatetime | None = Field(None, description="when the key stops working (none: never)")


class KeyOut(BaseModel):
    """v1: the key itself is shown once, here."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "7c9e6679-7425-40de-944b-e07fc1f90ae7", "role": "client", "client": "banco-andino",
        "key": "rk_EjemploNoReal-2b7f4c9e1a0d3f6b8c5e7a9d1f3b5c7e9a1d3f5b7c",
        "expires_at": "2027-12-31T23:59:59-05:00"}]})
    id: uuid.UUID
    role: Role
    client: str | None
    key: str
    expires_at: dt.datetime | None = None


KEY_INFO_EXAMPLE: JsonDict = {
    "id": "7c9e6679-7425-40de-944b-e07fc1f90ae7", "role": "client", "client": "banco-andino", "client_scope": None,
    "label": "Integración SFTP de Banco Andino", "created_at": "2026-11-02T14:20:11-05:00",
    "expires_at": "2027-12-31T23:59:59-05:00", "revoked_at": None, "hint": "5b7c"}


class KeyInfo(BaseModel):
    """v1: a key without its secret; `hint` is its last four characters, to recognise it."""

    model_config = ConfigDict(json_schema_extra={"examples": [KEY_INFO_EXAMPLE]})

    id: uuid.UUID
    role: Role
    client: str | None
    client_scope: list[str] | None
    label: str | None
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    hint: str | None

    @classmethod
    def of(cls, record: KeyRecord) -> KeyInfo:
        return cls(id=record.id, role=record.role, client=record.client_slug,
                   client_scope=list(record.client_scope) if record.client_scope is not None else None,
                   label=record.label, created_at=record.created_at, expires_at=record.expires_at,
                   revoked_at=record.revoked_at, hint=record.hint)


class KeyList(Page[KeyInfo]):
    """v1: a page of the keys, newest first; `next` links the following page."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "items": [KEY_INFO_EXAMPLE,
                  {"id": "c2d4e6f8-1a3b-4c5d-9e7f-0a1b2c3d4e5f", "role": "operator", "client": None,
                   "client_scope": ["banco-andino", "financiera-del-sur"], "label": "Mesa de operaciones",
                   "created_at": "2026-10-15T09:00:00-05:00", "expires_at": None,
                   "revoked_at": "2026-11-30T18:22:07-05:00", "hint": "e41a"}],
        "next": "/v1/keys?cursor=WyIyMDI2LTEwLTE1VDE0OjAwOjAwKzAwOjAwIiwiYzJkNGU2ZjgtMWEzYi00YzVkLTllN2YtMGExYjJjM2Q0ZT"
                "VmIl0&limit=100"}]})


# A page of keys: 100 unless asked, up to 1000 (the list answered up to 10,000 at once before it was paged).
KeyPaging = Annotated[PageRequest, page_request(default=100, maximum=1000)]


@dataclass(frozen=True)
class ClientDirectory:
    """Which client companies exist, as the mounting unit finds them; with no finder mounted, any name is taken."""

    db: Database
    find: ClientFinder | None

    async def unknown(self, slugs: Sequence[str]) -> list[str]:
        if self.find is None or not slugs:
            return []
        async with self.db.transaction() as session:
            return [slug for slug in slugs if await self.find(session, slug) is None]


async def get_client_directory(request: Request, platform: PlatformDep) -> ClientDirectory:
    find: ClientFinder | None = getattr(request.app.state, CLIENT_FINDER, None)
    return ClientDirectory(platform.db, find)


Clients = Annotated[ClientDirectory, Depends(get_client_directory)]

router = APIRouter(route_class=AuthorisedFirstRoute, prefix="/v1", tags=["identity"])


def key_manager(what: str) -> Callable[[Principal], Awaitable[Principal]]:
    """The caller, if it may `what` keys: an operator with no client scope (a supervisor does what an operator
    does, but manage keys and people). A dependency, so the refusal comes before the body is read."""

    def check(principal: Principal) -> None:
        if principal.role != "operator":
            raise ProblemError(403, "forbidden", "Forbidden", f"only an operator may {what} keys")
        if principal.client_scope is not None:
            raise ProblemError(403, "forbidden", "Forbidden", f"a scoped operator key cannot {what} keys")

    return caller_who(check)


def _invalid(detail: str) -> ProblemError:
    return ProblemError(422, "invalid_key_request", "Invalid key request", detail)


@router.post("/keys", status_code=201, response_model=KeyOut)
async def create_key(body: KeyIn, _manager: Annotated[Principal, Depends(key_manager("create"))],
                     platform: PlatformDep, clients: Clients, response: Response) -> KeyOut:
    """An operator (with an unscoped key or session) creates an API key for a machine: a client company's, an
    operator's (optionally limited to some client companies) or an SRE's; the key is shown once, here. Refused 403
    for anyone else, 422 invalid_key_request (an expiry past, a client key without its client) or
    unknown_client."""
    if body.expires_at is not None and body.expires_at <= platform.clock():
        raise _invalid("expires_at must be in the future")
    if (body.role == "client") != (body.client is not None):
        raise _invalid("a client key needs `client`; operator and sre keys take none")
    if body.client_scope is not None and body.role != "operator":
        raise _invalid("only operator keys take client_scope")
    unknown = await clients.unknown(([body.client] if body.client else []) + list(body.client_scope or []))
    if unknown:
        raise ProblemError(422, "unknown_client", "Unknown client company",
                           f"no client company {', '.join(repr(u) for u in unknown)}")
    key_id, key = await platform.keys.create(role=body.role, client_slug=body.client,
                                             client_scope=body.client_scope, label=body.label,
                                             now=platform.clock(), expires_at=body.expires_at)
    response.headers["Location"] = f"/v1/keys/{key_id}"  # where it is revoked (DELETE); listed at /v1/keys
    return KeyOut(id=key_id, role=body.role, client=body.client, key=key, expires_at=body.expires_at)


@router.get("/keys", response_model=KeyList)
async def list_keys(_manager: Annotated[Principal, Depends(key_manager("list"))], platform: PlatformDep,
                    paging: KeyPaging, response: Response) -> KeyList:
    """Every key, newest first: who it is for, when it expires or was revoked, and its last four
    characters; never the key or its hash. Follow `next`."""
    key = paging.key(2)
    after = None if key is None else (cursor_time(key[0]), cursor_uuid(key[1]))
    found = await _keys_page(platform.db, after=after, limit=paging.limit + 1)
    page = paging.page([KeyInfo.of(r) for r in found], lambda k: (k.created_at.isoformat(), str(k.id)), response)
    return KeyList(items=page.items, next=page.next)


async def _keys_page(db: Database, *, after: tuple[dt.datetime, uuid.UUID] | None, limit: int) -> list[KeyRecord]:
    """Keys newest first, then by id (KeyStore.list's order), those after `after`: the last one of the previous
    page."""
    after_clause = "WHERE created_at < :t OR (created_at = :t AND id > :id) " if after else ""
    async with db.transaction() as s:
        rows = (await s.execute(sql(
            "SELECT id, role, client_slug, client_scope, label, created_at, expires_at, revoked_at, key_hint "
            f"FROM identity.api_keys {after_clause}ORDER BY created_at DESC, id LIMIT :n"),
            {"n": limit, **({"t": after[0], "id": after[1]} if after else {})})).mappings().all()
    return [KeyRecord(r["id"], r["role"], r["client_slug"], None if r["client_scope"] is None else tuple(
        r["client_scope"]), r["label"], r["created_at"], r["expires_at"], r["revoked_at"], r["key_hint"])
        for r in rows]


@router.delete("/keys/{key_id}", status_code=204)
async def revoke_key(key_id: uuid.UUID, _manager: Annotated[Principal, Depends(key_manager("revoke"))],
                     platform: PlatformDep) -> Response:
    """An operator revokes a key: it stops working at once (204); 404 for a key that does not exist, 403 for
    anyone but an unscoped operator."""
    if not await platform.keys.revoke(key_id, now=platform.clock()):
        raise not_found("API key")
    return Response(status_code=204)
