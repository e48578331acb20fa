"""Tracing as the platform installs it: one server span per request, named by its route, continuing the caller's
trace and failed by a server error; asyncpg's statements without values; httpx's provider URLs (tokens, phone numbers) never exported;
the trace context carried through Kafka's headers and through the embedded log; and the access log's line."""

import asyncio
import datetime as dt
import io
import json
import logging
import uuid
from collections.abc import Iterator

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Request
from opentelemetry import trace
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from sqlalchemy import text

from recaudo_common.bus.base import Message, read_record
from recaudo_common.bus.consumer import ConsumerRuntime, HandlerContext, Subscriptions
from recaudo_common.events import AccountRecalled, topic_name
from recaudo_common.http import create_app
from recaudo_common.outbox import Outbox
from recaudo_common.routing import AuthorisedFirstRoute
from recaudo_common.runtime import Platform
from recaudo_common.telemetry import JsonFormatter
from recaudo_common.testing import eventually, relay_all, serving_app
from recaudo_common.testing_spans import exported_spans

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)
PHONE, TOKEN, DEBTOR_ID, NAME = "573001234567", "tok_3f9a8b7c6d5e", "1020304050", "Ana Gómez"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """The spans this process exports, through the platform's own exporter chain (configure_tracing)."""
    yield from exported_spans()


def exported(spans: InMemorySpanExporter) -> list[ReadableSpan]:
    trace.get_tracer_provider().force_flush()  # type: ignore[attr-defined]
    return list(spans.get_finished_spans())


def as_text(span: ReadableSpan) -> str:
    return json.dumps({"name": span.name, "attributes": dict(span.attributes or {}),
                       "events": [dict(e.attributes or {}) for e in span.events]}, ensure_ascii=False, default=str)


@pytest.fixture
def access_lines() -> Iterator[io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter("test"))
    access = logging.getLogger("recaudo.access")
    previous = access.level
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    yield out
    access.removeHandler(handler)
    access.setLevel(previous)


def debtor_app() -> FastAPI:
    router = APIRouter(route_class=AuthorisedFirstRoute)

    @router.get("/v1/clients/{slug}/debtors/{id_number}")
    async def debtor(slug: str, id_number: str) -> dict[str, str]:
        return {"ok": "yes"}

    @router.post("/v1/clients/{slug}/debtors/{id_number}/notes")
    async def note(slug: str, id_number: str, request: Request) -> dict[str, int]:
        return {"read": len(await request.body())}

    @router.post("/v1/clients/{slug}/debtors/{id_number}/slow")
    async def slow(slug: str, id_number: str) -> dict[str, str]:
        raise TimeoutError("no connection in the pool")  # a dependency out of reach: answered 503

    @router.post("/v1/clients/{slug}/debtors/{id_number}/fail")
    async def fail(slug: str, id_number: str) -> dict[str, str]:
        with trace.get_tracer("test").start_as_current_span("inside"):
            pass
        raise RuntimeError(f"could not reach {PHONE}")  # the exporter masks the number

    return create_app(title="probe", service="probe", routers=[router])


async def test_one_request_makes_one_server_span_named_by_its_route_and_one_access_line(
        spans: InMemorySpanExporter, access_lines: io.StringIO, monkeypatch: pytest.MonkeyPatch) -> None:
    # OpenTelemetry's setting to capture headers changes nothing: the server span records none.
    monkeypatch.setenv("OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST", "authorization,x-api-key")
    app = debtor_app()
    caller_id = str(uuid.uuid4())
    async with serving_app(app) as base, httpx.AsyncClient(base_url=base) as http:
        mine = await http.get(f"/v1/clients/banco/debtors/{DEBTOR_ID}?phone={PHONE}",
                              headers={"X-Request-ID": caller_id, "Authorization": f"Bearer {TOKEN}"})
        hostile = await http.get(f"/v1/clients/banco/debtors/{DEBTOR_ID}",
                                 headers={"X-Request-ID": f"ana.gomez-{PHONE}"})
        none = await http.get("/v1/clients/banco/debtors/x")
    assert mine.status_code == hostile.status_code == none.status_code == 200
    # The caller's well-formed id comes back; one that is not a UUID is replaced by ours.
    assert mine.headers["X-Request-Id"] == caller_id
    assert hostile.headers["X-Request-Id"] != f"ana.gomez-{PHONE}"
    uuid.UUID(hostile.headers["X-Request-Id"]), uuid.UUID(none.headers["X-Request-Id"])

    server = [s for s in exported(spans) if s.kind is SpanKind.SERVER]
    assert len(server) == 3, [(s.name, s.instrumentation_scope) for s in server]  # one per request
    assert {s.name for s in server} == {"GET /v1/clients/{slug}/debtors/{id_number}"}
    for span in exported(spans):
        assert DEBTOR_ID not in as_text(span) and PHONE not in as_text(span) and TOKEN not in as_text(span), \
            as_text(span)

    lines = [json.loads(line) for line in access_lines.getvalue().splitlines()]
    assert [line["request_id"] for line in lines] == [r.headers["X-Request-Id"] for r in (mine, hostile, none)]
    assert lines[0] | {"duration_ms": 0} == {
        **lines[0], "method": "GET", "route": "/v1/clients/{slug}/debtors/{id_number}", "status": 200,
        "service": "probe", "logger": "recaudo.access", "duration_ms": 0}
    assert lines[0]["duration_ms"] > 0
    for line in access_lines.getvalue().splitlines():
        assert DEBTOR_ID not in line and PHONE not in line and TOKEN not in line and "Gómez" not in line, line


async def test_the_server_span_continues_the_callers_trace_and_a_server_error_fails_it(
        spans: InMemorySpanExporter) -> None:
    async with serving_app(debtor_app()) as base, httpx.AsyncClient(base_url=base) as http:
        # The caller's trace travels in its traceparent header (httpx's instrumentation sends its own span's).
        with trace.get_tracer("test").start_as_current_span("caller") as caller:
            failed = await http.post(f"/v1/clients/banco/debtors/{DEBTOR_ID}/fail")
        odd = await http.request("PROPFIND", f"/v1/clients/banco/debtors/{DEBTOR_ID}")
        nowhere = await http.get(f"/v1/nowhere/{DEBTOR_ID}")
        probes = [await http.get(path) for path in ("/healthz", "/readyz", "/metrics")]
    assert failed.status_code == 500 and odd.status_code == 405 and nowhere.status_code == 404
    assert all(probe.status_code == 200 for probe in probes)

    finished = exported(spans)
    server = {s.name: s for s in finished if s.kind is SpanKind.SERVER}
    # Probes and scrapes are not traced; a request no route took is named by its method alone, an unknown method
    # is HTTP's _OTHER (a caller cannot mint span names).
    other = "HTTP /v1/clients/{slug}/debtors/{id_number}"
    assert set(server) == {"POST /v1/clients/{slug}/debtors/{id_number}/fail", other, "GET"}, set(server)
    span = server["POST /v1/clients/{slug}/debtors/{id_number}/fail"]
    assert span.context is not None and span.parent is not None and span.parent.is_remote
    assert span.context.trace_id == caller.get_span_context().trace_id
    assert span.status.status_code is StatusCode.ERROR
    assert dict(span.attributes or {}) == {
        "http.request.method": "POST", "url.scheme": "http", "network.protocol.version": "1.1",
        "http.route": "/v1/clients/{slug}/debtors/{id_number}/fail", "http.response.status_code": 500}
    assert [e.attributes["exception.type"] for e in span.events if e.attributes] == ["RuntimeError"]
    inside = [s for s in finished if s.name == "inside"]
    assert inside and inside[0].parent is not None and inside[0].parent.span_id == span.context.span_id
    assert (server[other].attributes or {})["http.request.method"] == "_OTHER"
    assert (server["GET"].attributes or {})["http.response.status_code"] == 404
    assert "http.route" not in (server["GET"].attributes or {})
    for span in finished:
        assert DEBTOR_ID not in as_text(span) and PHONE not in as_text(span) and NAME not in as_text(span), \
            as_text(span)


async def test_the_answer_an_error_handler_gives_is_the_one_traced_and_logged(
        spans: InMemorySpanExporter, access_lines: io.StringIO) -> None:
    errors = io.StringIO()
    handler = logging.StreamHandler(errors)
    handler.setFormatter(JsonFormatter("test"))
    logging.getLogger("recaudo.errors").addHandler(handler)
    try:
        async with serving_app(debtor_app()) as base, httpx.AsyncClient(base_url=base) as http:
            answer = await http.post(f"/v1/clients/banco/debtors/{DEBTOR_ID}/slow")
    finally:
        logging.getLogger("recaudo.errors").removeHandler(handler)
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "1"
    uuid.UUID(answer.headers["X-Request-Id"])
    [span] = [s for s in exported(spans) if s.kind is SpanKind.SERVER]
    assert span.name == "POST /v1/clients/{slug}/debtors/{id_number}/slow" and span.context is not None
    assert (span.attributes or {})["http.response.status_code"] == 503
    [line] = [json.loads(text) for text in errors.getvalue().splitlines()]
    assert (line["msg"], line["trace_id"]) == ("dependency unavailable", f"{span.context.trace_id:032x}")
    [access] = [json.loads(text) for text in access_lines.getvalue().splitlines()]
    assert (access["status"], access["request_id"]) == (503, answer.headers["X-Request-Id"])


async def test_a_caller_that_hangs_up_before_its_body_arrives_is_a_499_not_a_server_error(
        spans: InMemorySpanExporter, access_lines: io.StringIO, caplog: pytest.LogCaptureFixture) -> None:
    async with serving_app(debtor_app()) as base:
        port = int(base.rsplit(":", 1)[1])
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"POST /v1/clients/banco/debtors/{DEBTOR_ID}/notes HTTP/1.1\r\nHost: x\r\n"
                     "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"note\": ".encode())
        await writer.drain()

        writer.close()
        await writer.wait_closed()

        async def logged() -> bool:
            return '"status": 499' in access_lines.getvalue()

        await eventually(logged, timeout_s=10, message="the hung-up request in the access log")
    line = json.loads(access_lines.getvalue().splitlines()[-1])
    assert (line["route"], line["status"]) == ("/v1/clients/{slug}/debtors/{id_number}/notes", 499)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage() for r in caplog.records]
    server = [s for s in exported(spans) if s.kind is SpanKind.SERVER]
    assert [(s.name, s.status.status_code) for s in server] == [
        ("POST /v1/clients/{slug}/debtors/{id_number}/notes", StatusCode.UNSET)]


async def test_a_providers_url_is_never_exported_with_the_call(spans: InMemorySpanExporter) -> None:
    """A provider's API has tokens and phone numbers in its paths and queries (WhatsApp's /{phone-number-id},
    Twilio's /Accounts/{sid}, a bank's ?token=): the client span keeps the host, method and status only."""
    fake = FastAPI()

    @fake.post("/v19.0/{phone}/messages")
    async def send(phone: str) -> dict[str, str]:
        return {"id": "wamid.1"}

    async with serving_app(fake) as base, httpx.AsyncClient() as http:
        sent = await http.post(f"{base}/v19.0/{PHONE}/messages?access_token={TOKEN}", json={"to": PHONE})
    assert sent.status_code == 200
    calls = [s for s in exported(spans) if s.kind is SpanKind.CLIENT and s.name == "POST"]
    assert calls, [s.name for s in exported(spans)]
    attributes = dict(calls[0].attributes or {})
    assert attributes.get("server.address") == "127.0.0.1"
    assert 200 in (attributes.get("http.response.status_code"), attributes.get("http.status_code"))
    assert PHONE not in as_text(calls[0]) and TOKEN not in as_text(calls[0])


def statements_gathered(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The statements asyncpg's instrumentation gathers a span's attributes for (its first work for each), as they
    come."""
    import opentelemetry.instrumentation.asyncpg as instrumented

    gathered: list[str] = []
    hydrate = instrumented._hydrate_span_from_args

    def counted(connection: object, query: str, *args: object, **kwargs: object) -> object:
        gathered.append(query)
        return hydrate(connection, query, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(instrumented, "_hydrate_span_from_args", counted)
    return gathered


async def test_the_libraries_trace_a_requests_statements_only_when_its_trace_is_kept(
        platform_on_postgres: Platform, spans: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch) -> None:
    """A request whose trace the sampler dropped (the caller's traceparent says so, as 9 in 10 do at deploy/k8s's
    ratio) costs asyncpg's instrumentation nothing: not a span dropped after its attributes were gathered, no work
    at all. A kept trace gets its statements as children of the request's span."""
    gathered = statements_gathered(monkeypatch)
    router = APIRouter(route_class=AuthorisedFirstRoute)

    @router.get("/v1/probe")
    async def probe() -> dict[str, int]:
        async with platform_on_postgres.db.transaction() as s:
            return {"n": int(await s.scalar(text("SELECT 41 + 1 AS traced_probe")) or 0)}

    trace_id = uuid.uuid4().hex
    async with serving_app(create_app(title="probe", service="probe", routers=[router])) as base, \
            httpx.AsyncClient(base_url=base) as http:
        for flags in ("00", "01"):
            gathered.clear()
            with suppress_instrumentation():  # the header as written: httpx's instrumentation would send its own
                answer = await http.get("/v1/probe", headers={"traceparent": f"00-{trace_id}-{'ab' * 8}-{flags}"})
            assert answer.json() == {"n": 42}
            if flags == "00":
                assert not any("traced_probe" in q for q in gathered), "a dropped trace's statements cost nothing"
    assert any("traced_probe" in q for q in gathered), "the instrumentation is installed and counted"
    finished = exported(spans)
    [server] = [s for s in finished if s.kind is SpanKind.SERVER and s.name == "GET /v1/probe"]
    mine = [s for s in finished if s.kind is SpanKind.CLIENT and "traced_probe" in as_text(s)]
    assert mine and all(s.parent is not None and server.context is not None
                        and s.parent.span_id == server.context.span_id for s in mine)


async def test_a_consumed_events_statements_are_traced_only_when_its_trace_is_kept(
        platform_on_postgres: Platform, spans: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch) -> None:
    """As for a request: an event whose trace was dropped where it was emitted costs its consumer no instrumentation
    for its statements, nor do the batch's own (inbox claim, outbox write); a kept one's are its span's children."""
    gathered = statements_gathered(monkeypatch)

    async def recalled(event: AccountRecalled, ctx: HandlerContext) -> None:
        await ctx.session.execute(text("SELECT 1 AS consumed_probe"))

    runtime = ConsumerRuntime(platform_on_postgres.db, platform_on_postgres.transport,
                              Subscriptions("probe", "reporting", {AccountRecalled: recalled}), "t", lambda: NOW)

    def batch(flags: str) -> list[Message]:
        return [read_record("t.account", b"banco/A-1", AccountRecalled(account_ref=f"A-{i}", recalled_at=NOW).envelope(
                    client="banco", occurred_at=NOW).model_dump_json().encode(),
                            {"traceparent": f"00-{uuid.uuid4().hex}-{'cd' * 8}-{flags}"}, i) for i in range(2)]

    assert await runtime.handle_batch(batch("00")) == ["processed", "processed"]
    assert gathered == [], "nothing of a dropped trace's batch gathered"
    assert await runtime.handle_batch(batch("01")) == ["processed", "processed"]
    assert sum("consumed_probe" in q for q in gathered) == 2
    consumed = {s.context.span_id for s in exported(spans) if s.name == "consume account.recalled" and s.context}
    mine = [s for s in exported(spans) if s.kind is SpanKind.CLIENT and "consumed_probe" in as_text(s)]
    assert len(mine) == 2 and all(s.parent is not None and s.parent.span_id in consumed for s in mine)


async def test_statements_are_exported_without_values(
        platform_on_each_transport: Platform, spans: InMemorySpanExporter) -> None:
    db = platform_on_each_transport.db
    with trace.get_tracer("test").start_as_current_span("probe"):
        async with db.transaction() as s:
            await s.execute(text("SELECT :n AS name, :d AS id_number"), {"n": NAME, "d": DEBTOR_ID})
            await s.execute(text(f"SELECT '{NAME}' AS literal, E'{DEBTOR_ID}' AS escaped"))  # what never should be
    statements = [str((s.attributes or {}).get("db.statement", (s.attributes or {}).get("db.query.text", "")))
                  for s in exported(spans) if s.kind is SpanKind.CLIENT]
    assert any("AS name" in st for st in statements), statements
    assert any("'?' AS literal" in st for st in statements), statements
    for st in statements:
        assert "Gómez" not in st and DEBTOR_ID not in st, st


async def test_the_trace_context_travels_with_the_event_on_each_transport(
        platform_on_each_transport: Platform, spans: InMemorySpanExporter) -> None:
    """Emitted in a span, relayed later outside it, read by a consumer: the record carries one traceparent, of the
    emitting trace (on Kafka, the instrumentation's producer span, the emitting span's child)."""
    platform = platform_on_each_transport
    prefix = platform.settings.topic_prefix
    topic = topic_name(prefix, "account")
    await platform.transport.ensure_topics([topic])
    with trace.get_tracer("test").start_as_current_span("emit") as emitting:
        async with platform.db.transaction() as s:
            await Outbox("ingest").add(s, [AccountRecalled(account_ref="A-1", recalled_at=NOW).envelope(
                client="banco", occurred_at=NOW)])
    await relay_all(platform, "ingest")
    subscriber = platform.transport.subscriber(f"{prefix}.probe", [topic])
    await subscriber.start()
    try:
        received = await eventually(lambda: subscriber.fetch(max_records=10, timeout_s=0.5), timeout_s=60,
                                    message="the event read back")
    finally:
        await subscriber.stop()
    _, trace_id, parent_id, _ = received[0].headers["traceparent"].split("-")
    context = emitting.get_span_context()
    assert int(trace_id, 16) == context.trace_id
    if platform.transport.name == "kafka":
        producers = [s for s in exported(spans) if s.kind is SpanKind.PRODUCER]
        assert producers and producers[0].parent is not None and producers[0].parent.span_id == context.span_id
        assert int(parent_id, 16) == producers[0].context.span_id
        assert all("A-1" not in as_text(p) for p in producers)  # the record's key names the account
    else:
        assert int(parent_id, 16) == context.span_id
