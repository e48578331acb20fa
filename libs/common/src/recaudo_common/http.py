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
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from recaudo_common.errors import install_problem_handlers
from recaudo_common.telemetry import HTTP_LATENCY, tracer

ReadinessCheck = Callable[[], Awaitable[bool]]


def _route_template(request: Request) -> str:
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match == Match.FULL:
            return str(getattr(route, "path", "unmatched"))
    return "unmatched"


def _too_large(limit: int) -> JSONResponse:
    return JSONResponse(
        {"type": "https://recaudo.dev/problems/payload_too_large", "title": "Request too large", "status": 413,
         "code": "payload_too_large", "detail": f"the body may be at most {limit} bytes"},
        status_code=413, media_type="application/problem+json")


class BodyLimit:
    """Refuses a path with a NUL byte, and an oversized body before the app reads it: a declared length over the
    limit at once; a body without
    a length (chunked) is counted as it arrives. Files (multipart) may be large, up to `max_body_bytes`, and are
    streamed; every other body (JSON, forms, webhooks) is small, at most `max_json_bytes`, and is buffered."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_json_bytes: int) -> None:
        self.app, self.max_body_bytes, self.max_json_bytes = app, max_body_bytes, max_json_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"]:  # no resource has a NUL in its name, and PostgreSQL text cannot hold one
            await JSONResponse({"type": "https://recaudo.dev/problems/not_found", "title": "Not found", "status": 404,
                                "code": "not_found"}, status_code=404,
                               media_type="application/problem+json")(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        streamed = headers.get("content-type", "").lower().startswith("multipart/")
        limit = self.max_body_bytes if streamed else self.max_json_bytes
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await _too_large(limit)(scope, receive, send)
            return
        if streamed or declared.isdigit() or scope["method"] in ("GET", "HEAD", "DELETE", "OPTIONS"):
            await self.app(scope, receive, send)  # a declared length is enforced by the server's own framing
            return
        body, more = bytearray(), True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, receive, send)
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > limit:
                await _too_large(limit)(scope, receive, send)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def create_app(
    *, title: str, service: str, routers: Sequence[APIRouter], readiness: Sequence[ReadinessCheck] = (),
    description: str = "", max_body_bytes: int = 2 * 1024**3 + 1024**2, max_json_bytes: int = 1024**2,
) -> FastAPI:
    app = FastAPI(title=title, version="1", description=description)
    install_problem_handlers(app)
    app.add_middleware(BodyLimit, max_body_bytes=max_body_bytes, max_json_bytes=max_json_bytes)

    @app.middleware("http")
    async def observe(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        route = _route_template(request)
        started = time.perf_counter()
        # Route templates, never raw paths: a path holds account refs, and span names must not.
        with tracer.start_as_current_span(f"{request.method} {route}", kind=trace.SpanKind.SERVER) as span:
            response = await call_next(request)
            span.set_attribute("http.status_code", response.status_code)
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
