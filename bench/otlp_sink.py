"""A local OTLP/HTTP trace receiver for the benchmarks: it takes what a service exports as a collector would
(`POST /v1/traces`, protobuf, gzip or not), counts the spans and answers with an empty export response, so a
benchmark can measure what exporting traces costs a service. `GET /spans` answers the count so far.

Run as its own process (`python -m bench.otlp_sink --port N`), so its CPU is the collector's, not the service's
nor the benchmark's."""

from __future__ import annotations

import argparse
import gzip
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

_EMPTY = ExportTraceServiceResponse().SerializeToString()


class _Counts:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.spans = 0
        self.exports = 0


COUNTS = _Counts()


def spans_in(body: bytes, encoding: str | None) -> int:
    request = ExportTraceServiceRequest()
    request.ParseFromString(gzip.decompress(body) if encoding == "gzip" else body)
    return sum(len(scope.spans) for resource in request.resource_spans for scope in resource.scope_spans)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # the exporter's session keeps its connection

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path != "/v1/traces":
            self._answer(404, b"", "text/plain")
            return
        found = spans_in(body, self.headers.get("Content-Encoding"))
        with COUNTS.lock:
            COUNTS.spans += found
            COUNTS.exports += 1
        self._answer(200, _EMPTY, "application/x-protobuf")

    def do_GET(self) -> None:
        with COUNTS.lock:
            answer = f"{COUNTS.spans} {COUNTS.exports}".encode()
        self._answer(200, answer, "text/plain")

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    ThreadingHTTPServer(("127.0.0.1", args.port), _Handler).serve_forever()


if __name__ == "__main__":
    main()
