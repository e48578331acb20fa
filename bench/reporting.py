"""Reporting benchmarks. Freshness: payments posted at a steady rate to `recaudo serve payments` on the Kafka
transport, each timed from its application in payments to its row in reporting's read model (a separate
`recaudo serve reporting` process), beside raw aiokafka produce-to-consume latency in the same run. Report API:
100 concurrent clients asking a 1,000,000-account client's live recovery report, beside /healthz."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import subprocess
import sys
import time
import uuid

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.common import fresh_database, kafka_broker, machine, migrate_schemas, place_accounts, save
from bench.webhooks import SECRET, pct
from recaudo_common import embedded_pg
from recaudo_common.db import asyncpg_dsn
from recaudo_common.runtime import make_platform
from recaudo_common.settings import PlatformSettings
from recaudo_common.testing import free_port
from recaudo_common.webhook_signatures import sign

ACCOUNTS = 2000


def serve(service: str, port: int, env: dict[str, str], role: str = "all") -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "recaudo.cli", "serve", service, "--role", role, "--port",
                             str(port), "--no-migrate"], env=env)


async def ready(base: str) -> None:
    async with httpx.AsyncClient(timeout=2) as http:
        for _ in range(300):
            try:
                if (await http.get(f"{base}/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{base} never became ready")


async def paced(url: str, bodies: list[bytes], rate: float, concurrency: int) -> tuple[float, int]:
    """Open-loop load: request i is due at i / rate seconds; at most `concurrency` in flight."""
    gate = asyncio.Semaphore(concurrency)
    failures = 0
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=concurrency)) as http:
        async def one(i: int, body: bytes) -> None:
            nonlocal failures
            delay = started + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            async with gate:
                try:
                    answer = await http.post(url, content=body, headers={
                        "Recaudo-Signature": sign(body, SECRET, dt.datetime.now(dt.UTC)),
                        "Content-Type": "application/json"})
                    failures += answer.status_code >= 400
                except httpx.HTTPError:  # an overloaded server drops connections: counted, not fatal
                    failures += 1

        started = time.perf_counter()
        await asyncio.gather(*(one(i, b) for i, b in enumerate(bodies)))
        return time.perf_counter() - started, failures


async def kafka_floor(bootstrap: str, n: int, size: int) -> list[float]:
    """Raw aiokafka: produce one record, time until a consumer reads it (acks=all, read_committed)."""
    topic = f"bench.floor.{uuid.uuid4().hex[:6]}"
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                isolation_level="read_committed", group_id=topic)
    await producer.start()
    await consumer.start()
    latencies = []
    try:
        await producer.send_and_wait(topic, b"warm")
        await consumer.getone()
        for _ in range(n):
            sent = time.perf_counter()
            await producer.send_and_wait(topic, b"x" * size)
            await consumer.getone()
            latencies.append(time.perf_counter() - sent)
    finally:
        await consumer.stop()
        await producer.stop()
    return latencies


async def freshness(seconds: int, rate: float) -> dict[str, str]:
    broker = contextlib.ExitStack()
    bootstrap = broker.enter_context(kafka_broker())
    url, data = fresh_database("freshness")
    processes: list[subprocess.Popen[bytes]] = []
    try:
        await migrate_schemas(url, ("ingest", "payments", "reporting"))
        settings = PlatformSettings(database_url=url, transport="kafka", kafka_bootstrap=bootstrap,
                                    topic_prefix="bench" + uuid.uuid4().hex[:6])
        platform = make_platform(settings, pool_size=4)
        await platform.transport.start()
        now = await place_accounts(platform, settings.topic_prefix, ACCOUNTS, "1000000000")
        env = {**os.environ, "RECAUDO_DATABASE_URL": url, "RECAUDO_TRANSPORT": "kafka",
               "RECAUDO_KAFKA_BOOTSTRAP": bootstrap, "RECAUDO_TOPIC_PREFIX": settings.topic_prefix,
               "RECAUDO_LOG_LEVEL": "WARNING", "RECAUDO_PAYMENTS_WEBHOOK_SECRETS": json.dumps({"pasarela": SECRET})}
        payments_port, reporting_port = free_port(), free_port()
        processes = [serve("payments", payments_port, env), serve("reporting", reporting_port, env, "worker")]
        await ready(f"http://127.0.0.1:{payments_port}")
        conn = await asyncpg.connect(asyncpg_dsn(url))
        try:
            for _ in range(600):
                placed = await conn.fetchval("SELECT (SELECT count(*) FROM payments.accounts) + "
                                             "(SELECT count(*) FROM reporting.accounts)")
                if placed == 2 * ACCOUNTS:
                    break
                await asyncio.sleep(0.2)
            total = int(seconds * rate)
            bodies = [json.dumps({"type": "payment", "payment_id": f"f-{i}", "client": "banco",
                                  "account_ref": f"A-{i % ACCOUNTS}", "amount": "1000.00", "currency": "COP",
                                  "paid_at": now.isoformat()}).encode() for i in range(total)]
            elapsed, failures = await paced(f"http://127.0.0.1:{payments_port}/v1/webhooks/payments/pasarela",
                                            bodies, rate, 64)
            for _ in range(1200):
                seen = await conn.fetchval("SELECT count(*) FROM reporting.payments")
                if seen >= total - failures:
                    break
                await asyncio.sleep(0.5)
            rows = await conn.fetch("""SELECT extract(epoch FROM r.applied_at - p.received_at) AS s
                                       FROM reporting.payments r JOIN payments.payments p ON p.id = r.payment_id""")
        finally:
            await conn.close()
        lags = [max(float(r["s"]), 0.0) for r in rows]
        floor = await kafka_floor(bootstrap, 500, len(bodies[0]))
        await platform.transport.stop()
        await platform.db.dispose()
    finally:
        for p in processes:
            p.terminate()
            p.wait(30)
        embedded_pg.stop(data)
        broker.close()
    return {"offered": f"{rate:,.0f} payments/s for {seconds} s ({total:,} payments)",
            "achieved": f"{(total - failures) / elapsed:,.0f} payments/s ({failures} refused)",
            "payments in the report": f"{len(lags):,}",
            "freshness p50 (ms)": f"{pct(lags, 50):.0f}", "freshness p99 (ms)": f"{pct(lags, 99):.0f}",
            "raw aiokafka produce→consume p50 / p99 (ms)": f"{pct(floor, 50):.1f} / {pct(floor, 99):.1f}",
            "target": "p99 ≤ 1 s at 500 payments/s"}


async def report_api(accounts: int, requests: int, concurrency: int) -> dict[str, str]:
    url, data = fresh_database("reportapi")
    process = None
    try:
        await migrate_schemas(url, ("reporting",))
        conn = await asyncpg.connect(asyncpg_dsn(url))
        try:
            await conn.execute("INSERT INTO reporting.clients (slug, name, country, currency, timezone, locale, "
                               "default_authorised_channels, updated_at) VALUES ('bench', 'Bench', 'CO', 'COP', "
                               "'America/Bogota', 'es-CO', '{sms}', now())")
            buckets = "(ARRAY['0','1-30','31-60','61-90','91-120','121-180','181-360','361+'])[1 + i % 8]"
            await conn.execute(f"""INSERT INTO reporting.accounts (client_slug, account_ref, placed_balance, placed_at,
                    product, bucket_at_placement, current_bucket, segment, balance, status, strategy_arm)
                SELECT 'bench', 'A-' || i, 100000 + i % 5000, now() - interval '60 days', 'tarjeta', {buckets},
                       {buckets}, {buckets} || '/high', 100000, 'open',
                       CASE WHEN i % 10 = 0 THEN 'challenger' ELSE 'champion' END
                FROM generate_series(1, {accounts}) AS i""")
            await conn.execute(f"""INSERT INTO reporting.payments (payment_id, client_slug, account_ref, amount,
                    paid_at, applied_at, new_balance, account_status)
                SELECT gen_random_uuid(), 'bench', 'A-' || (i * 3), 50000, now() - (i % 50) * interval '1 day',
                       now(), 50000, 'open' FROM generate_series(1, {accounts // 3}) AS i""")
            await conn.execute(f"""INSERT INTO reporting.contacts (id, client_slug, account_ref, channel, at, attempted,
                    cost, delivered)
                SELECT gen_random_uuid(), 'bench', 'A-' || i, 'sms', now() - (i % 50) * interval '1 day', true,
                       20, i % 4 <> 0 FROM generate_series(1, {accounts // 2}) AS i""")
            await conn.execute("VACUUM ANALYZE")
        finally:
            await conn.close()
        port = free_port()
        key = "rk_bench_reporting_operator_key_000001"
        env = {**os.environ, "RECAUDO_DATABASE_URL": url, "RECAUDO_LOG_LEVEL": "WARNING",
               "RECAUDO_BOOTSTRAP_OPERATOR_KEY": key}
        process = serve("reporting", port, env, "api")
        base = f"http://127.0.0.1:{port}"
        await ready(base)
        headers = {"Authorization": f"Bearer {key}"}
        # Idle connections expire on the client before the server's keep-alive timeout (5 s) closes them.
        async with httpx.AsyncClient(timeout=300, headers=headers, limits=httpx.Limits(
                max_connections=concurrency, keepalive_expiry=2)) as http:
            cold_started = time.perf_counter()
            (await http.get(f"{base}/v1/clients/bench/reports/recovery")).raise_for_status()
            cold = time.perf_counter() - cold_started

            async def load(path: str) -> tuple[float, list[float]]:
                gate = asyncio.Semaphore(concurrency)
                latencies: list[float] = []

                async def one() -> None:
                    async with gate:
                        t = time.perf_counter()
                        (await http.get(base + path)).raise_for_status()
                        latencies.append(time.perf_counter() - t)

                t0 = time.perf_counter()
                await asyncio.gather(*(one() for _ in range(requests)))
                return time.perf_counter() - t0, latencies

            floor_s, floor = await load("/healthz")
            live_s, live = await load("/v1/clients/bench/reports/recovery")
            grouped_s, grouped = await load("/v1/clients/bench/reports/recovery?group_by=bucket")
    finally:
        if process is not None:
            process.terminate()
            process.wait(30)
        embedded_pg.stop(data)
    return {"accounts": f"{accounts:,}", "requests per run": f"{requests:,} at concurrency {concurrency}",
            "one uncached report (s)": f"{cold:.2f}",
            "live report p50 / p99 (ms)": f"{pct(live, 50):.1f} / {pct(live, 99):.1f} ({requests / live_s:,.0f}/s)",
            "by bucket p50 / p99 (ms)": f"{pct(grouped, 50):.1f} / {pct(grouped, 99):.1f} "
                                        f"({requests / grouped_s:,.0f}/s)",
            "floor /healthz p50 / p99 (ms)": f"{pct(floor, 50):.1f} / {pct(floor, 99):.1f} "
                                             f"({requests / floor_s:,.0f}/s)",
            "target": "p99 ≤ 50 ms at 100 concurrent clients"}


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("BENCH_FRESHNESS_SECONDS", "60")))
    parser.add_argument("--rate", type=float, default=float(os.environ.get("BENCH_PAYMENT_RATE", "500")))
    parser.add_argument("--accounts", type=int, default=int(os.environ.get("BENCH_REPORT_ACCOUNTS", "1000000")))
    parser.add_argument("--calm-rate", type=float, default=20.0, help="a rate the payments API sustains")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--part", choices=["all", "api", "freshness"], default="all")
    args = parser.parse_args()
    if args.part in ("all", "api"):
        await bench_api(args)
    if args.part in ("all", "freshness"):
        await bench_freshness(args)


async def bench_api(args: argparse.Namespace) -> None:
    api = await report_api(args.accounts, args.requests, 100)
    save("reporting-api", {
        "title": f"Report API: the live recovery report of a {args.accounts:,}-account client, 100 concurrent clients",
        "what": "`recaudo serve reporting --role api` alone. Every question is computed from the read models "
                "(placed, recovered, contacts, promises, liquidations: one aggregate query each) at most once a "
                "second and shared by everyone asking it in that second (single flight), so the figures are never "
                "more than a second old. The floor is `/healthz` of the same server under the same load.",
        "machine": machine(), "figures": api,
        "notes": "Loaded directly into reporting's tables: 1,000,000 accounts, 333,333 payments, 500,000 "
                 "contacts. The uncached figure is what the first asker of a second waits for.",
    })
    print(f"report api: {api['live report p50 / p99 (ms)']}")


async def bench_freshness(args: argparse.Namespace) -> None:
    fresh = await freshness(args.seconds, args.rate)
    calm = await freshness(min(args.seconds, 30), args.calm_rate)
    fresh.update({f"below saturation: {k}": v for k, v in calm.items() if k != "target"})
    save("reporting-freshness", {
        "title": "Payment → report freshness on the Kafka transport",
        "what": "Signed gateway webhooks posted open-loop at a steady rate to `recaudo serve payments`; "
                "`recaudo serve reporting --role worker` folds payment.applied into its read model. Freshness is "
                "each payment's time from its application in payments to its row in reporting (both clocks are "
                "this machine's). The floor is raw aiokafka: one record produced (acks=all) and read back "
                "(read_committed) in the same run.",
        "machine": machine(), "figures": fresh,
        "notes": "Payments, reporting, PostgreSQL, Kafka and the load generator share two cores. When the "
                 "achieved rate is below the offered one, the payments API is the bottleneck (see the webhook "
                 "benchmark), and freshness is measured at the rate achieved.",
    })
    print(f"freshness p99 {fresh['freshness p99 (ms)']} ms")


if __name__ == "__main__":
    asyncio.run(main())
