"""The FastAPI application every service serves: problem details, metrics, tracing, health routes."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from opentelemetry import trace
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from recaudo_common.access_log import log_access, request_cause
from recaudo_common.actions import Asked, worth_recording
from recaudo_common.actions import record as record_action
from recaudo_common.api_docs import install_docs
from recaudo_common.auth import Principal
from recaudo_common.errors import install_problem_handlers
from recaudo_common.gate import BodyRule, Gate, KeyCheck
from recaudo_common.instrumentation import finish_server_span, libraries_traced_if, server_span
from recaudo_common.outbox import caused_by
from recaudo_common.routing import AuthorisedFirstRoute, routes_not_authorised_first
from recaudo_common.telemetry import HTTP_LATENCY

ReadinessCheck = Callable[[], Awaitable[bool]]


def _route_template(request: Request) -> str:
    """The template of the route that served the request, read once it is routed: FastAPI keeps included routers
    as a tree, and only the effective route it matched knows every prefix it was included under (the route
    object alone knows its own router's). "unmatched" when nothing was routed (a refusal at the gate, a 404)."""
    effective = request.scope.get("fastapi", {}).get("effective_route_context")
    template = getattr(effective, "path_format", None) or getattr(request.scope.get("route"), "path_format", None)
    return template if isinstance(template, str) else "unmatched"


class Observe:
    """Each request's server span, latency metric, access-log line, X-Request-Id, X-Content-Type-Options, a default
    Cache-Control and, for a change worth it, its recorded action.

    Plain ASGI rather than `@app.middleware("http")`: Starlette's BaseHTTPMiddleware runs the app in a task of its
    own and relays the response through a stream, a sixth of a report's CPU in the reporting API under load (#24).
    Everything is done when the response starts, before the client can read it, as before: a caller who asks for
    its recorded actions right after an answer finds this one."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app, self.service = app, service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request = Request(scope)
        # Route templates, never raw paths: a path holds account refs and debtors' id numbers, so the metric's
        # labels, the access log and the span carry the template only.
        # Every event the request emits carries its id as correlation; the caller reads it in X-Request-Id.
        request_id, cause = request_cause(request.headers.get("x-request-id"))
        span = server_span(scope)
        observed = False

        async def observe(status: int) -> None:
            nonlocal observed
            observed = True
            elapsed = time.perf_counter() - started
            route = _route_template(request)
            if span is not None:
                finish_server_span(span, scope, None if route == "unmatched" else route, status)
            HTTP_LATENCY.labels(self.service, request.method, route, str(status)).observe(elapsed)
            principal = getattr(request.state, "principal", None)
            log_access(service=self.service, method=request.method, route=route, status=status, elapsed_s=elapsed,
                       request_id=request_id, principal=principal)
            platform = getattr(request.app.state, "platform", None)
            if (platform is not None and isinstance(principal, Principal)
                    and worth_recording(request.method, route)):
                await record_action(platform.db, principal, Asked(
                    self.service, request.method, route, dict(request.path_params), status, request_id),
                    at=platform.clock())

        async def send_observed(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer = MutableHeaders(scope=message)
                answer["X-Request-Id"] = request_id
                # Every answer, not just the pages: a page's script, Plotly or a JSON body is taken only as the
                # type it says, never sniffed into HTML or script; and none is kept in a browser's cache (the
                # API's answers carry people's and debtors' data, which a console page shows) unless its route
                # says how (the pages' scripts and the libraries' files, which hold none).
                answer.setdefault("X-Content-Type-Options", "nosniff")
                answer.setdefault("Cache-Control", "no-store")
                await observe(int(message["status"]))
            await send(message)

        # The span is current while the request is served (its queries' spans and its events' trace context are
        # its children); an exception escaping the app is recorded on it (the exporter keeps only its type).
        traced = contextlib.nullcontext() if span is None else trace.use_span(
            span, end_on_exit=True, record_exception=True, set_status_on_exception=True)
        with traced, libraries_traced_if(span):
            try:
                with caused_by(cause):
                    await self.app(scope, receive, send_observed)
            finally:
                if not observed:  # no answer started: the app failed (the server answers 500)
                    await observe(500)


def create_app(
    *, title: str, service: str, routers: Sequence[APIRouter], readiness: Sequence[ReadinessCheck] = (),
    description: str = "", max_body_bytes: int = 2 * 1024**3 + 1024**2, max_json_bytes: int = 1024**2,
    body_rules: Sequence[BodyRule] = (), check_key: KeyCheck | None = None,
) -> FastAPI:
    """`check_key` authenticates a request that carries a body before the body is read (see gate.py); without it
    (tests that build one router) the routes' own dependency still authenticates, after the body."""
    # One server span per request, the platform's own (Observe, recaudo_common.instrumentation.server_span): not
    # FastAPI's native telemetry as well, nor its logs (exception messages, unmasked) or exporters of its own from
    # the environment, which would bypass the platform's scrubbing exporter.
    # /docs is the platform's own (recaudo_common.api_docs: Swagger UI from this process, under the pages' policy),
    # not FastAPI's, which loads Swagger UI and ReDoc from a CDN with no policy.
    app = FastAPI(title=title, version="1", description=description, docs_url=None, redoc_url=None,
                  swagger_ui_oauth2_redirect_url=None,
                  telemetry={"tracing": False, "metrics": False, "logs": False, "auto_configure": False})
    app.router.route_class = AuthorisedFirstRoute
    install_docs(app)
    install_problem_handlers(app)
    app.add_middleware(Gate, check_key=check_key, rules=body_rules, max_json_bytes=max_json_bytes,
                       max_body_bytes=max_body_bytes)
    # Observe wraps the whole stack, Starlette's ServerErrorMiddleware included: the answer the `Exception` handler
    # gives (503 for a dependency out of reach, 422 for a value PostgreSQL refused, 500) is what the span, the
    # metric and the access log record, it carries X-Request-Id, and the handler's log line is in the span.
    build_stack = app.build_middleware_stack
    app.build_middleware_stack = lambda: Observe(build_stack(), service=service)  # type: ignore[method-assign]

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

    if plain := routes_not_authorised_first(route for router in routers for route in router.routes):
        raise TypeError(f"routes that would judge a body before its caller: {plain}; declare their router with "
                        "APIRouter(route_class=AuthorisedFirstRoute)")
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
        _keep_nulls_in_examples(schemas)
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


def _keep_nulls_in_examples(schemas: dict[str, Any]) -> None:
    """Puts back the nulls FastAPI takes out of the examples: it writes its document without a single null
    (fastapi/fastapi#5559), yet in an example a null is what the API answers for a field with nothing in it, and an
    example of a required nullable field fails its own schema without it. A model's own examples go back only where
    a component of the model's title holds exactly them less their nulls, so nothing else is touched."""
    by_title: dict[str, list[dict[str, Any]]] = {}
    for schema in schemas.values():
        if isinstance(schema.get("title"), str) and schema.get("examples"):
            by_title.setdefault(schema["title"], []).append(schema)

    def models(root: type[BaseModel]) -> Iterator[type[BaseModel]]:
        for sub in root.__subclasses__():
            yield sub
            yield from models(sub)

    for model in models(BaseModel):
        found = by_title.get(model.model_config.get("title") or model.__name__)
        extra = model.model_config.get("json_schema_extra")
        if not found or extra is None:
            continue
        # A callable sets the examples as the schema is made (segmentation's strategy documents).
        examples = extra.get("examples") if isinstance(extra, dict) else \
            model.model_json_schema(mode="serialization").get("examples")
        stripped = jsonable_encoder(examples, exclude_none=True)
        if examples != stripped:
            for schema in found:
                if schema["examples"] == stripped:
                    schema["examples"] = examples
