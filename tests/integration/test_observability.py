"""For SREs: every metric the dashboards and rules read is one the code exports (promtool's check and unit tests
of the rules are test_alerting.py); and one upload's spans in every service share one trace, seen by a real
OTLP/HTTP receiver."""

import gzip
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request, Response
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from prometheus_client import REGISTRY

import recaudo_common.telemetry  # noqa: F401 - registers the platform's metrics
from recaudo_common.testing import (
    REPOSITORY_ROOT,
    RunningPlatform,
    database_rows,
    eventually,
    platform_process,
    serving_app,
    settings_for_test,
)

pytestmark = pytest.mark.integration
PROMETHEUS = REPOSITORY_ROOT / "deploy" / "prometheus"
DASHBOARDS = REPOSITORY_ROOT / "deploy" / "grafana" / "dashboards"


def exported_metrics() -> set[str]:
    return {metric.name for metric in REGISTRY.collect()}


def test_dashboards_and_rules_read_only_metrics_the_code_exports() -> None:
    exported = exported_metrics() | {"up"}
    texts = [(path.name, path.read_text()) for path in [*DASHBOARDS.glob("*.json"), PROMETHEUS / "alerts.yml"]]
    assert len(texts) >= 2
    for name, text in texts:
        if name.endswith(".json"):
            dashboard = json.loads(text)
            assert dashboard["uid"] and dashboard["panels"]
            exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
        else:
            exprs = re.findall(r"expr: \|?\s*\n?\s*(.+)", text)
        used = {re.sub(r"_(bucket|count|sum|total)$", "", m) for e in exprs for m in re.findall(r"recaudo_[a-z_]+", e)}
        assert used, name
        unknown = sorted(u for u in used if u not in exported and u.removesuffix("_seconds") not in exported)
        assert not unknown, f"{name} reads metrics the code does not export: {unknown}"


class Receiver:
    """An OTLP/HTTP trace receiver: what a collector does on POST /v1/traces (protobuf, maybe gzipped)."""

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []
        self.bodies: list[bytes] = []
        self.app = FastAPI()
        self.app.post("/v1/traces")(self.receive)

    async def receive(self, request: Request) -> Response:
        body = await request.body()
        if request.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        self.bodies.append(body)
        export = ExportTraceServiceRequest.FromString(body)
        for resource_spans in export.resource_spans:
            for scope in resource_spans.scope_spans:
                for span in scope.spans:
                    attributes = {a.key: a.value.string_value for a in span.attributes}
                    self.spans.append({"trace": span.trace_id.hex(), "name": span.name, "attributes": attributes,
                                       "kind": Span.SpanKind.Name(span.kind), "scope": scope.scope.name})
        return Response(b"", media_type="application/x-protobuf")


@pytest.fixture(params=["postgres", "kafka"])
async def traced_platform(request: pytest.FixtureRequest, database_url: str,
                          tmp_path: Path) -> AsyncIterator[tuple[RunningPlatform, Receiver]]:
    """The platform exporting its spans to a local receiver over OTLP (RECAUDO_OTLP_ENDPOINT), on each transport."""
    receiver = Receiver()
    transport = request.param
    bootstrap = request.getfixturevalue("kafka_bootstrap") if transport == "kafka" else "unused:1"
    settings = settings_for_test(database_url, transport=transport, kafka_bootstrap=bootstrap)
    async with serving_app(receiver.app) as collector, platform_process(
            settings, tmp_path, "rk_trace_operator_key_0001", RECAUDO_OTLP_ENDPOINT=collector,
            OTEL_BSP_SCHEDULE_DELAY="200") as platform:
        yield platform, receiver


# The account's debtor, as the upload names them: none of it may reach a span.
DEBTOR = ("Ana Gómez", "Gómez", "1020304050", "300 123 4567", "3001234567")


async def test_one_account_is_followed_from_upload_to_report_on_one_trace_through_every_service(
        traced_platform: tuple[RunningPlatform, Receiver]) -> None:
    platform, receiver = traced_platform
    async with platform.client() as operator:
        assert (await operator.post("/v1/clients", json={
            "slug": "banco", "name": "Banco", "country": "CO", "currency": "COP", "timezone": "America/Bogota",
            "locale": "es-CO"})).status_code == 201

        async def client_everywhere() -> bool:
            # On Kafka the client's topic and the accounts' are read independently: an account placed before
            # segmentation holds its client is segmented when the client arrives, in the registration's trace.
            # The upload waits, so the one trace this test follows is the upload's.
            url = platform.settings.database_url
            return all([await database_rows(url, f"SELECT 1 FROM {schema}.clients WHERE slug = 'banco'")
                        for schema in ("segmentation", "outreach", "payments", "reporting")])

        await eventually(client_everywhere, timeout_s=60, message="the client company in every service")
        upload = await operator.post("/v1/clients/banco/portfolios", files={"file": (
            "c.csv", "Número Obligación;Cédula;Nombre Completo;Celular;Saldo Total;Días Mora\n"
                     "T-1;1020304050;Ana Gómez;300 123 4567;1.500.000;45\n".encode(), "text/csv")})
        assert upload.status_code == 202

        async def reported() -> bool:
            answer = await operator.get("/v1/clients/banco/reports/recovery")
            return answer.status_code == 200 and answer.json()["totals"]["accounts_placed"] == 1

        await eventually(reported, timeout_s=90, message="the account in the recovery report")

    def upload_spans() -> list[dict[str, Any]]:
        traces = {s["trace"] for s in receiver.spans
                  if s["kind"] == "SPAN_KIND_SERVER" and s["name"] == "POST /v1/clients/{slug}/portfolios"}
        return [s for s in receiver.spans if s["trace"] in traces]

    async def every_service_joined() -> bool:
        spans = upload_spans()
        consumers = {s["attributes"].get("recaudo.consumer", "") for s in spans}
        # ...and the chain goes on past one hop: segmentation's own event is consumed in the same trace.
        return ({"segmentation", "outreach", "payments", "reporting"} <= consumers
                and any(s["name"].startswith("consume account.segmented") for s in spans))

    try:
        await eventually(every_service_joined, timeout_s=60, message="spans of every service in the upload's trace")
    except AssertionError:
        print(sorted({(s["name"], s["attributes"].get("recaudo.consumer")) for s in receiver.spans})[:60])
        print(platform.process.log_tail())
        raise
    spans = upload_spans()
    assert len({s["trace"] for s in spans}) == 1  # one upload, one trace
    names = {s["name"] for s in spans}
    assert any(n.startswith("consume account.placed") for n in names)
    assert "process portfolio" in names  # the ingest worker continued the request's trace
    # One server span for the request, the platform's; the database calls are asyncpg's spans.
    assert [s["name"] for s in spans if s["kind"] == "SPAN_KIND_SERVER"] == ["POST /v1/clients/{slug}/portfolios"]
    assert [s["scope"] for s in spans if s["kind"] == "SPAN_KIND_SERVER"] == ["recaudo_common.http"]
    assert any(s["scope"].endswith("asyncpg") for s in spans)
    if platform.settings.transport == "kafka":  # the records went through aiokafka's instrumentation
        assert any(s["kind"] == "SPAN_KIND_PRODUCER" and s["scope"].endswith("aiokafka") for s in spans)
    for body in receiver.bodies:
        for value in DEBTOR:
            assert value.encode() not in body, f"a span carries {value!r}"
