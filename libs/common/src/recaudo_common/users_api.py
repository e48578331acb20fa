"""HTTP routes of the console's users: operators create, list, disable them, set a new password, and limit an
agency user to some client companies.

Mounted beside the key routes by the unit that owns client companies (ingest); only an operator with no client
scope (a key or a signed-in operator) manages people, never a supervisor.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from recaudo_common.auth import AGENCY_STAFF, Principal, Role
from recaudo_common.dependencies import PlatformDep, caller_who, from_app_state
from recaudo_common.errors import ProblemError, not_found
from recaudo_common.identity_api import Clients
from recaudo_common.identity_settings import IDENTITY_SETTINGS, IdentitySettings
from recaudo_common.pagination import Page, Paging, invalid_cursor
from recaudo_common.people import (
    EmailTaken,
    ScopeRefused,
    User,
    UserStore,
    email_problem,
    hash_password,
    password_problem,
    seal_totp,
)
from recaudo_common.routing import AuthorisedFirstRoute
from recaudo_common.totp import new_secret, provisioning_uri

router = APIRouter(route_class=AuthorisedFirstRoute, prefix="/v1/users", tags=["identity"])
IdentityConfig = Annotated[IdentitySettings, Depends(from_app_state(IDENTITY_SETTINGS, IdentitySettings))]


class UserIn(BaseModel):
    """v1"""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"email": "ana.gomez@agencia.co", "password": "una frase larga de acceso", "role": "agent"},
        {"email": "tesoreria@bancoandino.co", "password": "otra frase larga y propia", "role": "client",
         "client": "banco-andino"},
        {"email": "luis.rojas@agencia.co", "password": "la frase larga de Luis", "role": "agent",
         "clients": ["banco-andino", "financiera-del-sur"]}]})
    email: str = Field(max_length=254)
    password: str | None = Field(None, max_length=1024,
                                 description="none: the user signs in only through an identity provider")
    role: Role
    client: str | None = Field(None, description="the client company a `client` user belongs to")
    clients: list[str] | None = Field(
        None, min_length=1, max_length=500,
        description="limit an operator, supervisor or agent to these client companies (none: every one)")
    totp: bool = Field(False, description="operators only: ask a TOTP code at sign-in; the secret is shown once")


USER_EXAMPLE: JsonDict = {
    "id": "b8e3f1a2-6c4d-4e9f-8a7b-1d2c3e4f5a60", "email": "ana.gomez@agencia.co", "role": "agent",
    "clients": ["banco-andino", "financiera-del-sur"], "created_at": "2026-11-03T09:02:45-05:00",
    "created_by": "user carolina.diaz@agencia.co", "has_password": True, "totp": False}


class UserOut(BaseModel):
    """v1"""

    model_config = ConfigDict(json_schema_extra={"examples": [USER_EXAMPLE]})
    id: uuid.UUID
    email: str
    role: Role
    # Absent rather than null where there is none (these answers leave out what is none), so the schema says so.
    client: str | None = Field(None, description="the client company of a client user; absent for the others")
    clients: list[str] | None = Field(
        None, description="the client companies an agency user is limited to; absent: every one")
    created_at: dt.datetime
    created_by: str
    disabled_at: dt.datetime | None = Field(None, description="when the user was disabled; absent while enabled")
    has_password: bool
    totp: bool
    totp_uri: str | None = Field(None, description="shown once, when the user is created with totp: true")

    @classmethod
    def of(cls, user: User, totp_uri: str | None = None) -> UserOut:
        return cls(id=user.id, email=user.email, role=user.role, client=user.client_slug,
                   clients=list(user.client_scope) if user.client_scope is not None else None,
                   created_at=user.created_at,
                   created_by=user.created_by, disabled_at=user.disabled_at, has_password=user.has_password,
                   totp=user.has_totp, totp_uri=totp_uri)


class UserList(Page[UserOut]):
    """v1: a page of the users, newest first; `next` links the following page. A user's fields that are none are
    null here."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "items": [{**USER_EXAMPLE, "client": None, "disabled_at": None, "totp_uri": None}],
        "next": "/v1/users?cursor=WyIyMDI2LTExLTAzVDE0OjAyOjQ1KzAwOjAwIiwiYjhlM2YxYTItNmM0ZC00ZTlmLThhN2ItMWQyYzNlNGY1"
                "YTYwIl0&limit=50"}]})


class PasswordIn(BaseModel):
    """v1"""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"password": "una frase nueva y larga"}]})
    password: str = Field(max_length=1024)


class UserChangeIn(BaseModel):
    """v1: what an operator changes of a user; a field left out stays as it is."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"clients": ["banco-andino"]}, {"clients": None}]})
    clients: list[str] | None = Field(
        None, min_length=1, max_length=500,
        description="limit an operator, supervisor or agent to these client companies; null: every one again")


def _require_people_manager(principal: Principal) -> None:
    if principal.role != "operator" or principal.client_scope is not None:
        raise ProblemError(403, "forbidden", "Forbidden",
                           "only an operator (a key without client scope, or a signed-in operator) manages users")


# The caller, if it manages people; a dependency, so the refusal comes before the body is read.
PeopleManager = Annotated[Principal, Depends(caller_who(_require_people_manager))]


def _invalid(detail: str, code: str = "invalid_user") -> ProblemError:
    return ProblemError(422, code, "Invalid user", detail)


async def _require_known(clients: Clients, slugs: list[str]) -> None:
    if unknown := await clients.unknown(slugs):
        raise ProblemError(422, "unknown_client", "Unknown client company",
                           f"no client company {', '.join(repr(u) for u in unknown)}")


def _store(platform: PlatformDep) -> UserStore:
    return UserStore(platform.db)


@router.post("", status_code=201, response_model=UserOut, response_model_exclude_none=True,
             responses={409: {"description": "a user with that e-mail (whatever its case) exists"},
                        422: {"description": "a bad e-mail, a weak password, or a role without its client company"}})
async def create_user(body: UserIn, principal: PeopleManager, platform: PlatformDep, clients: Clients,
                      identity: IdentityConfig, response: Response) -> UserOut:
    """A named user who signs in on the console. Passwords are kept only as argon2id hashes."""
    if problem := email_problem(body.email):
        raise _invalid(problem)
    if (body.role == "client") != (body.client is not None):
        raise _invalid("a client user needs `client`; agency users take none")
    if body.totp and body.role != "operator":
        raise _invalid("a TOTP second factor is for operators")
    if body.password is not None and (
            weak := password_problem(body.password, email=body.email, min_chars=identity.password_min_chars)):
        raise _invalid(weak, "weak_password")
    if body.clients is not None and body.role not in AGENCY_STAFF:
        raise _invalid("only operators, supervisors and agents take `clients` (a client user has its `client`)")
    await _require_known(clients, ([body.client] if body.client else []) + list(body.clients or []))
    secret = new_secret() if body.totp else None
    try:
        user = await _store(platform).create(
            email=body.email, role=body.role, client_slug=body.client,
            password_hash=await hash_password(body.password) if body.password is not None else None,
            totp_secret=seal_totp(platform.settings, email=body.email, secret=secret) if secret else None,
            by=principal.actor, now=platform.clock(), client_scope=body.clients)
    except EmailTaken:
        raise ProblemError(409, "email_taken", "Conflict", "a user with that e-mail exists") from None
    response.headers["Location"] = f"/v1/users/{user.id}"
    return UserOut.of(user, provisioning_uri(secret, account=user.email) if secret else None)


@router.get("", response_model=UserList)
async def list_users(principal: PeopleManager, platform: PlatformDep, paging: Paging,
                     response: Response) -> UserList:
    """Every user, newest first, a page at a time (cursor and limit; follow `next`)."""
    after = None
    if (key := paging.key(2)) is not None:
        try:
            after = dt.datetime.fromisoformat(str(key[0])), uuid.UUID(str(key[1]))
        except ValueError:
            raise invalid_cursor() from None
        if after[0].tzinfo is None:
            raise invalid_cursor()
    users = await _store(platform).page(after=after, limit=paging.limit + 1)
    page = paging.page([UserOut.of(u) for u in users], lambda u: (u.created_at.isoformat(), str(u.id)), response)
    return UserList(items=page.items, next=page.next)


@router.get("/{user_id}", response_model=UserOut, response_model_exclude_none=True)
async def get_user(user_id: uuid.UUID, principal: PeopleManager, platform: PlatformDep) -> UserOut:
    """One user: their role, client company, whether they have a password and a TOTP, and who created them."""
    user = await _store(platform).get(user_id)
    if user is None:
        raise not_found("user")
    return UserOut.of(user)


@router.patch("/{user_id}", response_model=UserOut, response_model_exclude_none=True,
              responses={422: {"description": "`clients` names a company that does not exist, or the user is not "
                                              "an operator, supervisor or agent"}})
async def change_user(user_id: uuid.UUID, body: UserChangeIn, principal: PeopleManager, platform: PlatformDep,
                      clients: Clients) -> UserOut:
    """Limits an operator, supervisor or agent to some client companies (`clients`), or lifts the limit
    (`"clients": null`). It holds from the user's next request, in every service, with no new sign-in."""
    await _require_known(clients, list(body.clients or []))
    store = _store(platform)
    user = await store.get(user_id)
    if user is None:
        raise not_found("user")
    if "clients" not in body.model_fields_set:
        return UserOut.of(user)
    if body.clients is not None and user.role not in AGENCY_STAFF:
        raise _invalid("only operators, supervisors and agents take `clients` (a client user has its `client`)")
    try:
        changed = await store.set_client_scope(user_id, body.clients)
    except ScopeRefused:  # the table's own check, should the role and this request cross
        raise _invalid("only operators, supervisors and agents take `clients`") from None
    if changed is None:
        raise not_found("user")
    return UserOut.of(changed)


@router.post("/{user_id}/disable", response_model=UserOut, response_model_exclude_none=True)
async def disable_user(user_id: uuid.UUID, principal: PeopleManager, platform: PlatformDep) -> UserOut:
    """The user can no longer sign in, and every session of theirs ends now. Disabling twice changes nothing."""
    user = await _store(platform).disable(user_id, now=platform.clock())
    if user is None:
        raise not_found("user")
    return UserOut.of(user)


@router.post("/{user_id}/password", response_model=UserOut, response_model_exclude_none=True,
             responses={422: {"description": "the password is too short, too long, or the e-mail itself"}})
async def reset_password(user_id: uuid.UUID, body: PasswordIn, principal: PeopleManager,
                         platform: PlatformDep, identity: IdentityConfig) -> UserOut:
    """An operator sets a new password (the user forgot theirs) and tells it to them out of band; every session
    of the user ends. There are no reset e-mails: the platform sends none to its own staff."""
    store = _store(platform)
    user = await store.get(user_id)
    if user is None:
        raise not_found("user")
    if weak := password_problem(body.password, email=user.email, min_chars=identity.password_min_chars):
        raise _invalid(weak, "weak_password")
    changed = await store.set_password(user_id, await hash_password(body.password), now=platform.clock())
    if changed is None:
        raise not_found("user")
    return UserOut.of(changed)
