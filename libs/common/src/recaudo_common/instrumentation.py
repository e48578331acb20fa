"""OpenTelemetry's instrumentation libraries on the platform's HTTP apps, asyncpg, aiokafka and httpx."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from fastapi import FastAPI
from opentelemetry import context as otel_context
from opentelemetry.context import Context
from opentelemetry.instrumentation.aiokafka import AIOKafkaInstrumentor
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.trace.sampling import Decision, ParentBased, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind, get_current_span
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes

# Probes and scrapes every few seconds would bury the requests that matter.
_UNTRACED_PATHS = r"/(healthz|readyz|metrics)$"


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


def instrument_app(app: FastAPI) -> None:
    """The app's one server span per request, named by its route template. Headers an operator asks it to capture
    (OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_*: an Authorization header, a cookie) never leave the process: the
    exporter drops them with the raw path, the query and the caller's address."""
    FastAPIInstrumentor.instrument_app(app, excluded_urls=_UNTRACED_PATHS, exclude_spans=["receive", "send"])


def kafka_is_instrumented() -> bool:
    return bool(AIOKafkaInstrumentor().is_instrumented_by_opentelemetry)


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
    no trace of its own: thousands of one-span traces a minute would say nothing. Everything else is sampled."""

    def should_sample(self, parent_context: Context | None, trace_id: int, name: str,
                      kind: SpanKind | None = None, attributes: Attributes = None,
                      links: Sequence[Link] | None = None, trace_state: TraceState | None = None) -> SamplingResult:
        if kind is SpanKind.CLIENT and attributes and ("db.system" in attributes or "db.system.name" in attributes):
            return SamplingResult(Decision.DROP)
        return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes,
                              get_current_span(parent_context).get_span_context().trace_state)

    def get_description(self) -> str:
        return "NoOrphanQueries"


SAMPLER = ParentBased(root=_NoOrphanQueries())
