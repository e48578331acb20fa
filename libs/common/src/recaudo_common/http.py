"""The FastAPI application every service serves: problem details, metrics, tracing, health routes."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from opentelemetry import trace
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.routing import Match

from recaudo_common.errors import install_problem_handlers
from recaudo_common.gate import BodyRule, Gate, KeyCheck
from recaudo_common.outbox import Cause, caused_by
from recaudo_common.telemetry import HTTP_LATENCY, tracer

ReadinessCheck = Callable[[], Awaitable[bool]]


def _route_template(request: Request) -> str:
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match == Match.FULL:
            return str(getattr(route, "path", "unmatched"))
    return "unmatched"


def create_app(
    *, title: str, service: str, routers: Sequence[APIRouter], readiness: Sequence[ReadinessCheck] = (),
    description: str = "", max_body_bytes: int = 2 * 1024**3 + 1024**2, max_json_bytes: int = 1024**2,
    body_rules: Sequence[BodyRule] = (), check_key: KeyCheck | None = None,
) -> FastAPI:
    """`check_key` authenticates a request that carries a body before the body is read (see gate.py); without it
    (tests that build one router) the routes' own dependency still authenticates, after the body."""
    app = FastAPI(title=title, version="1", description=description)
    install_problem_handlers(app)
    app.add_middleware(Gate, check_key=check_key, rules=body_rules, max_json_bytes=max_json_bytes,
                       max_body_bytes=max_body_bytes)

    @app.middleware("http")
    async def observe(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        route = _route_template(request)
        started = time.perf_counter()
        # Route templates, never raw paths: a path holds account refs, and span names must not.
        # Every event the request emits carries its id as correlation and cause; the caller reads it in X-Request-Id.
        cause = Cause.command()
        with tracer.start_as_current_span(f"{request.method} {route}", kind=trace.SpanKind.SERVER) as span, \
                caused_by(cause):
            response = await call_next(request)
            span.set_attribute("http.status_code", response.status_code)
        response.headers["X-Request-Id"] = str(cause.correlation_id)
        HTTP_LATENCY.labels(service, request.method, route, str(response.status_code)).observe(
            time.perf_counter() - started
        )
        return response

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        results = [await check() for check in readiness]
        ok = all(results)
        return JSONResponse({"status": "ready" if ok else "not_ready"}, status_code=200 if ok else 503)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    for router in routers:
        app.include_router(router)
    _document_problems(app)
    return app


def _document_problems(app: FastAPI) -> None:
    """The OpenAPI says what the service answers: every error is `application/problem+json` with the Problem
    schema (FastAPI would document its own 422 body, which the service never sends)."""
    from fastapi.openapi.utils import get_openapi

    from recaudo_common.errors import PROBLEM_JSON, Problem

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        problem = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
        for operation in (op for item in document.get("paths", {}).values() for op in item.values()):
            responses = operation.setdefault("responses", {})
            for status, response in responses.items():
                if status[0] in "45":
                    response["content"] = problem
            responses.setdefault("422", {"description": "the request does not match its schema"})["content"] = problem
            responses["default"] = {"description": "an error, as problem details (RFC 9457)", "content": problem}
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]
