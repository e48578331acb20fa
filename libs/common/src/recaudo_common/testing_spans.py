"""Test support for traces: the spans this process exports, caught in memory behind the platform's own exporter
chain (configure_tracing and its ScrubbingExporter), for tests that check what a span may carry."""

from __future__ import annotations

from collections.abc import Iterator

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from recaudo_common.telemetry import ScrubbingExporter, configure_tracing

# One per process, as the tracer provider is: a test module's fixture yields from exported_spans().
_SPANS = InMemorySpanExporter()
_CAUGHT = "_recaudo_test_spans"  # set on the provider once _SPANS receives what it exports


def exported_spans() -> Iterator[InMemorySpanExporter]:
    """The spans exported while a test runs, emptied before and after it. The first call installs the
    platform's tracing with the in-memory exporter; a provider another test installed first gets it too."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, SdkTracerProvider):
        configure_tracing("test", None, exporter=_SPANS)
    elif not getattr(provider, _CAUGHT, False):
        provider.add_span_processor(SimpleSpanProcessor(ScrubbingExporter(_SPANS)))
    provider = trace.get_tracer_provider()
    setattr(provider, _CAUGHT, True)
    # configure_tracing exports in batches: what earlier tests ended is flushed now, not into this test's spans.
    provider.force_flush()  # type: ignore[attr-defined]
    _SPANS.clear()
    yield _SPANS
    provider.force_flush()  # type: ignore[attr-defined]
    _SPANS.clear()
