"""Webhook benchmark: signed gateway payments posted by wrk to `recaudo serve payments` on the Kafka transport (a
real broker started by scripts/kafka.sh), throughput and latency percentiles, beside the same load against
`/healthz` of the same server (the HTTP floor) and a raw aiokafka produce of same-size records."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid

from aiokafka import AIOKafkaProducer
from sqlalchemy import text

from bench.common import (
    fresh_database,
    kafka_broker,
    machine,
    migrate_schemas,
    payment_bodies,
    place_accounts,
    process_cpu_s,
    save,
    serve,
    signed_posts,
    wait_ready,
    wrk,
)
from recaudo_common import embedded_pg
from recaudo_common.local_ports import free_port
from recaudo_common.runtime import make_platform
from recaudo_common.settings import PlatformSettings

SECRET = "bench-secret"


def pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100)[int(p) - 1] * 1000


async def raw_kafka(bootstrap: str, bodies: list[bytes]) -> float:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", linger_ms=5)
    await producer.start()
    try:
        started = time.perf_counter()
        futures = [await producer.send(f"bench.raw.{uuid.uuid4().hex[:6]}" if i == 0 else "bench.raw", b)
                   for i, b in enumerate(bodies)]
        await asyncio.gather(*futures)
        return time.perf_counter() - started
    finally:
        await producer.stop()


# The payments server's configurations, each a run of its own on a fresh process: as the benchmarks run (no
# exporter, so no spans at all), every trace exported to a collector, and the share deploy/k8s keeps.
TRACED = (("no traces", None), ("every trace exported", "1"), ("1 in 10 traces exported", "0.1"))


def sink_spans(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/spans", timeout=10) as answer:
        return int(answer.read().split()[0])


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()  # uvicorn's graceful exit: the span processor flushes what it holds at exit
    process.wait(30)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("BENCH_WEBHOOK_SECONDS", "15")))
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    broker = contextlib.ExitStack()
    bootstrap = broker.enter_context(kafka_broker())
    url, data = fresh_database("webhooks")
    sink_port = free_port()
    sink = subprocess.Popen([sys.executable, "-m", "bench.otlp_sink", "--port", str(sink_port)])
    runs: dict[str, dict[str, float]] = {}
    try:
        await migrate_schemas(url, ("ingest", "payments"))
        settings = PlatformSettings(database_url=url, transport="kafka", kafka_bootstrap=bootstrap,
                                    topic_prefix="bench" + uuid.uuid4().hex[:6])
        platform = make_platform(settings, pool_size=4)
        await platform.transport.start()
        now = await place_accounts(platform, 500, "100000000")
        env = {**os.environ, "RECAUDO_DATABASE_URL": url, "RECAUDO_TRANSPORT": "kafka",
               "RECAUDO_KAFKA_BOOTSTRAP": bootstrap, "RECAUDO_TOPIC_PREFIX": settings.topic_prefix,
               "RECAUDO_LOG_LEVEL": "WARNING", "RECAUDO_PAYMENTS_WEBHOOK_SECRETS": json.dumps({"pasarela": SECRET})}
        for inherited in ("RECAUDO_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT", "RECAUDO_PAYMENTS_OTLP_ENDPOINT",
                          "RECAUDO_TRACE_SAMPLE_RATIO", "RECAUDO_PAYMENTS_TRACE_SAMPLE_RATIO"):
            env.pop(inherited, None)  # each run says its own
        for _ in range(600):
            async with platform.db.transaction() as s:
                placed = await s.scalar(text("SELECT count(*) FROM payments.accounts"))
            if placed == 500:
                break
            await asyncio.sleep(0.2)
        for number, (name, ratio) in enumerate(TRACED):
            port = free_port()
            traced = {} if ratio is None else {"RECAUDO_OTLP_ENDPOINT": f"http://127.0.0.1:{sink_port}",
                                               "RECAUDO_TRACE_SAMPLE_RATIO": ratio}
            process = serve("payments", port, {**env, **traced})
            base = f"http://127.0.0.1:{port}"
            try:
                await asyncio.to_thread(wait_ready, base, process)
                await asyncio.to_thread(wrk, f"{base}/healthz", connections=args.concurrency, seconds=2)  # warm-up
                if number == 0:
                    runs["floor"] = await asyncio.to_thread(wrk, f"{base}/healthz", connections=args.concurrency,
                                                            seconds=args.seconds)
                # Not measured: the same payments first, on every server. The broker is a fresh JVM whose JIT
                # compilers would take a share of the two cores from the first run only (the freshness benchmark
                # says more), and each new server process has its pool to open and its statements to prepare.
                warm = signed_posts(payment_bodies(f"warm{number}", args.seconds * 2000, 500, now), SECRET)
                await asyncio.to_thread(wrk, f"{base}/v1/webhooks/payments/pasarela", connections=args.concurrency,
                                        seconds=args.seconds, posts=warm, posts_header="Recaudo-Signature")
                # More bodies than the run can send (none twice, none sent in another run), each signed now: a run
                # is far inside the tolerance.
                bodies = payment_bodies(f"bench{number}", args.seconds * 2000, 500, now)
                posts = signed_posts(bodies, SECRET)
                spans_before = sink_spans(sink_port)
                cpu_before = process_cpu_s(process.pid)
                run = await asyncio.to_thread(wrk, f"{base}/v1/webhooks/payments/pasarela",
                                              connections=args.concurrency, seconds=args.seconds, posts=posts,
                                              posts_header="Recaudo-Signature")
                run["server_cpu_s"] = process_cpu_s(process.pid) - cpu_before
                if run["requests"] > len(posts):
                    raise RuntimeError("wrk sent more payments than the run made: some were sent twice")
            finally:
                stop(process)
            run["spans"] = sink_spans(sink_port) - spans_before
            runs[name] = run
            if number == 0:
                kafka_seconds = await raw_kafka(bootstrap, bodies[:3000])
        sink_cpu = process_cpu_s(sink.pid)
        await platform.transport.stop()
        await platform.db.dispose()
    finally:
        sink.terminate()
        sink.wait(30)
        embedded_pg.stop(data)
        broker.close()
    floor, run = runs["floor"], runs["no traces"]
    applied = int(run["requests"] - run["failures"])
    figures = {
        "webhooks per second": f"{run['per_s']:,.0f} ({applied:,} answered 200, {run['failures']:,.0f} not)",
        "p50 / p99 (ms)": f"{run['p50_ms']:.1f} / {run['p99_ms']:.1f}",
        "HTTP floor per second (/healthz)": f"{floor['per_s']:,.0f}",
        "HTTP floor p50 / p99 (ms)": f"{floor['p50_ms']:.1f} / {floor['p99_ms']:.1f}",
        "raw aiokafka produce per second": f"{3000 / kafka_seconds:,.0f}",
        "wrk's CPU seconds (payments / floor)": f"{run['cpu_s']:.1f} / {floor['cpu_s']:.1f}",
    }
    for name, _ in TRACED:
        traced_run = runs[name]
        answered = traced_run["requests"] - traced_run["failures"]
        figures[f"{name}: webhooks per second, p99 (ms)"] = (
            f"{traced_run['per_s']:,.0f} ({traced_run['failures']:,.0f} not answered 200), "
            f"{traced_run['p99_ms']:.1f}")
        figures[f"{name}: server CPU per payment (ms)"] = f"{traced_run['server_cpu_s'] / answered * 1000:.2f}"
        figures[f"{name}: spans received by the collector per payment"] = f"{traced_run['spans'] / answered:.1f}"
    figures["the collector's CPU seconds (all runs)"] = f"{sink_cpu:.1f}"
    save("webhooks", {
        "title": f"Payment webhooks: signed payments from {args.concurrency} connections for {args.seconds} s, "
                 "Kafka transport",
        "what": "Each request verifies the HMAC signature and is answered once its payment has committed: the "
                "payments that arrive together share one transaction (group commit), which matches their accounts "
                "and writes the payments, their ledger entries, the new balances and payment.applied to the "
                "outbox with one statement each; the relay "
                "publishes to Kafka (acks=all) behind it. Floors in the same run: the same load on `/healthz` of the "
                "same server (HTTP and the event loop, no database), and a raw aiokafka idempotent produce of the "
                "same bodies. On every server the payments are measured after as many seconds of them not measured "
                "(a warm broker, an open pool, prepared statements); then the same load on a server that exports its traces (OTLP/HTTP, as "
                "deploy/k8s "
                "sets `RECAUDO_OTLP_ENDPOINT`) to a local collector that counts the spans it receives "
                "(bench/otlp_sink.py, a process of its own): every trace, then 1 in 10 "
                "(`RECAUDO_TRACE_SAMPLE_RATIO`, deploy/k8s's value).",
        "machine": machine(),
        "figures": figures,
        "notes": "One server process on one core, and the load generator, wrk (native; each connection posts the "
                 "next pre-signed body as soon as it is answered), on the same two cores. The HTTP floor beside it "
                 "is the same server's HTTP stack and event loop with no work. The server's CPU per payment is "
                 "read from /proc over each run. The webhook benchmark has no target "
                 "of its own; the payment → report freshness benchmark below measures the saturation and the "
                 "freshness at 80 % of it, without an exporter.",
    })
    print("webhooks:", {name: (round(r["per_s"]), r.get("spans")) for name, r in runs.items()})


if __name__ == "__main__":
    asyncio.run(main())
