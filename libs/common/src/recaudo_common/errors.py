"""RFC 9457 problem details with stable codes, and the handlers that render every error as one."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from recaudo_common.db import exception_chain, is_transient
from recaudo_common.domain_errors import (
    Conflict,
    DomainError,
    Invalid,
    NotAllowed,
    NotFound,
    NotRecorded,
    PreconditionFailed,
)
from recaudo_common.routing import UNPARSED_BODY

log = logging.getLogger("recaudo.errors")

PROBLEM_JSON = "application/problem+json"


class Problem(BaseModel):
    """The body of every error answer."""

    type: str = "about:blank"
    title: str
    status: int
    code: str
    detail: str | None = None
    instance: str | None = None  # where the record of this refusal can be fetched later, when there is one
    errors: list[dict[str, Any]] | None = None


class ProblemError(Exception):
    """Raise to answer with a problem-details body."""

    def __init__(
        self, status: int, code: str, title: str, detail: str | None = None,
        errors: list[dict[str, Any]] | None = None, headers: dict[str, str] | None = None,
        instance: str | None = None,
    ) -> None:
        super().__init__(f"{code}: {detail or title}")
        self.problem = Problem(
            type=f"https://recaudo.dev/problems/{code}", title=title, status=status, code=code,
            detail=detail, errors=errors, instance=instance,
        )
        self.headers = headers


# The edge's own refusals (authentication, routing); handlers raise recaudo_common.domain_errors instead.
def not_found(what: str) -> ProblemError:
    return ProblemError(404, "not_found", "Not found", f"{what} not found")


def forbidden(detail: str = "this key may not do that") -> ProblemError:
    return ProblemError(403, "forbidden", "Forbidden", detail)


def conflict(code: str, detail: str) -> ProblemError:
    return ProblemError(409, code, "Conflict", detail)


# The status each kind of refusal is answered with: the one place a business refusal meets HTTP.
DOMAIN_STATUS: dict[type[DomainError], int] = {
    Invalid: 422, NotFound: 404, Conflict: 409, NotAllowed: 403, NotRecorded: 500, PreconditionFailed: 412,
}


def problem_of(error: DomainError) -> Problem:
    status = next((s for kind, s in DOMAIN_STATUS.items() if isinstance(error, kind)), 422)
    return Problem(type=f"https://recaudo.dev/problems/{error.code}", title=error.title, status=status,
                   code=error.code, detail=error.detail, errors=error.errors, instance=error.instance)


def _render(problem: Problem, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        problem.model_dump(exclude_none=True), status_code=problem.status, media_type=PROBLEM_JSON,
        headers=headers,
    )


_HTTP_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    409: "conflict", 413: "payload_too_large", 415: "unsupported_media_type", 422: "validation_error",
    429: "too_many_requests", 503: "unavailable",
}


_UNPARSEABLE_BODY = "There was an error parsing the body"  # FastAPI's words when the body cannot be decoded

_DATA_EXCEPTIONS = {"22021": "invalid_text", "22P05": "invalid_text", "22003": "out_of_range",
                    "22008": "invalid_datetime", "22007": "invalid_datetime"}


def _data_exception(exc: BaseException) -> str | None:
    """The stable code of a PostgreSQL data exception (SQLSTATE class 22) in exc's chain: the input's fault."""
    for current in exception_chain(exc):
        state = getattr(current, "sqlstate", None)
        if isinstance(state, str) and state.startswith("22"):
            return _DATA_EXCEPTIONS.get(state, "invalid_value")
    return None


CLIENT_CLOSED_REQUEST = 499


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(ProblemError)
    async def _problem(_: Request, exc: ProblemError) -> JSONResponse:
        return _render(exc.problem, exc.headers)

    @app.exception_handler(DomainError)
    async def _refused(_: Request, exc: DomainError) -> JSONResponse:
        return _render(problem_of(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        unparsed = request.scope.get(UNPARSED_BODY)
        if unparsed is not None:  # the body did not parse, judged once the route's dependencies let the caller by
            return _render(Problem(title="Invalid request", status=422, code="validation_error",
                                   detail="the request does not match its schema", errors=[unparsed]))
        errors = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg"), "type": e.get("type")}
            for e in exc.errors()
        ]
        return _render(Problem(title="Invalid request", status=422, code="validation_error",
                               detail="the request does not match its schema", errors=errors))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.detail == _UNPARSEABLE_BODY:
            # FastAPI answers a JSON syntax error 422 but a body it cannot decode at all (invalid UTF-8, nesting
            # past the parser's depth) 400: one answer for both, so a client handles "not JSON" in one place.
            return _render(Problem(title="Invalid request", status=422, code="validation_error",
                                   detail="the request does not match its schema",
                                   errors=[{"loc": ["body"], "type": "json_invalid",
                                            "msg": "the body is not JSON (not UTF-8, or nested too deeply)"}]))
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return _render(Problem(title=str(exc.detail), status=exc.status_code, code=code), dict(exc.headers or {}))

    @app.exception_handler(ClientDisconnect)
    async def _gone(_: Request, exc: ClientDisconnect) -> Response:
        # The caller hung up before its body arrived (a gateway's timeout, a load balancer's): nothing was done and
        # nobody is left to tell. Not a server error with a traceback: 499, the status proxies log for it, in the
        # access log and the metrics.
        return Response(status_code=CLIENT_CLOSED_REQUEST)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        invalid = _data_exception(exc)
        if invalid is not None:  # PostgreSQL refused a value the request carried (a NUL, an overflow, ...)
            return _render(Problem(title="Invalid value", status=422, code=invalid,
                                   detail="the request carries a value that cannot be stored"))
        if is_transient(exc):  # the database is restarting or out of reach: the client should retry
            log.warning("dependency unavailable", extra={"fields": {"error": type(exc).__name__}})
            return _render(Problem(title="Service temporarily unavailable", status=503, code="unavailable",
                                   detail="a dependency is out of reach; retry shortly"), {"Retry-After": "1"})
        log.exception("unhandled error", exc_info=exc)
        return _render(Problem(title="Internal error", status=500, code="internal_error"))
