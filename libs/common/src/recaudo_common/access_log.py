"""The access log: one JSON line per request on stdout, and the request's id (the caller's X-Request-ID or ours)."""

from __future__ import annotations

import logging
import re
import uuid

from recaudo_common.events.envelope import new_event_id
from recaudo_common.outbox import Cause
from recaudo_common.telemetry import ACCESS_MESSAGE

access_log = logging.getLogger("recaudo.access")

# A caller's id is taken only as a UUID (what load balancers and meshes send: Envoy's x-request-id, a gateway's),
# with or without hyphens: bounded, and it cannot hold a name, a phone number or an e-mail address.
_REQUEST_ID = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")


def request_cause(offered: str | None) -> tuple[str, Cause]:
    """The request's id and the cause its events are emitted under. The caller's well-formed X-Request-ID is the
    correlation of everything the request brings about (so its own logs and ours join); otherwise a new id is."""
    if offered is not None and _REQUEST_ID.fullmatch(offered.strip()):
        correlation = uuid.UUID(offered.strip())
        return str(correlation), Cause(correlation, new_event_id())
    cause = Cause.command()
    return str(cause.correlation_id), cause


def log_access(*, service: str, method: str, route: str, status: int, elapsed_s: float, request_id: str,
               principal: object | None) -> None:
    """What was asked (the route's template, never the raw path: account refs and id numbers are in paths, and
    never the query), by whom (the caller's role and client company, never the key), what it answered and when."""
    if not access_log.isEnabledFor(logging.INFO):
        return
    fields: dict[str, object] = {
        "method": method, "route": route, "status": status, "duration_ms": round(elapsed_s * 1000, 3),
        "request_id": request_id, "service": service,
    }
    role = getattr(principal, "role", None)
    if role is not None:
        fields["role"] = role
        fields["client"] = getattr(principal, "client_slug", None)
    access_log.info(ACCESS_MESSAGE, extra={"checked_fields": fields})
