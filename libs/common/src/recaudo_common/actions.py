"""Who did what: every change a person or a key asks of the API (POST, PUT, PATCH, DELETE), recorded with the
person's name (their e-mail) or the key's id, the route, the client company and account it touched, and what it
answered; refusals too (who tried). Read back at `GET /v1/actions` (recaudo_common.actions_api)."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from prometheus_client import Counter

from recaudo_common.auth import Principal
from recaudo_common.db import Database, sql

log = logging.getLogger(__name__)
CHANGES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Reads that change something all the same: the agent desk's next call is handed to whoever asks (and kept on the
# call as assigned_to), so asking is an action of that person.
CHANGING_READS = frozenset({("GET", "/v1/agent/next")})
ACTIONS_NOT_RECORDED = Counter("recaudo_actions_not_recorded_total",
                               "Changes asked of the API whose record could not be written", ["service"])
# A path parameter is the caller's text: kept no longer than a reference can be.
_MAX_REF = 200


@dataclass(frozen=True)
class Action:
    """One change asked of the API, as recorded."""

    id: int
    at: dt.datetime
    actor: str
    role: str
    service: str
    method: str
    route: str
    client_slug: str | None
    account_ref: str | None
    status: int
    request_id: str


@dataclass(frozen=True)
class Asked:
    """What the HTTP layer knows of a request once answered."""

    service: str
    method: str
    route: str
    path_params: dict[str, str]
    status: int
    request_id: str


def worth_recording(method: str, route: str) -> bool:
    """A change to a route that exists: reads are not actions, but for those that change something (and a request
    refused before anyone was known, no key or a bad one, has no one to name: the caller checks there is a
    principal)."""
    return (method in CHANGES and route != "unmatched") or (method, route) in CHANGING_READS


async def record(db: Database, principal: Principal, asked: Asked, *, at: dt.datetime) -> None:
    """Writes the action in a transaction of its own; a failure is logged and counted, never the caller's: the
    change itself was answered already."""
    # The path's company only when the caller may see it: a change refused because it may not is the caller's own
    # company's action, not a row (with the caller's name and an account of its choosing) in another's list.
    named = asked.path_params.get("slug")
    seen = named is not None and principal.can_see_client(named)
    client = named if seen else principal.client_slug
    account = asked.path_params.get("account_ref") if seen else None
    try:
        async with db.transaction() as s:
            await s.execute(sql(
                "INSERT INTO identity.actions (at, actor, role, service, method, route, client_slug, account_ref,"
                " status, request_id) VALUES (:at, :actor, :role, :service, :method, :route, :client, :account,"
                " :status, :request_id)"),
                {"at": at, "actor": principal.actor, "role": principal.role, "service": asked.service,
                 "method": asked.method, "route": asked.route, "client": None if client is None else client[:_MAX_REF],
                 "account": None if account is None else account[:_MAX_REF], "status": asked.status,
                 "request_id": asked.request_id})
    except Exception as exc:  # the answer is given: the gap is counted and logged for an SRE
        ACTIONS_NOT_RECORDED.labels(asked.service).inc()
        log.error("action not recorded", extra={"fields": {
            "route": asked.route, "method": asked.method, "request_id": asked.request_id,
            "error": type(exc).__name__}})


async def actions_page(db: Database, *, clients: tuple[str, ...] | None, client: str | None, actor: str | None,
                       before: int | None, limit: int) -> list[Action]:
    """Actions newest first (by id), those before `before`; within `clients` when given (a scoped caller), of one
    client company or one actor when asked."""
    where = ["(CAST(:before AS bigint) IS NULL OR id < :before)"]
    params: dict[str, object] = {"before": before, "n": limit}
    if clients is not None:
        where.append("client_slug = ANY(:clients)")
        params["clients"] = list(clients)
    if client is not None:
        where.append("client_slug = :client")
        params["client"] = client
    if actor is not None:
        where.append("actor = :actor")
        params["actor"] = actor
    async with db.transaction() as s:
        rows = (await s.execute(sql(
            "SELECT id, at, actor, role, service, method, route, client_slug, account_ref, status, request_id"
            f" FROM identity.actions WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT :n"), params)).all()
    return [Action(*row) for row in rows]
