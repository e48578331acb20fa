"""Logging with personal data masked once, Prometheus metrics, and OpenTelemetry tracing."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import Status
from prometheus_client import Counter, Gauge, Histogram

from recaudo_common.redaction import describe_error, mask_text, scrub_text, scrubbed_traceback

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
CONSUMER_REFUSING = Gauge("recaudo_consumer_refusing",
                          "1 while a consumer group refuses a record from before what its inbox has forgotten",
                          ["service", "group"])
INBOX_FORGOTTEN = Counter("recaudo_inbox_forgotten_total",
                          "Inbox rows forgotten after the retention (RECAUDO_INBOX_RETENTION_DAYS)", ["service"])
NO_RULE_ASSIGNMENTS = Counter("recaudo_segmentation_no_rule_total",
                              "Accounts given no treatment: the strategy in force has no rule for their bucket",
                              ["arm"])
SCHEDULER_BACKLOG = Gauge("recaudo_scheduler_backlog", "Contact attempts due and not yet decided", ["service"])
REPORT_FRESHNESS = Histogram(
    "recaudo_report_freshness_seconds", "From a payment's application (payments) to its report (reporting)",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60))
OUTBOX_BACKLOG = Gauge("recaudo_outbox_backlog", "Outbox rows not yet published", ["service"])

# Domain metrics: counted where the business event happens, once its transaction has committed
# (recaudo_common.db.after_commit), so a retried transaction never counts twice. `client` is the client
# company's slug; no label ever names an account or a person.
PAYMENTS_APPLIED = Counter("recaudo_payments_applied", "Payments applied to an account (payments)", ["client"])
RECOVERED_AMOUNT = Counter("recaudo_recovered_amount", "Amount of the payments applied (payments)",
                           ["client", "currency"])
MESSAGES_SENT = Counter("recaudo_messages_sent", "Messages handed to a channel, by what became of them (outreach)",
                        ["channel", "outcome"])
PORTFOLIO_ROWS = Counter("recaudo_portfolio_rows", "Rows of uploaded portfolios read (ingest)", ["outcome"])
UPLOADS_PACED = Counter("recaudo_uploads_paced_seconds", "Seconds large uploads waited for the readers of the account "
                        "topic to catch up (ingest)")
CONTACT_REFUSALS = Counter("recaudo_contact_refusals", "Contacts the contact law refused, by reason (outreach)",
                           ["reason"])
OUTREACH_LATENESS = Histogram(
    "recaudo_outreach_lateness_seconds", "From the slot a contact was scheduled for to its sending (outreach)",
    buckets=(1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 21600, 86400))

# ---------------------------------------------------------------- logging with personal data masked

__all__ = ["mask_text", "scrub_text"]  # re-exported: the masks live in recaudo_common.redaction

PII_KEYS = frozenset(
    {"full_name", "name", "debtor_id", "phones", "phone", "email", "address", "to", "recipient", "body"}
)


def mask_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A log line's extra fields, masked whatever their type: a value under a personal key is redacted, text is
    scrubbed, and a number, a list or a mapping is masked as the line will write it (an id number given as an int
    would otherwise be logged whole)."""
    return {k: "[redacted]" if k in PII_KEYS else _masked_value(v) for k, v in fields.items()}


def _masked_value(value: Any) -> Any:
    if isinstance(value, str):
        return scrub_text(value)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, Mapping):
        return mask_fields({str(k): v for k, v in value.items()})
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_masked_value(v) for v in value]
    # A number or any other value the line writes as its str(): kept as it is when the masks find nothing in that
    # text (a count stays a number, a UUID whole), or written masked.
    text = str(value)
    masked = scrub_text(text)
    return value if masked == text else masked


ACCESS_MESSAGE = "request"  # the access log's every line (recaudo_common.access_log): a constant of the code


def _message(record: logging.LogRecord) -> str:
    """The record's message, an exception among its arguments described without its values."""
    args = record.args
    if not args and record.msg is ACCESS_MESSAGE:
        # Nothing in it to mask: the masks' regular expressions were a fifth of an access line's cost (#24).
        return ACCESS_MESSAGE
    if isinstance(args, tuple) and any(isinstance(a, BaseException) for a in args):
        args = tuple(describe_error(a) if isinstance(a, BaseException) else a for a in args)
    try:
        text = str(record.msg) % args if args else str(record.msg)
    except (TypeError, ValueError):
        text = record.getMessage()
    return scrub_text(text)


class JsonFormatter(logging.Formatter):
    """One JSON object per line; message, arguments, extra fields and exceptions pass through the masks
    (an exception as its class, SQLSTATE and scrubbed message: never a database error's row or parameters)."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service
        self._second: tuple[int, str] = (-1, "")

    def _timestamp(self, record: logging.LogRecord) -> str:
        """The record's second, formatted once a second (a line a request: strftime was paid on each)."""
        second = int(record.created)
        if self._second[0] != second:
            self._second = (second, self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"))
        return self._second[1]

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": self._timestamp(record),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "msg": _message(record),
        }
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            out["trace_id"] = format(span.trace_id, "032x")
        fields = getattr(record, "fields", None)
        if isinstance(fields, Mapping):
            out.update(mask_fields(fields))
        # Values made safe where they are made (the access log's: a route template, a UUID, a role, a slug), which
        # the masks would only damage (a UUID's digits read as a phone number).
        checked = getattr(record, "checked_fields", None)
        if isinstance(checked, Mapping):
            out.update(checked)
        if record.exc_info and record.exc_info[1] is not None:
            out["exc"] = scrubbed_traceback(record.exc_info[1])
        return json.dumps(out, default=str)


def configure_logging(service: str, level: str = "INFO") -> None:
    # A line names no caller's file, thread or process (JsonFormatter writes none of them), so no record looks them
    # up: the logging HOWTO's optimisations, a third of an access line's cost (a line a request, #24).
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("aiokafka", "kafka", "uvicorn.access", "httpx", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # The access log (recaudo_common.access_log) goes to stdout, a line per request whatever the level of the rest.
    access = logging.StreamHandler(sys.stdout)
    access.setFormatter(JsonFormatter(service))
    access_log = logging.getLogger("recaudo.access")
    access_log.handlers[:] = [access]
    access_log.setLevel(logging.INFO)
    access_log.propagate = False


# ---------------------------------------------------------------- tracing


def configure_tracing(service: str, otlp_endpoint: str | None, exporter: SpanExporter | None = None, *,
                      sample_ratio: float = 1.0) -> None:
    """Installs a tracer provider when spans have somewhere to go (OTLP when an endpoint is set, or a given
    exporter), and then the instrumentation libraries (asyncpg, aiokafka, httpx) make theirs too. Of the traces
    that start here, `sample_ratio` are kept (instrumentation.sampler); a trace begun elsewhere follows its
    caller's decision.

    With nowhere to go, no provider is installed: OpenTelemetry's default tracer then makes no span of its own and
    hands on the context it was given, so a caller's `traceparent` still reaches the events a request or a consumed
    event emits (a trace continues through a service that exports nothing), and log lines carry that trace's id.
    A recording span per request and per consumed event that nobody exports was 5 % of the payments API's CPU
    under load (#24)."""
    from recaudo_common.instrumentation import instrument_libraries, sampler

    if exporter is None and otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=f"{otlp_endpoint.rstrip('/')}/v1/traces")
    if exporter is None:
        return
    provider = TracerProvider(resource=Resource.create({"service.name": service}),
                              sampler=sampler(sample_ratio))
    provider.add_span_processor(BatchSpanProcessor(ScrubbingExporter(exporter)))
    trace.set_tracer_provider(provider)
    instrument_libraries()


class ScrubbingExporter(SpanExporter):
    """Spans leave the process through here: an exception recorded on a span (by `record_exception`, or by a
    span context that an exception left) keeps its type and stack frames, never its message's values, and so
    does the span's error status; what the instrumentation libraries record that may hold personal data or
    secrets is dropped or masked (scrub_attributes)."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self.inner.export([scrub_span(span) for span in spans])

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


_EXCEPTION_TEXT = ("exception.message", "exception.stacktrace")
# A path holds account refs and debtors' id numbers (`/debtors/{id_number}/...`) and a provider's URL a token or a
# phone number, a query anything; a caller's address and user agent are personal data; a record's key names the
# account; a query's parameters are the values themselves.
_DROPPED = frozenset({
    "url.path", "url.query", "url.full", "http.target", "http.url", "client.address", "client.port",
    "net.peer.ip", "net.sock.peer.addr", "net.sock.peer.port", "http.client_ip", "network.peer.address",
    "network.peer.port", "user_agent.original", "http.user_agent", "messaging.kafka.message.key",
    "db.statement.parameters", "enduser.id",
})
_HEADERS = ("http.request.header.", "http.response.header.")
_STATEMENTS = frozenset({"db.statement", "db.query.text"})
# A literal in a statement ('...' with '' inside, or E'...'): the platform binds its values as parameters, and a
# literal that slipped into a statement's text would otherwise travel with it.
_LITERAL = re.compile(r"[Ee]?'(?:[^']|'')*'")


def scrub_attributes(attributes: Mapping[str, Any]) -> dict[str, Any]:
    kept = {k: (_LITERAL.sub("'?'", v) if k in _STATEMENTS and isinstance(v, str) else v)
            for k, v in attributes.items() if k not in _DROPPED and not k.startswith(_HEADERS)}
    if "url.path" in attributes and "http.route" in attributes:
        kept["url.path"] = attributes["http.route"]
    url = attributes.get("url.full", attributes.get("http.url"))
    if isinstance(url, str) and "http.route" not in attributes:  # a call to a provider: which one, not what
        kept.setdefault("server.address", urlsplit(url).hostname or "")
    return kept


def scrub_span(span: ReadableSpan) -> ReadableSpan:
    status = span.status
    original = span.attributes or {}
    attributes = scrub_attributes(original)
    if not any(k in _EXCEPTION_TEXT for e in span.events for k in (e.attributes or {})) \
            and not status.description and attributes == original:
        return span
    events = [
        Event(e.name, {k: (scrub_text(v) if k in _EXCEPTION_TEXT and isinstance(v, str) else v)
                       for k, v in (e.attributes or {}).items()}, e.timestamp)
        for e in span.events
    ]
    if status.description:
        status = Status(status.status_code, scrub_text(status.description))
    return ReadableSpan(
        name=span.name, context=span.context, parent=span.parent, resource=span.resource,
        attributes=attributes, events=events, links=span.links, kind=span.kind, status=status,
        start_time=span.start_time, end_time=span.end_time, instrumentation_scope=span.instrumentation_scope,
    )


def inject_headers() -> dict[str, str]:
    """The current trace context as message headers (W3C traceparent)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


# The last context (and propagator) headers were injected from, and those headers as JSON text.
_last_headers: tuple[object, object, str] = (None, None, "{}")


def trace_headers_json() -> str:
    """inject_headers as JSON text, computed once per context: a batch handler emits many events in one. What is
    injected depends on the context alone (its span, its baggage) and the propagator, and a context never changes
    (setting a value makes a new one), so the same objects give the same headers. Keyed on the span's ids before,
    a context with no valid span (no tracer provider and no caller's trace: the pipeline's) injected again for
    every event, a few per cent of a consumer's CPU in the pipeline (#24)."""
    global _last_headers
    current, textmap = otel_context.get_current(), propagate.get_global_textmap()
    if _last_headers[0] is not current or _last_headers[1] is not textmap:
        _last_headers = (current, textmap, json.dumps(inject_headers()))
    return _last_headers[2]


def extract_context(headers: Mapping[str, str]) -> otel_context.Context:
    return propagate.extract(dict(headers))
