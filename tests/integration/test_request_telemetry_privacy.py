"""What the platform records about an HTTP request names its route template, never a value from the path or the
query: a debtor's id number in a path (`/debtors/{id_number}/...`) or a query reaches no exported span, no log line
and no metric label, in process (the platform's span exporter chain, its JSON logging at DEBUG) and in a running
`recaudo serve all` (its own log file, uvicorn included, and its /metrics)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from recaudo.services import build_units
from recaudo_common.runtime import Platform, build_app, make_platform
from recaudo_common.telemetry import JsonFormatter, configure_logging
from recaudo_common.testing import platform_process, settings_for_test
from recaudo_common.testing_spans import exported_spans

pytestmark = pytest.mark.integration

ID_NUMBER, EMAIL = "7310492856", "ximena.cardona.7310@example.co"
ROUTE = "/v1/clients/{slug}/placements/{account_ref}"  # an existing route with a path parameter (ingest)
PATH = f"/v1/clients/banco-andino/placements/{ID_NUMBER}?id_number={ID_NUMBER}&email={EMAIL}"
BANCO = {"slug": "banco-andino", "name": "Banco", "country": "CO", "currency": "COP",
         "timezone": "America/Bogota", "locale": "es-CO"}
OPERATOR_KEY = "rk_telemetry_operator_key_0123456789"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """The spans this process exports, through the platform's own exporter chain (configure_tracing)."""
    yield from exported_spans()


class Records(logging.Handler):
    """Every record at any level, as the platform's JSON formatter writes it and as raw text before its masks
    (which take digit runs out anyway: the raw text shows whether the value was logged at all)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.formatter_ = JsonFormatter("test")
        self.lines: list[str] = []
        self.raw: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.formatter_.format(record))
        self.raw.append(f"{record.getMessage()} {getattr(record, 'fields', '')}")


@pytest.fixture
def records() -> Iterator[Records]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging("test", "DEBUG")  # the platform's logging, at its most talkative
    handler = Records()
    root.addHandler(handler)
    yield handler
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
async def platform(database_url: str) -> AsyncIterator[Platform]:
    p = make_platform(settings_for_test(database_url), pool_size=2)
    yield p
    await p.db.dispose()


def assert_absent(where: str, text: str) -> None:
    assert ID_NUMBER not in text, f"the id number is in {where}"
    assert EMAIL not in text, f"the e-mail is in {where}"
    assert EMAIL.replace("@", "%40") not in text, f"the e-mail is in {where}"


async def test_a_paths_id_number_reaches_no_span_log_line_or_metric_label(
        platform: Platform, spans: InMemorySpanExporter, records: Records) -> None:
    app = build_app(platform, build_units(platform, ["ingest"]))
    _, operator = await platform.keys.create(role="operator", now=platform.clock())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test",
                                 headers={"Authorization": f"Bearer {operator}"}) as http:
        assert (await http.post("/v1/clients", json=BANCO)).status_code == 201
        answer = await http.get(PATH)
        assert answer.status_code == 404, answer.text  # no such placement: the route ran, and refused
        metrics = (await http.get("/metrics")).text
    trace.get_tracer_provider().force_flush()  # type: ignore[attr-defined]

    # One server span, the platform's (recaudo_common.instrumentation.server_span), which records no path at all
    served = [s for s in spans.get_finished_spans() if s.kind == trace.SpanKind.SERVER and ROUTE in s.name]
    assert [s.instrumentation_scope.name for s in served if s.instrumentation_scope] == ["recaudo_common.http"]
    for span in served:
        attributes = dict(span.attributes or {})
        assert span.name == f"GET {ROUTE}"
        assert attributes["http.route"] == ROUTE
        assert attributes["http.request.method"] == "GET" and attributes["http.response.status_code"] == 404
        assert "url.path" not in attributes
        assert not {"url.query", "url.full", "http.target", "http.url"} & attributes.keys()
    for span in spans.get_finished_spans():
        assert_absent(f"span {span.name}", span.to_json())
    assert f'route="{ROUTE}"' in metrics  # the request is counted, by its template
    assert_absent("/metrics", metrics)
    assert_absent("the log", "\n".join(records.lines + records.raw))


async def test_a_running_platform_logs_and_counts_no_value_from_a_path(database_url: str, tmp_path: Path) -> None:
    # DEBUG: every logger the platform keeps, uvicorn's included, writes to the log file
    async with platform_process(settings_for_test(database_url), tmp_path, OPERATOR_KEY,
                                RECAUDO_LOG_LEVEL="DEBUG") as running:
        async with running.client() as http:
            assert (await http.post("/v1/clients", json=BANCO)).status_code == 201
            assert (await http.get(PATH)).status_code == 404
            metrics = (await http.get("/metrics")).text
    log = running.process.log_path.read_text(errors="replace")
    assert '"level": "DEBUG"' in log or '"level": "INFO"' in log  # the platform did write its log here
    assert f'route="{ROUTE}"' in metrics
    assert '"logger": "recaudo.access"' in log and f'"route": "{ROUTE}"' in log  # its access line, by template
    assert_absent("the platform's log", log)
    assert_absent("/metrics", metrics)
