"""Tracing: the server span of each request (the platform's own), and OpenTelemetry's instrumentation libraries on
asyncpg, aiokafka and httpx."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY, Context
from opentelemetry.instrumentation.aiokafka import AIOKafkaInstrumentor
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.utils import _SUPPRESS_INSTRUMENTATION_KEY_PLAIN
from opentelemetry.sdk.trace.sampling import Decision, ParentBased, Sampler, SamplingResult, TraceIdRatioBased
from opentelemetry.trace import Link, Span, SpanKind, StatusCode
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes
from starlette.datastructures import Headers
from starlette.types import Scope

# Probes and scrapes every few seconds would bury the requests that matter.
_UNTRACED_PATHS = re.compile(r"/(healthz|readyz|metrics)$")
# A method outside HTTP's own is named _OTHER (OpenTelemetry's HTTP conventions): a caller cannot mint span names.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})
_TRACER = trace.get_tracer("recaudo_common.http")


def instrument_libraries() -> None:
    """asyncpg, aiokafka and httpx, once per process (the instrumentors are singletons). asyncpg's spans carry the
    statement, never its parameters (capture_parameters stays off); the exporter masks any literal a statement
    holds and drops URLs and message keys (recaudo_common.telemetry.scrub_span)."""
    for instrumentor in (AsyncPGInstrumentor(capture_parameters=False),  # type: ignore[no-untyped-call]
                         AIOKafkaInstrumentor(),
                         HTTPXClientInstrumentor()):
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument()
            if isinstance(instrumentor, AIOKafkaInstrumentor):
                _consumer_side_left_to_the_bus()


def _consumer_side_left_to_the_bus() -> None:
    """The aiokafka instrumentation decodes every record's traceparent header inside getmany, so one hostile record
    (a header that is not UTF-8) raised out of the consumer and stopped it (tests/integration/test_poison_records).
    The producer side stays instrumented; the consumer side reads the context itself, per record, where a bad
    header is only a record without a parent (recaudo_common.bus and telemetry)."""
    from aiokafka import AIOKafkaConsumer
    from opentelemetry.instrumentation.utils import unwrap

    for method in ("getone", "getmany"):
        if hasattr(getattr(AIOKafkaConsumer, method), "__wrapped__"):
            unwrap(AIOKafkaConsumer, method)


def server_span(scope: Scope) -> Span | None:
    """The request's server span, a child of the caller's trace context (W3C traceparent), or None for a probe or
    a scrape. Started before the request is routed and named once it is (`finish_server_span`), with HTTP's
    semantic conventions (`{method} {route}`), and holding nothing a caller sent but its method: not its path,
    query, headers or address.

    The platform's own rather than OpenTelemetry's FastAPI instrumentation: that one matched the path against every
    route again to name the span, collected attributes the exporter then dropped and wrapped each send and receive,
    a third of a payment webhook's CPU in the payments API under load (#24)."""
    if _UNTRACED_PATHS.search(scope["path"]):
        return None
    method = _method(scope)
    return _TRACER.start_span(
        _named(method), context=propagate.extract(Headers(scope=scope)),
        kind=SpanKind.SERVER, attributes={"http.request.method": method, "url.scheme": scope.get("scheme", "http"),
                                          "network.protocol.version": scope.get("http_version", "1.1")})


def finish_server_span(span: Span, scope: Scope, route: str | None, status: int) -> None:
    """Names the span by the route that served the request (the method alone when none did: a refusal at the gate,
    a 404) and records the status its answer started with; a server error marks the span failed."""
    if not span.is_recording():
        return
    if route is not None:
        span.update_name(f"{_named(_method(scope))} {route}")
        span.set_attribute("http.route", route)
    span.set_attribute("http.response.status_code", status)
    if status >= 500:
        span.set_status(StatusCode.ERROR)


def _method(scope: Scope) -> str:
    method = scope.get("method", "")
    return method if method in _METHODS else "_OTHER"


def _named(method: str) -> str:
    """How a span names the method: HTTP for one outside HTTP's own."""
    return "HTTP" if method == "_OTHER" else method


def kafka_is_instrumented() -> bool:
    return bool(AIOKafkaInstrumentor().is_instrumented_by_opentelemetry)


@contextmanager
def libraries_traced_if(span: Span | None) -> Iterator[None]:
    """The instrumentation libraries' work (asyncpg's span for each statement, httpx's for each call) only under a
    span that is recorded, and none outside any span. Under a span that is not recorded (a trace the sampler
    dropped: 9 in 10 with deploy/k8s's ratio), each statement still had its attributes gathered, its span started
    under ParentBased's decision and its context attached and detached, for a span nobody would see; outside any
    span (a consumer's inbox claim and outbox write around its batch's spans) the sampler drops the orphan query
    after the same work. OpenTelemetry's own switch, which every instrumentation reads first
    (`suppress_instrumentation`), is set for those and cleared under a recorded span inside them; the trace context
    carried on (events' headers) is the span's, unchanged."""
    off = span is None or not span.is_recording()
    token = otel_context.attach(otel_context.set_value(
        _SUPPRESS_INSTRUMENTATION_KEY, off, otel_context.set_value(_SUPPRESS_INSTRUMENTATION_KEY_PLAIN, off)))
    try:
        yield
    finally:
        otel_context.detach(token)


@contextmanager
def publishing_under(carried: Context) -> Iterator[None]:
    """Sends a record under the context its event was emitted in (kept with the outbox row), so aiokafka's
    producer span is the emitting span's child and the traceparent it injects continues that trace."""
    token = otel_context.attach(carried)
    try:
        yield
    finally:
        otel_context.detach(token)


class _NoOrphanQueries(Sampler):
    """A database query outside any operation (the relay's and consumers' polling, a worker's idle pass) starts
    no trace of its own: thousands of one-span traces a minute would say nothing. Every other trace that starts
    here is kept at `ratio` (`RECAUDO_TRACE_SAMPLE_RATIO`), decided by its trace id as OpenTelemetry's
    TraceIdRatioBased does, so every service that sees the trace id decides alike."""

    def __init__(self, ratio: float = 1.0) -> None:
        self._ratio = TraceIdRatioBased(ratio)

    def should_sample(self, parent_context: Context | None, trace_id: int, name: str,
                      kind: SpanKind | None = None, attributes: Attributes = None,
                      links: Sequence[Link] | None = None, trace_state: TraceState | None = None) -> SamplingResult:
        if kind is SpanKind.CLIENT and attributes and ("db.system" in attributes or "db.system.name" in attributes):
            return SamplingResult(Decision.DROP)
        return self._ratio.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

    def get_description(self) -> str:
        return f"NoOrphanQueries{{{self._ratio.get_description()}}}"


def sampler(ratio: float) -> Sampler:
    """Which spans are kept. A span with a parent follows its parent's decision (ParentBased), a caller's
    `traceparent` included: a trace is kept or dropped whole across the services it crosses (a consumer's batch
    goes on under its first kept trace, consumer.batch_lead; the batch's other events' traces end there), and a
    caller that samples its own request gets that request's spans whatever the ratio, which also lets any caller
    of a public route raise the share traced. A span that starts a trace is kept at `ratio`, but never an orphan
    query."""
    return ParentBased(root=_NoOrphanQueries(ratio))
