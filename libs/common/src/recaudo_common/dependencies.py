"""FastAPI dependencies every service's module-level routes share: the platform, the caller, the client company.

A route declares what it needs in its signature and never closes over a platform object:

    ClientOfOperator = Annotated[ClientCopy, Depends(client_of(store.SCHEMA, roles=("operator",)))]

    @router.put("/clients/{slug}/costs")
    async def put_costs(body: CostsIn, client: ClientOfOperator, platform: PlatformDep) -> CostsOut: ...
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from recaudo_common.auth import Principal, Role
from recaudo_common.client_copy import ClientCopy, get_client
from recaudo_common.errors import not_found
from recaudo_common.runtime import Platform
from recaudo_common.sessions import SESSION_COOKIE

OPERATOR_OR_CLIENT: tuple[Role, ...] = ("operator", "client")
OPERATOR_ONLY: tuple[Role, ...] = ("operator",)
AGENT_DESK: tuple[Role, ...] = ("operator", "agent")  # an agent works the agent desk and nothing else

State = TypeVar("State")
Client = TypeVar("Client")  # a service's own record of a client company (its copy, or ingest's full row)


async def get_platform(request: Request) -> Platform:
    """The platform the app was built on (`recaudo_common.runtime.build_app` puts it on `app.state`). The
    request-path dependencies are `async def` although they do no I/O: FastAPI runs a plain `def` dependency in
    its thread pool, a thread hop on every request (#24)."""
    platform: Platform = request.app.state.platform
    return platform


PlatformDep = Annotated[Platform, Depends(get_platform)]


# How a caller authenticates, as the OpenAPI document declares it (Swagger UI's "Authorize"): a machine's API key
# as a bearer token, or a person's session cookie from signing in on the console. The authenticator reads both
# itself (auto_error off): these only declare them, on every operation that takes the caller.
API_KEY = HTTPBearer(scheme_name="apiKey", bearerFormat="rk_…", auto_error=False,
                     description="An API key (`Authorization: Bearer rk_…`), made by an operator at POST /v1/keys.")
SESSION = APIKeyCookie(name=SESSION_COOKIE, scheme_name="session", auto_error=False,
                       description="The session cookie set by signing in at /console/sign-in (HttpOnly). Every "
                                   "unsafe method it signs also carries the X-CSRF-Token header of the console page.")


async def get_principal(request: Request, platform: PlatformDep,
                        _key: HTTPAuthorizationCredentials | None = Security(API_KEY),
                        _session: str | None = Security(SESSION)) -> Principal:
    """The caller, authenticated by the platform's own authenticator (the gate may have done it already); kept on
    the request's state for the access log (its role and client company)."""
    principal = await platform.auth(request)
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def caller_who(check: Callable[[Principal], None]) -> Callable[[Principal], Awaitable[Principal]]:
    """The caller, once `check` (which raises the refusal) has let it through. As a dependency the check is made
    before the body is validated, so a caller without the right is told 403, not what the body should have been."""

    async def authorised(principal: CurrentPrincipal) -> Principal:
        check(principal)
        return principal

    return authorised


def caller_with(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """The caller, refused 403 unless it has one of `roles` (before the body is read, as `caller_who`)."""
    return caller_who(lambda principal: principal.require_role(*roles))


def caller_for_client(roles: tuple[Role, ...] = OPERATOR_OR_CLIENT) -> Callable[[str, Principal],
                                                                               Awaitable[Principal]]:
    """The caller, allowed to act for the path's `{slug}` with one of `roles` (a client key asking about another
    company gets 404, as if it did not exist), checked before the body is read: for the routes that need no record
    of the company itself (`client_of` reads it too)."""

    async def authorised(slug: str, principal: CurrentPrincipal) -> Principal:
        principal.require_client(slug, roles=roles)
        return principal

    return authorised


Operator = Annotated[Principal, Depends(caller_with(*OPERATOR_ONLY))]
OperatorOrClient = Annotated[Principal, Depends(caller_with(*OPERATOR_OR_CLIENT))]


def client_found_by(find: Callable[[AsyncSession, str], Awaitable[Client | None]], *,
                    roles: tuple[Role, ...] = OPERATOR_OR_CLIENT
                    ) -> Callable[[str, Principal, Platform], Awaitable[Client]]:
    """The dependency that reads the path's `{slug}`, checks the caller's right to that client company (a
    client key asking for another's gets 404, as if it did not exist) and finds it with `find`, or answers 404.
    Authorisation comes first, so a refusal never says whether it exists."""

    async def client_company(slug: str, principal: CurrentPrincipal, platform: PlatformDep) -> Client:
        principal.require_client(slug, roles=roles)
        async with platform.db.transaction() as session:
            client = await find(session, slug)
        if client is None:
            raise not_found(f"client company {slug!r}")
        return client

    return client_company


def client_of(schema: str, *, roles: tuple[Role, ...] = OPERATOR_OR_CLIENT
              ) -> Callable[[str, Principal, Platform], Awaitable[ClientCopy]]:
    """`client_found_by` the service's own copy of client companies (`{schema}.clients`)."""

    async def find(session: AsyncSession, slug: str) -> ClientCopy | None:
        return await get_client(session, schema, slug)

    return client_found_by(find, roles=roles)


def from_app_state(name: str, kind: type[State]) -> Callable[[Request], Awaitable[State]]:
    """A dependency that hands a route what its unit made once at startup and put on `app.state` under `name`
    (ServiceUnit.app_state): its settings-made limits, caches, providers."""
    async def get(request: Request) -> State:
        value = getattr(request.app.state, name)
        if not isinstance(value, kind):
            raise TypeError(f"app.state.{name} is a {type(value).__name__}, not a {kind.__name__}")
        return value
    get.__name__ = f"get_{name}"
    return get
