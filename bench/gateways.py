"""Gateways benchmark (#21), each figure beside a floor measured in the same run: Wompi and Stripe notifications,
signed as each gateway signs them, through `recaudo serve payments` (verified, deduplicated per gateway payment,
applied once with the ledger entry and payment.applied in one transaction), their redeliveries, the same load on
`/healthz` of the same server, the pure verification of each scheme in-process, and an Asobancaria 2001 file read
against splitting the same bytes into records."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import time
import uuid
from decimal import Decimal
from urllib.parse import urlsplit

import httpx
from sqlalchemy import text

from bench.common import fresh_database, load, machine, migrate_schemas, place_accounts, save
from bench.reporting import ready, serve
from bench.webhooks import pct
from payments.domain.asobancaria import RECORD_LENGTH, read_asobancaria
from payments.gateways.domain import stripe, wompi
from recaudo_common import embedded_pg
from recaudo_common.runtime import make_platform
from recaudo_common.settings import PlatformSettings
from recaudo_common.testing import free_port

OPERATOR_KEY = "rk_bench_gateways_operator_key_0123"
WOMPI = {"kind": "wompi", "events_secret": "bench_events_s3cr3t-wompi", "integrity_secret": "bench_integrity",
         "public_key": "pub_test_benchBenchBench0123"}
STRIPE = {"kind": "stripe", "webhook_secret": "whsec_bench_s1gn1ng"}
ACCOUNTS = 500
# Wompi lists the properties its checksum covers in each event; with the reference and currency among them the
# notification needs no look-up at Wompi's API (which cannot be reached here), so the figure is payments' own work.
WOMPI_PROPERTIES = ("transaction.id", "transaction.status", "transaction.amount_in_cents", "transaction.reference",
                    "transaction.currency")


def wompi_body(i: int, now: dt.datetime) -> bytes:
    transaction = {"id": f"1234-{1774969200 + i}-{i:05d}", "amount_in_cents": 100000, "reference": f"A-{i % ACCOUNTS}",
                   "currency": "COP", "status": "APPROVED", "payment_method_type": "NEQUI",
                   "created_at": now.isoformat(), "finalized_at": now.isoformat()}
    timestamp = int(now.timestamp())
    values = [str(transaction[p.split(".")[1]]) for p in WOMPI_PROPERTIES]
    return json.dumps({"event": "transaction.updated", "data": {"transaction": transaction}, "environment": "test",
                       "signature": {"properties": list(WOMPI_PROPERTIES),
                                     "checksum": wompi.event_checksum(values, timestamp, WOMPI["events_secret"])},
                       "timestamp": timestamp, "sent_at": now.isoformat()}).encode()


def stripe_body(i: int, now: dt.datetime) -> bytes:
    session = {"id": f"cs_test_bench{i:06d}", "object": "checkout.session", "payment_intent": f"pi_bench{i:06d}",
               "payment_status": "paid", "amount_total": 100000, "currency": "cop",
               "client_reference_id": f"A-{i % ACCOUNTS}", "created": int(now.timestamp())}
    return json.dumps({"id": f"evt_bench{i:06d}", "object": "event", "type": "checkout.session.completed",
                       "livemode": False, "created": int(now.timestamp()), "data": {"object": session}}).encode()


def stripe_headers(body: bytes) -> dict[str, str]:
    t = int(time.time())  # signed when sent, as Stripe does: the 300 s tolerance is checked against it
    return {"Stripe-Signature": f"t={t},v1={stripe.sign(body, STRIPE['webhook_secret'], t)}",
            "Content-Type": "application/json"}


def verify_rate(bodies: list[bytes], kind: str) -> float:
    """Verifications and parses per second of the gateway's own scheme, in-process: the floor of the cryptography
    and JSON a notification costs before any database."""
    now = dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    for body in bodies:
        if kind == "wompi":
            wompi.read_event(body, events_secret=WOMPI["events_secret"])
        else:
            stripe.read_event(body, stripe_headers(body)["Stripe-Signature"], secrets=[STRIPE["webhook_secret"]],
                              now=now)
    return len(bodies) / (time.perf_counter() - started)


def asobancaria_file(details: int) -> list[bytes]:
    def rec(value: str) -> bytes:
        return (value.ljust(RECORD_LENGTH) + "\r\n").encode("latin-1")

    lines = [rec("01" + "9001234567" + "20260405" + "007" + "00000000400702127" + "20260406" + "0213" + "A" + "01"),
             rec("05" + "7709998888487" + "0001")]
    for i in range(details):
        lines.append(rec("06" + f"A-{i % ACCOUNTS}".ljust(48) + f"{100000:014d}" + "01" + "01" + "000000" * 2
                         + "040" + "9779" + f"{i + 1:07d}" + "000"))
    total = 100000 * details
    lines += [rec("08" + f"{details:09d}" + f"{total:018d}" + "0001"), rec("09" + f"{details:09d}" + f"{total:018d}")]
    return lines


def asobancaria_figures(details: int) -> tuple[float, float]:
    """Seconds to read the file into payment lines (fields, dates, totals checked), and the floor: the same bytes
    split into records and each amount read as an integer."""
    lines = asobancaria_file(details)
    started = time.perf_counter()
    read = sum(1 for _ in read_asobancaria(iter(lines), timezone="America/Bogota"))
    seconds = time.perf_counter() - started
    assert read == details, read
    started = time.perf_counter()
    floor_total = sum(int(line[50:64]) for line in lines if line.startswith(b"06"))
    floor = time.perf_counter() - started
    assert floor_total == 100000 * details
    return seconds, floor


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--notifications", type=int, default=int(os.environ.get("BENCH_NOTIFICATIONS", "3000")))
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--asobancaria", type=int, default=int(os.environ.get("BENCH_ASOBANCARIA", "200000")))
    args = parser.parse_args()
    n = args.notifications
    url, data = fresh_database("gateways")
    process = None
    try:
        await migrate_schemas(url, ("ingest", "payments"))
        settings = PlatformSettings(database_url=url, topic_prefix="bench" + uuid.uuid4().hex[:6])
        platform = make_platform(settings, pool_size=4)
        await platform.transport.start()
        await place_accounts(platform, ACCOUNTS, "100000000")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {**os.environ, "RECAUDO_DATABASE_URL": url, "RECAUDO_TOPIC_PREFIX": settings.topic_prefix,
               "RECAUDO_LOG_LEVEL": "WARNING", "RECAUDO_BOOTSTRAP_OPERATOR_KEY": OPERATOR_KEY,
               "RECAUDO_PUBLIC_URL": base}
        process = serve("payments", port, env)
        await ready(base)
        for _ in range(600):
            async with platform.db.transaction() as s:
                if await s.scalar(text("SELECT count(*) FROM payments.accounts")) == ACCOUNTS:
                    break
            await asyncio.sleep(0.2)
        hooks: dict[str, str] = {}
        async with httpx.AsyncClient(base_url=base, timeout=30,
                                     headers={"Authorization": f"Bearer {OPERATOR_KEY}"}) as operator:
            for name, body in (("wompi", WOMPI), ("stripe", STRIPE)):
                answer = await operator.put(f"/v1/clients/banco/gateways/{name}", json=body)
                answer.raise_for_status()
                hooks[name] = base + urlsplit(answer.json()["webhook_url"]).path
        sent = dt.datetime.now(dt.UTC)
        wompi_bodies = [wompi_body(i, sent) for i in range(n)]
        stripe_bodies = [stripe_body(i, sent) for i in range(n)]

        def wompi_headers(_: bytes) -> dict[str, str]:
            return {"Content-Type": "application/json"}

        await load(f"{base}/healthz", wompi_bodies[:200], args.concurrency)  # warm-up
        floor_s, floor_lat = await load(f"{base}/healthz", wompi_bodies, args.concurrency)
        wompi_s, wompi_lat = await load(hooks["wompi"], wompi_bodies, args.concurrency, headers=wompi_headers,
                                        expect="applied")
        again_s, again_lat = await load(hooks["wompi"], wompi_bodies, args.concurrency, headers=wompi_headers,
                                        expect="duplicate")
        stripe_s, stripe_lat = await load(hooks["stripe"], stripe_bodies, args.concurrency, headers=stripe_headers,
                                          expect="applied")
        async with platform.db.transaction() as s:
            applied = await s.scalar(text("SELECT count(*) FROM payments.payments WHERE status = 'applied'"))
            total = await s.scalar(text("SELECT sum(amount) FROM payments.payments WHERE status = 'applied'"))
        await platform.transport.stop()
        await platform.db.dispose()
    finally:
        if process is not None:
            process.terminate()
            process.wait(30)
        embedded_pg.stop(data)
    assert applied == 2 * n and total == Decimal(1000) * 2 * n, (applied, total)  # once each, redeliveries none
    wompi_verify, stripe_verify = verify_rate(wompi_bodies, "wompi"), verify_rate(stripe_bodies, "stripe")
    aso_s, aso_floor = asobancaria_figures(args.asobancaria)
    save("gateways", {
        "title": f"Gateways (#21): {n:,} Wompi and {n:,} Stripe notifications at concurrency {args.concurrency}, "
                 f"an Asobancaria file of {args.asobancaria:,} payments",
        "what": "Each notification is signed as its gateway signs it (Wompi's event checksum over the properties it "
                "lists, Stripe-Signature with the time it is sent), posted to the account's webhook URL on "
                "`recaudo serve payments` (embedded transport): verified, recorded per gateway payment id, matched "
                "to the account by its reference and applied with the ledger entry, the new balance and "
                "payment.applied in the outbox, in one transaction. Redelivery: the same Wompi bodies again, each "
                "answered `duplicate`, nothing applied twice (the run checks the ledger holds each payment once). "
                "Floors in the same run: the same load on `/healthz` of the same server, and each scheme's "
                "verification and parse in-process. The Asobancaria 2001 file is read into payment lines (fields, "
                "dates, lot and file totals checked) beside splitting the same bytes into records and reading each "
                "amount as an integer.",
        "machine": machine(),
        "figures": {
            "Wompi notifications per second": f"{n / wompi_s:,.0f}",
            "Wompi p50 / p99 (ms)": f"{pct(wompi_lat, 50):.1f} / {pct(wompi_lat, 99):.1f}",
            "Wompi redeliveries per second (duplicates)": f"{n / again_s:,.0f}",
            "Wompi redelivery p50 / p99 (ms)": f"{pct(again_lat, 50):.1f} / {pct(again_lat, 99):.1f}",
            "Stripe notifications per second": f"{n / stripe_s:,.0f}",
            "Stripe p50 / p99 (ms)": f"{pct(stripe_lat, 50):.1f} / {pct(stripe_lat, 99):.1f}",
            "HTTP floor per second (/healthz)": f"{n / floor_s:,.0f}",
            "HTTP floor p50 / p99 (ms)": f"{pct(floor_lat, 50):.1f} / {pct(floor_lat, 99):.1f}",
            "Wompi / Stripe verification floor per second (in-process)": f"{wompi_verify:,.0f} / {stripe_verify:,.0f}",
            f"Asobancaria: {args.asobancaria:,} payments read (s)": f"{aso_s:.2f}",
            "Asobancaria floor: split and sum (s)": f"{aso_floor:.2f}",
        },
        "notes": f"Every notification applied exactly once ({2 * n:,} payments in the ledger after {3 * n:,} "
                 "deliveries). One server process and the load generator (httpx, which signs each Stripe body when "
                 "it sends it) share the two cores: the HTTP floor shows how much of each figure is the client and "
                 "the event loop. No target is set for gateway notifications; MISSION's 500 payments/s is the "
                 "payment → report freshness benchmark's, and #24 works on the payments API's throughput.",
    })
    print(f"gateways: wompi {n / wompi_s:,.0f}/s, again {n / again_s:,.0f}/s, stripe {n / stripe_s:,.0f}/s, "
          f"healthz {n / floor_s:,.0f}/s; asobancaria {aso_s:.2f}s vs {aso_floor:.2f}s")


if __name__ == "__main__":
    asyncio.run(main())
