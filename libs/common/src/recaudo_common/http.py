"""The FastAPI application every service serves: problem details, metrics, tracing, health routes."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from opentelemetry import trace
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.routing import Match

from recaudo_common.errors import install_problem_handlers
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
    description: str = "", max_body_bytes: int = 2 * 1024**3 + 1024**2,
) -> FastAPI:
    app = FastAPI(title=title, version="1", description=description)
    install_problem_handlers(app)

    @app.middleware("http")
    async def limit_body(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        # Refuse before reading: a declared length over the limit never reaches the multipart parser.
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_body_bytes:
            return JSONResponse(
                {"type": "https://recaudo.dev/problems/payload_too_large", "title": "Request too large",
                 "status": 413, "code": "payload_too_large",
                 "detail": f"the body may be at most {max_body_bytes} bytes"},
                status_code=413, media_type="application/problem+json")
        return await call_next(request)

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
    return app
