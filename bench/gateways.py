"""Gateways benchmark (#21), each figure beside a floor measured in the same run: Wompi and Stripe notifications,
signed as each gateway signs them, through `recaudo serve payments` (verified, deduplicated per gateway payment,
applied once with the ledger entry and payment.applied, plain approvals in group commits), their redeliveries, the same load on
`/healthz` of the same server, the pure verification of each scheme in-process, and an Asobancaria 2001 file read
against splitting the same bytes into records. The load is wrk (native), as in the webhooks benchmark: a Python
client on the same two cores measured itself (its /healthz floor was 234 requests/s)."""

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

from bench.common import fresh_database, machine, migrate_schemas, place_accounts, save, serve, wrk
from bench.reporting import ready
from payments.domain.asobancaria import RECORD_LENGTH, read_asobancaria
from payments.gateways.domain import stripe, wompi
from recaudo_common import embedded_pg
from recaudo_common.local_ports import free_port
from recaudo_common.runtime import make_platform
from recaudo_common.settings import PlatformSettings

OPERATOR_KEY = "rk_bench_gateways_operator_key_0123"
WOMPI = {"kind": "wompi", "events_secret": "bench_events_s3cr3t-wompi", "integrity_secret": "bench_integrity",
         "public_key": "pub_test_benchBenchBench0123"}
STRIPE = {"kind": "stripe", "webhook_secret": "whsec_bench_s1gn1ng"}
ACCOUNTS = 500
BODIES_PER_S = 3000
# Wompi lists the properties its checksum covers in each event; with the reference and currency among them the
# notification needs no look-up at Wompi's API (which cannot be reached here), so the figure is payments' own work.
WOMPI_PROPERTIES = ("transaction.id", "transaction.status", "transaction.amount_in_cents", "transaction.reference",
                    "transaction.currency")


def wompi_body(i: int, now: dt.datetime) -> tuple[str, bytes]:
    """The event and its checksum, which Wompi also sends in the X-Event-Checksum header."""
    transaction = {"id": f"1234-{1774969200 + i}-{i:05d}", "amount_in_cents": 100000, "reference": f"A-{i % ACCOUNTS}",
                   "currency": "COP", "status": "APPROVED", "payment_method_type": "NEQUI",
                   "created_at": now.isoformat(), "finalized_at": now.isoformat()}
    timestamp = int(now.timestamp())
    values = [str(transaction[p.split(".")[1]]) for p in WOMPI_PROPERTIES]
    checksum = wompi.event_checksum(values, timestamp, WOMPI["events_secret"])
    return checksum, json.dumps({
        "event": "transaction.updated", "data": {"transaction": transaction}, "environment": "test",
        "signature": {"properties": list(WOMPI_PROPERTIES), "checksum": checksum}, "timestamp": timestamp,
        "sent_at": now.isoformat()}).encode()


def stripe_body(i: int, now: dt.datetime) -> bytes:
    session = {"id": f"cs_test_bench{i:06d}", "object": "checkout.session", "payment_intent": f"pi_bench{i:06d}",
               "payment_status": "paid", "amount_total": 100000, "currency": "cop",
               "client_reference_id": f"A-{i % ACCOUNTS}", "created": int(now.timestamp())}
    return json.dumps({"id": f"evt_bench{i:06d}", "object": "event", "type": "checkout.session.completed",
                       "livemode": False, "created": int(now.timestamp()), "data": {"object": session}}).encode()


def stripe_signature(body: bytes) -> str:
    t = int(time.time())  # signed now: a run is far inside the 300 s tolerance Stripe's scheme checks
    return f"t={t},v1={stripe.sign(body, STRIPE['webhook_secret'], t)}"


def verify_rate(bodies: list[bytes], kind: str) -> float:
    """Verifications and parses per second of the gateway's own scheme, in-process: the floor of the cryptography
    and JSON a notification costs before any database."""
    now = dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    for body in bodies:
        if kind == "wompi":
            wompi.read_event(body, events_secret=WOMPI["events_secret"])
        else:
            stripe.read_event(body, stripe_signature(body), secrets=[STRIPE["webhook_secret"]], now=now)
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
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("BENCH_GATEWAY_SECONDS", "10")))
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--asobancaria", type=int, default=int(os.environ.get("BENCH_ASOBANCARIA", "200000")))
    args = parser.parse_args()
    # More bodies than wrk can send (none is sent twice: each would be a redelivery).
    n = args.seconds * BODIES_PER_S
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
        wompi_posts = [wompi_body(i, sent) for i in range(n)]
        stripe_bodies = [stripe_body(i, sent) for i in range(n)]
        c, seconds = args.concurrency, args.seconds

        def run(url: str, posts: list[tuple[str, bytes]] | None = None, header: str = "") -> dict[str, float]:
            figures = wrk(url, connections=c, seconds=seconds, posts=posts, posts_header=header)
            if figures["failures"]:
                raise RuntimeError(f"{url}: {figures['failures']:.0f} requests failed")
            return figures

        async def applied_by(gateway: str) -> int:
            """The gateway's payments applied, once wrk's last requests in flight have landed (stable 0.5 s)."""
            last = -1
            for _ in range(120):
                async with platform.db.transaction() as s:
                    count = int(await s.scalar(text(
                        "SELECT count(*) FROM payments.payments WHERE status = 'applied' AND gateway LIKE :g"),
                        {"g": f"{gateway}%"}) or 0)
                if count == last:
                    return count
                last = count
                await asyncio.sleep(0.5)
            raise RuntimeError(f"{gateway}'s applied payments did not settle within a minute")

        await asyncio.to_thread(run, f"{base}/healthz")  # warm-up
        floor = await asyncio.to_thread(run, f"{base}/healthz")
        first = await asyncio.to_thread(run, hooks["wompi"], wompi_posts, "X-Event-Checksum")
        if first["requests"] >= n:
            raise RuntimeError("wrk sent every Wompi body: some may have gone twice; raise BODIES_PER_S")
        wompi_applied = await applied_by("wompi")
        # The same events again, those answered in the first run: each is answered `duplicate`.
        again = await asyncio.to_thread(run, hooks["wompi"], wompi_posts[:int(first["requests"])], "X-Event-Checksum")
        redelivered_applied = await applied_by("wompi")
        stripe_posts = [(stripe_signature(body), body) for body in stripe_bodies]
        paid = await asyncio.to_thread(run, hooks["stripe"], stripe_posts, "Stripe-Signature")
        if paid["requests"] >= n:
            raise RuntimeError("wrk sent every Stripe body: some may have gone twice; raise BODIES_PER_S")
        stripe_applied = await applied_by("stripe")
        async with platform.db.transaction() as s:
            applied = await s.scalar(text("SELECT count(*) FROM payments.payments WHERE status = 'applied'"))
            distinct = await s.scalar(text("SELECT count(DISTINCT (gateway, external_id)) FROM payments.payments "
                                           "WHERE status = 'applied'"))
            total = await s.scalar(text("SELECT sum(amount) FROM payments.payments WHERE status = 'applied'"))
        await platform.transport.stop()
        await platform.db.dispose()
    finally:
        if process is not None:
            process.terminate()
            process.wait(30)
        embedded_pg.stop(data)
    # Each answered payment applied once: wrk counts those answered, and its last requests in flight (at most one
    # per connection) landed after it stopped counting, or never did when wrk hung up before they were read; a
    # redelivery of one of those is its first delivery, so the second run may apply at most that many.
    for answered, landed in ((first["requests"], wompi_applied), (paid["requests"], stripe_applied)):
        assert answered <= landed <= answered + c, (answered, landed)
    assert 0 <= redelivered_applied - wompi_applied <= c, (wompi_applied, redelivered_applied)
    assert applied == distinct == redelivered_applied + stripe_applied, (applied, distinct)
    assert total == Decimal(1000) * applied, (applied, total)
    wompi_verify = verify_rate([body for _, body in wompi_posts[:20000]], "wompi")
    stripe_verify = verify_rate(stripe_bodies[:20000], "stripe")
    aso_s, aso_floor = asobancaria_figures(args.asobancaria)
    def ms(run: dict[str, float]) -> str:
        return f"{run['p50_ms']:.1f} / {run['p99_ms']:.1f}"

    save("gateways", {
        "title": f"Gateways (#21): Wompi and Stripe notifications from {c} connections for {seconds} s each, an "
                 f"Asobancaria file of {args.asobancaria:,} payments",
        "what": "Each notification is signed as its gateway signs it (Wompi's event checksum over the properties it "
                "lists, in the body and in X-Event-Checksum; Stripe-Signature, signed when the run starts), posted "
                "to the account's webhook URL on `recaudo serve payments` (embedded transport) by wrk (native, each "
                "connection posting the next body as soon as it is answered): verified, recorded per gateway "
                "payment id, matched to the account by its reference and applied with the ledger entry, the new "
                "balance and payment.applied in the outbox, in one transaction. Redelivery: the Wompi events "
                "answered in the first run sent again, each answered `duplicate`, nothing applied twice (the run "
                "checks the ledger). Floors in the same run: the same wrk on `/healthz` of the same server, and "
                "each scheme's verification and parse in-process. The Asobancaria 2001 file is read into payment "
                "lines (fields, dates, lot and file totals checked) beside splitting the same bytes into records "
                "and reading each amount as an integer.",
        "machine": machine(),
        "figures": {
            "Wompi notifications per second": f"{first['per_s']:,.0f}",
            "Wompi p50 / p99 (ms)": ms(first),
            "Wompi redeliveries per second (duplicates)": f"{again['per_s']:,.0f}",
            "Wompi redelivery p50 / p99 (ms)": ms(again),
            "Stripe notifications per second": f"{paid['per_s']:,.0f}",
            "Stripe p50 / p99 (ms)": ms(paid),
            "HTTP floor per second (/healthz)": f"{floor['per_s']:,.0f}",
            "HTTP floor p50 / p99 (ms)": ms(floor),
            "Wompi / Stripe verification floor per second (in-process)": f"{wompi_verify:,.0f} / {stripe_verify:,.0f}",
            f"Asobancaria: {args.asobancaria:,} payments read (s)": f"{aso_s:.2f}",
            "Asobancaria floor: split and sum (s)": f"{aso_floor:.2f}",
        },
        "notes": f"Every notification applied exactly once ({applied:,} payments in the ledger after "
                 f"{first['requests'] + again['requests'] + paid['requests']:,.0f} deliveries answered). One server "
                 "process and wrk share the two cores. A plain approval (an account's own reference, its first "
                 "approval or a redelivery of one) is booked in a group commit with those that arrive while the "
                 "previous one writes (payments.gateways.together), as the payments API's own signed webhooks are "
                 "(Payment → report freshness); anything else is booked one at a time in its own transaction. "
                 "Each notification finds its gateway account in a cache of a few seconds (one read of it a "
                 "burst, not one per notification, each holding a connection of its own) and verifies its "
                 f"signature on its own. Wompi's rate is {first['per_s'] / floor['per_s']:.0%} of /healthz. "
                 "No target is set for gateway notifications.",
    })
    print(f"gateways: wompi {first['per_s']:,.0f}/s, again {again['per_s']:,.0f}/s, stripe {paid['per_s']:,.0f}/s, "
          f"healthz {floor['per_s']:,.0f}/s; asobancaria {aso_s:.2f}s vs {aso_floor:.2f}s")


if __name__ == "__main__":
    asyncio.run(main())
