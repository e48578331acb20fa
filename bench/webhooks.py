"""Webhook benchmark: signed gateway payments posted concurrently to `recaudo serve payments` on the Kafka
transport (a real broker started by scripts/kafka.sh), throughput and latency percentiles, beside the same
load against `/healthz` of the same server (the HTTP floor) and a raw aiokafka produce of same-size records."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
import uuid

import httpx
from aiokafka import AIOKafkaProducer
from sqlalchemy import text

from bench.common import fresh_database, kafka_broker, machine, migrate_schemas, place_accounts, save
from recaudo_common import embedded_pg
from recaudo_common.runtime import make_platform
from recaudo_common.settings import PlatformSettings
from recaudo_common.testing import free_port
from recaudo_common.webhook_signatures import sign

SECRET = "bench-secret"


async def load(url: str, bodies: list[bytes], concurrency: int, *, signed: bool) -> tuple[float, list[float]]:
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=concurrency)) as http:
        async def one(body: bytes) -> None:
            async with gate:
                started = time.perf_counter()
                if signed:
                    response = await http.post(url, content=body, headers={
                        "Recaudo-Signature": sign(body, SECRET, dt.datetime.now(dt.UTC)),
                        "Content-Type": "application/json"})
                else:
                    response = await http.get(url)
                response.raise_for_status()
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(one(b) for b in bodies))
        return time.perf_counter() - started, latencies


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


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--webhooks", type=int, default=int(os.environ.get("BENCH_WEBHOOKS", "3000")))
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    broker = contextlib.ExitStack()
    bootstrap = broker.enter_context(kafka_broker())
    url, data = fresh_database("webhooks")
    process = None
    try:
        await migrate_schemas(url, ("ingest", "payments"))
        settings = PlatformSettings(database_url=url, transport="kafka", kafka_bootstrap=bootstrap,
                                    topic_prefix="bench" + uuid.uuid4().hex[:6])
        platform = make_platform(settings, pool_size=4)
        await platform.transport.start()
        now = await place_accounts(platform, settings.topic_prefix, 500, "100000000")
        port = free_port()
        env = {**os.environ, "RECAUDO_DATABASE_URL": url, "RECAUDO_TRANSPORT": "kafka",
               "RECAUDO_KAFKA_BOOTSTRAP": bootstrap, "RECAUDO_TOPIC_PREFIX": settings.topic_prefix,
               "RECAUDO_LOG_LEVEL": "WARNING", "RECAUDO_PAYMENTS_WEBHOOK_SECRETS": json.dumps({"pasarela": SECRET})}
        process = subprocess.Popen([sys.executable, "-m", "recaudo.cli", "serve", "payments", "--port", str(port),
                                    "--no-migrate"], env=env)
        base = f"http://127.0.0.1:{port}"
        for _ in range(600):
            async with platform.db.transaction() as s:
                placed = await s.scalar(text("SELECT count(*) FROM payments.accounts"))
            if placed == 500:
                break
            await asyncio.sleep(0.2)
        bodies = [json.dumps({"type": "payment", "payment_id": f"bench-{i}", "client": "banco",
                              "account_ref": f"A-{i % 500}", "amount": "1000.00", "currency": "COP",
                              "paid_at": now.isoformat()}).encode() for i in range(args.webhooks)]
        await load(f"{base}/healthz", bodies[:200], args.concurrency, signed=False)  # warm-up
        floor_seconds, floor_latencies = await load(f"{base}/healthz", bodies, args.concurrency, signed=False)
        seconds, latencies = await load(f"{base}/v1/webhooks/payments/pasarela", bodies, args.concurrency,
                                        signed=True)
        kafka_seconds = await raw_kafka(bootstrap, bodies)
        await platform.transport.stop()
        await platform.db.dispose()
    finally:
        if process is not None:
            process.terminate()
            process.wait(30)
        embedded_pg.stop(data)
        broker.close()
    n = args.webhooks
    save("webhooks", {
        "title": f"Payment webhooks: {n:,} signed payments at concurrency {args.concurrency}, Kafka transport",
        "what": "Each request verifies the HMAC signature, matches the account, writes the payment, its ledger entry, "
                "the new balance and payment.applied to the outbox in one transaction, and answers; the relay "
                "publishes to Kafka (acks=all) behind it. Floors in the same run: the same load on `/healthz` of the "
                "same server (HTTP and the event loop, no database), and a raw aiokafka idempotent produce of the "
                "same bodies.",
        "machine": machine(),
        "figures": {
            "webhooks per second": f"{n / seconds:,.0f}", "p50 (ms)": f"{pct(latencies, 50):.1f}",
            "p99 (ms)": f"{pct(latencies, 99):.1f}",
            "HTTP floor per second (/healthz)": f"{n / floor_seconds:,.0f}",
            "HTTP floor p50 / p99 (ms)": f"{pct(floor_latencies, 50):.1f} / {pct(floor_latencies, 99):.1f}",
            "raw aiokafka produce per second": f"{n / kafka_seconds:,.0f}",
        },
        "notes": "One server process on one core, and the load generator (httpx, Python, which signs every body "
                 "with the time it is sent) on the same two cores: the HTTP floor beside it shows how much of the "
                 "figure is the client and the event loop rather than the payment. The webhook benchmark has no "
                 "target of its own; the payment → report freshness benchmark below offers 500 payments/s.",
    })
    print(f"webhooks: {n / seconds:,.0f}/s p50 {pct(latencies, 50):.1f} ms p99 {pct(latencies, 99):.1f} ms; "
          f"healthz {n / floor_seconds:,.0f}/s")


if __name__ == "__main__":
    asyncio.run(main())
