"""Logging with personal data masked once, Prometheus metrics, and OpenTelemetry tracing."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from prometheus_client import Counter, Gauge, Histogram

tracer = trace.get_tracer("recaudo")

# ---------------------------------------------------------------- metrics (labels are bounded)

HTTP_LATENCY = Histogram(
    "recaudo_http_request_duration_seconds", "HTTP request latency", ["service", "method", "route", "status"]
)
EVENTS_PRODUCED = Counter("recaudo_events_produced_total", "Events published by the relay", ["service", "topic"])
EVENTS_CONSUMED = Counter(
    "recaudo_events_consumed_total", "Events handled by consumers", ["service", "topic", "outcome"]
)
CONSUMER_RETRIES = Counter("recaudo_consumer_retries_total", "Handler retries", ["service", "topic"])
DLQ_MESSAGES = Counter("recaudo_dlq_messages_total", "Events sent to a dead-letter topic", ["service", "topic"])
CONSUMER_LAG = Gauge("recaudo_consumer_lag", "Events waiting for a consumer group", ["service", "group"])
SCHEDULER_BACKLOG = Gauge("recaudo_scheduler_backlog", "Contact attempts due and not yet decided", ["service"])
REPORT_FRESHNESS = Histogram(
    "recaudo_report_freshness_seconds", "From a payment's application (payments) to its report (reporting)",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60))
OUTBOX_BACKLOG = Gauge("recaudo_outbox_backlog", "Outbox rows not yet published", ["service"])

# ---------------------------------------------------------------- logging with personal data masked

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_DIGITS = re.compile(r"\+?\d[\d\s-]{5,}\d")
PII_KEYS = frozenset(
    {"full_name", "name", "debtor_id", "phones", "phone", "email", "address", "to", "recipient", "body"}
)


def mask_text(text: str) -> str:
    """Masks e-mail addresses and long digit runs (IDs, phones) in free text."""
    return _DIGITS.sub("[redacted]", _EMAIL.sub("[email]", text))


def mask_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {k: ("[redacted]" if k in PII_KEYS else v) for k, v in fields.items()}


class JsonFormatter(logging.Formatter):
    """One JSON object per line; message, arguments and extra fields pass through the masks."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "msg": mask_text(record.getMessage()),
        }
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            out["trace_id"] = format(span.trace_id, "032x")
        fields = getattr(record, "fields", None)
        if isinstance(fields, Mapping):
            out.update(mask_fields(fields))
        if record.exc_info:
            out["exc"] = mask_text(self.formatException(record.exc_info))
        return json.dumps(out, default=str)


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("aiokafka", "kafka", "uvicorn.access", "httpx", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


# ---------------------------------------------------------------- tracing


def configure_tracing(service: str, otlp_endpoint: str | None, exporter: SpanExporter | None = None) -> None:
    """Installs a tracer provider; spans go to OTLP when an endpoint is set, or to a given exporter."""
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    if exporter is None and otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=f"{otlp_endpoint.rstrip('/')}/v1/traces")
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)


def inject_headers() -> dict[str, str]:
    """The current trace context as message headers (W3C traceparent)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


_last_headers: tuple[tuple[int, int], str] = ((0, 0), "{}")


def trace_headers_json() -> str:
    """inject_headers as JSON text, computed once per span: a batch handler emits many events in one span."""
    global _last_headers
    span = trace.get_current_span().get_span_context()
    key = (span.trace_id, span.span_id)
    if not span.is_valid:
        return json.dumps(inject_headers())
    if _last_headers[0] != key:
        _last_headers = (key, json.dumps(inject_headers()))
    return _last_headers[1]


def extract_context(headers: Mapping[str, str]) -> otel_context.Context:
    return propagate.extract(dict(headers))
