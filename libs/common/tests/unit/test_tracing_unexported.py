"""A process with nowhere to send spans makes none, yet hands on the caller's trace context: the events a request
emits carry the caller's traceparent, and its log lines the caller's trace id."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.unit

# In a process of its own: a tracer provider is installed once per process, and other tests install the SDK's.
PROGRAM = textwrap.dedent('''
    import json, logging
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
    from recaudo_common.instrumentation import finish_server_span, server_span
    from recaudo_common.telemetry import JsonFormatter, configure_tracing, inject_headers

    configure_tracing("recaudo-payments", None)
    caller = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    scope = {"type": "http", "method": "POST", "path": "/v1/webhooks/payments/pasarela", "scheme": "http",
             "http_version": "1.1", "headers": [(b"traceparent", caller.encode())]}
    span = server_span(scope)
    with trace.use_span(span, end_on_exit=True):
        finish_server_span(span, scope, "/v1/webhooks/payments/{gateway}", 200)
        record = logging.LogRecord("recaudo.test", logging.INFO, "payments", 1, "applied", None, None)
        line = json.loads(JsonFormatter("payments").format(record))
        print(json.dumps({"sdk": isinstance(trace.get_tracer_provider(), SdkTracerProvider),
                          "recording": span.is_recording(), "headers": inject_headers(),
                          "log_trace_id": line.get("trace_id")}))
''')


def test_without_an_exporter_no_span_is_made_and_the_callers_context_goes_on() -> None:
    done = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["sdk"] is False
    assert seen["recording"] is False
    assert seen["headers"]["traceparent"] == "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    assert seen["log_trace_id"] == "0af7651916cd43dd8448eb211c80319c"
