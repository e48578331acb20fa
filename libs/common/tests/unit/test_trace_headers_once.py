"""The trace headers an emitted event carries are injected once per context (#24) and are still each context's own:
a caller's trace with no span made here, its baggage, and no trace at all, in turn and back again."""

from __future__ import annotations

import json

import pytest
from opentelemetry import baggage, propagate
from opentelemetry import context as otel_context

from recaudo_common.telemetry import inject_headers, trace_headers_json

pytestmark = pytest.mark.unit
CALLER = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def test_each_context_gets_its_own_headers_injected_once(monkeypatch: pytest.MonkeyPatch) -> None:
    injected: list[dict[str, str]] = []

    def counted() -> dict[str, str]:
        injected.append(inject_headers())
        return injected[-1]

    monkeypatch.setattr("recaudo_common.telemetry.inject_headers", counted)
    # A context of this test's own, so none of another test's (the last one injected) is reused.
    fresh = otel_context.attach(otel_context.Context())
    outside = trace_headers_json()
    assert trace_headers_json() == outside and len(injected) == 1
    caller = propagate.extract({"traceparent": CALLER})
    token = otel_context.attach(caller)
    try:
        assert [json.loads(trace_headers_json()) for _ in range(3)] == [{"traceparent": CALLER}] * 3
        assert len(injected) == 2
        inner = otel_context.attach(baggage.set_baggage("tenant", "banco", caller))
        try:
            assert json.loads(trace_headers_json()) == {"traceparent": CALLER, "baggage": "tenant=banco"}
        finally:
            otel_context.detach(inner)
        assert json.loads(trace_headers_json()) == {"traceparent": CALLER}
    finally:
        otel_context.detach(token)
    assert trace_headers_json() == outside == json.dumps(inject_headers())
    otel_context.detach(fresh)
