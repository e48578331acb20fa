"""Personal data never leaves through an error: a real database error on a row that carries a debtor's name, phone,
e-mail and id is logged, traced and dead-lettered (real PostgreSQL and Kafka), and none of those values is in the
log lines, the dead letter's headers or the exported span."""

import asyncio
import datetime as dt
import io
import json
import logging
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import text

from recaudo_common.bus.consumer import ConsumerRuntime, HandlerContext, Subscriptions
from recaudo_common.events import AccountRecalled, topic_name
from recaudo_common.outbox import Outbox
from recaudo_common.runtime import Platform
from recaudo_common.telemetry import JsonFormatter
from recaudo_common.testing import dead_letters, eventually, relay_all
from recaudo_common.testing_spans import exported_spans

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)
NAME, PHONE, EMAIL, DEBTOR_ID = "Ana Gómez Restrepo", "+57 300 123 4567", "ana.gomez@correo.co", "1020304050"
SECRETS = (NAME, "Gómez", PHONE, "300 123 4567", "3001234567", EMAIL, "ana.gomez", DEBTOR_ID)


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """The spans this process exports, through the platform's own exporter chain (configure_tracing)."""
    yield from exported_spans()


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """What the platform's JSON log handler writes, as it writes it."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter("test"))
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.INFO)
    yield out
    root.removeHandler(handler)
    root.setLevel(previous)


def account() -> AccountRecalled:
    # Events carry the debtor only sealed (#19); a recall's reason is an operator's free text and may still name
    # someone, so it carries the person here, in clear, to the handler whose insert fails.
    return AccountRecalled(account_ref="A-1", recalled_at=NOW, reason="|".join((NAME, PHONE, EMAIL, DEBTOR_ID)))


async def store_debtor(event: AccountRecalled, ctx: HandlerContext) -> None:
    """A handler whose insert the database refuses, with the whole row in the error (DETAIL: Failing row
    contains (...), the statement's parameters)."""
    name, phone, email, debtor_id = (event.reason or "").split("|")
    await ctx.session.execute(text(
        "INSERT INTO reporting.probe_debtors (full_name, phone, email, debtor_id) VALUES (:n, :p, :e, :d)"),
        {"n": name, "p": phone, "e": email, "d": debtor_id})


def without_secrets(what: str, text_: str) -> None:
    for secret in SECRETS:
        assert secret not in text_, f"{what} carries {secret!r}: {text_[:2000]}"


def span_text(span: ReadableSpan) -> str:
    events = [{"name": e.name, **dict(e.attributes or {})} for e in span.events]
    return json.dumps({"attributes": dict(span.attributes or {}), "events": events,
                       "status": span.status.description}, ensure_ascii=False, default=str)


async def test_a_database_error_on_personal_data_leaves_no_trace_of_it(
        platform_on_each_transport: Platform, spans: InMemorySpanExporter, log_lines: io.StringIO) -> None:
    platform = platform_on_each_transport
    prefix = platform.settings.topic_prefix
    async with platform.db.transaction() as s:
        await s.execute(text("CREATE TABLE reporting.probe_debtors (full_name text, phone text, email text UNIQUE,"
                             " debtor_id text, CHECK (length(full_name) < 5))"))
        await s.execute(text("CREATE UNIQUE INDEX probe_debtors_id ON reporting.probe_debtors (debtor_id)"))
    async with platform.db.transaction() as s:
        await Outbox("ingest").add(s, [account().envelope(client="banco", occurred_at=NOW)])
    await relay_all(platform, "ingest")
    runtime = ConsumerRuntime(platform.db, platform.transport,
                              Subscriptions("probe", "reporting", {AccountRecalled: store_debtor}), prefix,
                              lambda: NOW, max_retries=1, backoff_s=0.01)
    stop = asyncio.Event()
    async with dead_letters(platform, topic_name(prefix, "account")) as dead:
        task = asyncio.create_task(runtime.run(stop))
        try:
            await eventually(dead.arrived, timeout_s=60, message="the event dead-lettered")
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)
    letters = dead.letters

    # The dead letter says what failed, by class, SQLSTATE and constraint, and nothing of whom.
    headers = letters[0].headers
    assert headers["recaudo-dlq-reason"] == "handler_failed:IntegrityError/23514"
    assert "probe_debtors_full_name_check" in headers["recaudo-dlq-error"]
    without_secrets("the dead letter's headers", json.dumps(headers, ensure_ascii=False))
    assert EMAIL in letters[0].envelope.payload["reason"]  # the event itself is kept whole, for a replay

    # The log line about it, and a log.exception of the same real error, name no one either.
    async with platform.db.transaction() as s:
        await s.execute(text("INSERT INTO reporting.probe_debtors VALUES ('Ana', '1', :e, :d)"),
                        {"e": EMAIL, "d": DEBTOR_ID})
    try:
        async with platform.db.transaction() as s:
            await s.execute(text("INSERT INTO reporting.probe_debtors VALUES (:n, :p, :e, :d)"),
                            {"n": "Ana", "p": PHONE, "e": EMAIL, "d": DEBTOR_ID})
    except Exception as exc:
        logging.getLogger("recaudo.test").exception("could not store %s", exc)
    logged = log_lines.getvalue()
    assert "event dead-lettered" in logged and "sqlstate 23514, constraint probe_debtors_full_name_check" in logged
    assert "UniqueViolation" in logged and "probe_debtors_email_key" in logged
    # The ids an SRE needs to find the event and replay it are whole: a UUID's digits are no phone number.
    dead_line = next(json.loads(line) for line in logged.splitlines() if "event dead-lettered" in line)
    assert dead_line["event_id"] == str(letters[0].envelope.event_id), dead_line
    without_secrets("the log", logged)

    # The span of the failed attempt recorded the exception, and exported it without the row.
    trace.get_tracer_provider().force_flush()  # type: ignore[attr-defined]
    failed = [s for s in spans.get_finished_spans() if s.name == "consume account.recalled" and s.events]
    assert failed, [s.name for s in spans.get_finished_spans()]
    assert any(e.name == "exception" and "IntegrityError" in str((e.attributes or {}).get("exception.type"))
               for s in failed for e in s.events)
    for span in spans.get_finished_spans():
        without_secrets(f"span {span.name}", span_text(span))
