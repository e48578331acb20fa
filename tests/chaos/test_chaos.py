"""Fault injection, Jepsen-style: a portfolio with payments (posted by hand and notified by the gateway as signed
webhooks, some delivered twice) runs through the five services, each its own process on Kafka, while services are SIGKILLed at random moments and restarted, the broker restarts and PostgreSQL stops the
hard way and recovers. Afterwards every invariant is checked by code and the reconciled counts are printed.

`make test` runs it at a bounded size (CHAOS_ACCOUNTS, default 800; 2,000 under `make test-full`); `make chaos`
at 100,000 accounts, and
writes its counts to docs/bench-results/chaos.json for docs/reliability.md."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import random
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import phonenumbers
import pytest
from babel.numbers import get_decimal_symbol

from outreach.domain.contact_law import ContactRequest, decide_contact
from outreach.domain.timezones import phone_zones
from recaudo.deploy import routing_table
from recaudo_common.cluster import SERVICES, Cluster, PatientClient, running_cluster
from recaudo_common.db import asyncpg_dsn
from recaudo_common.settings import DEV_SANDBOX_SECRET
from recaudo_common.testing import REPOSITORY_ROOT, eventually
from recaudo_common.webhook_signatures import sign

from .invariants import (
    ACCOUNTS,
    SLUG,
    Ledger,
    check_invariants,
    count_gateway_payments,
    scalar,
    settle,
)
from .monkey import Monkey

pytestmark = pytest.mark.integration
OPERATOR_KEY = "rk_chaos_operator_key_0123456789"
PAYMENTS = int(os.environ.get("CHAOS_PAYMENTS", str(max(ACCOUNTS // 4, 200))))
PAYMENT_RATE = float(os.environ.get("CHAOS_PAYMENT_RATE", "30"))  # offered payments per second
PAYING_WORKERS = 8  # payments in flight at once
GATEWAY_SHARE = 0.3  # of the payments, those notified by the gateway (signed webhooks) rather than posted by hand
SEED = int(os.environ.get("CHAOS_SEED", str(int(time.time()))))
RECORD = os.environ.get("CHAOS_RECORD") == "1"
# The whole run's deadline, under pytest-timeout's (whose signal would abandon the test's coroutine with the fault
# injector still running on the session's loop); `make chaos`, at full size under a timeout of 10,800 s, gets more.
RUN_BUDGET_S = float(os.environ.get("CHAOS_BUDGET_S", str(540 if ACCOUNTS <= 2000 else 10_000)))

# Where a contact is lawful right now, so the run proves the rules while sending, not by sending nothing.
CANDIDATES = [
    {"country": "MX", "timezone": "America/Mexico_City", "currency": "MXN", "locale": "es-MX"},
    {"country": "US", "timezone": "America/New_York", "currency": "USD", "locale": "en-US"},
    {"country": "US", "timezone": "Pacific/Honolulu", "currency": "USD", "locale": "en-US"},
    {"country": "US", "timezone": "Pacific/Guam", "currency": "USD", "locale": "en-US"},
    {"country": "AR", "timezone": "America/Argentina/Buenos_Aires", "currency": "ARS", "locale": "es-AR"},
]


def open_now(candidate: dict[str, str], now: dt.datetime, minutes: int) -> bool:
    # The debtors' phones place them too (their area code's zones); every one of a candidate shares its area.
    zones = phone_zones(phone(candidate["country"], 0))

    def allowed(at: dt.datetime) -> bool:
        return decide_contact(ContactRequest(candidate["country"], candidate["timezone"], "sms", at, ("sms",),
                                             also_zones=zones)).allowed

    return all(allowed(now + dt.timedelta(minutes=m)) for m in range(0, minutes + 1, 5))


def client_company(now: dt.datetime) -> dict[str, Any]:
    minutes = max(20, ACCOUNTS // 2000)
    chosen = next((c for c in CANDIDATES if open_now(c, now, minutes)), CANDIDATES[0])
    return {"slug": SLUG, "name": "Cadena Caos S.A.", **chosen, "default_authorised_channels": ["sms"]}


def phone(region: str, i: int) -> str:
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    assert example is not None
    digits = str(example.national_number)
    for bump in range(100):
        candidate = digits[:-5] + f"{(i + bump) % 100000:05d}"
        number = phonenumbers.parse(candidate, region)
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    raise AssertionError(f"no valid {region} number near {digits}")


def portfolio(client: dict[str, Any], rng: random.Random) -> tuple[bytes, dict[str, Decimal]]:
    balances: dict[str, Decimal] = {}
    lines = ["Número Obligación;Cédula;Nombre Completo;Celular;Saldo Total;Días Mora"]
    # Amounts as the client company's locale writes them: Buenos Aires, chosen at some hours, writes 4523,17.
    decimal_symbol = get_decimal_symbol(client["locale"].replace("-", "_"))
    for i in range(ACCOUNTS):
        ref = f"CH-{i:07d}"
        balance = Decimal(rng.randint(50_000, 500_000)) / 100
        balances[ref] = balance
        amount = f"{balance:.2f}".replace(".", decimal_symbol)
        lines.append(f"{ref};{9_000_000 + i};Deudor {i};{phone(client['country'], i)};{amount};{rng.randint(1, 400)}")
    return ("\n".join(lines) + "\n").encode(), balances


async def pay(api: PatientClient, balances: dict[str, Decimal], ledger: Ledger, rng: random.Random,
              monkey: Monkey, *, currency: str) -> None:
    refs = sorted(balances)
    interval = 1 / PAYMENT_RATE
    queue: asyncio.Queue[tuple[str, dict[str, str]] | None] = asyncio.Queue(maxsize=64)
    infra_at = {PAYMENTS // 3: monkey.restart_kafka, (2 * PAYMENTS) // 3: monkey.restart_postgres}

    async def notify(body: dict[str, str]) -> str:
        """The sandbox gateway's signed notification, signed at the moment it is sent (a retry is signed anew)."""
        content = json.dumps(body).encode()
        headers = {"Content-Type": "application/json",
                   "Recaudo-Signature": sign(content, DEV_SANDBOX_SECRET, dt.datetime.now(dt.UTC))}
        answer = await api.post("/v1/webhooks/payments/sandbox", content=content, headers=headers)
        assert answer.status_code == 200, answer.text
        return str(answer.json()["status"])

    async def worker() -> None:
        while (item := await queue.get()) is not None:
            key, body = item
            if rng.random() < GATEWAY_SHARE:  # paid through the gateway behind a payment link
                gateway_id = f"gw-{key}"
                notified = {**body, "payment_id": gateway_id, "client": SLUG, "currency": currency, "method": "card"}
                status = await notify(notified)
                # "duplicate" first: an earlier try was recorded but its answer was lost (the service was killed,
                # and the patient client sent it again). What became of it is read from the ledger afterwards.
                assert status in ("applied", "unmatched", "duplicate"), status
                ledger.gateway[gateway_id] = (body["account_ref"], Decimal(body["amount"]), status)
                if rng.random() < 0.2:  # the gateway delivers again: it never got our 200, or retries anyway
                    assert await notify(notified) == "duplicate"
                    ledger.redeliveries_answered_duplicate += 1
                continue
            answer = await api.post(f"/v1/clients/{SLUG}/payments", json=body, headers={"Idempotency-Key": key})
            assert answer.status_code == 200, answer.text
            paid = answer.json()
            if paid["status"] == "applied":
                ledger.applied[key] = (body["account_ref"], Decimal(body["amount"]), paid["id"])
            else:
                assert paid["status"] == "unmatched", paid
                ledger.unmatched[key] = paid["id"]
            if rng.random() < 0.1:  # the client's retry of a request it already got an answer to
                again = await api.post(f"/v1/clients/{SLUG}/payments", json=body, headers={"Idempotency-Key": key})
                assert again.status_code == 200 and again.json()["id"] == paid["id"], again.text
                ledger.duplicates_answered_alike += 1

    async def offer() -> None:
        for n in range(PAYMENTS):
            if n in infra_at:
                tasks.create_task(infra_at[n]())
            amount = Decimal(rng.randint(100, 2_000)) / 100  # far below every balance: no account is paid off
            body = {"account_ref": rng.choice(refs), "amount": f"{amount:.2f}", "method": "cash",
                    "paid_at": dt.datetime.now(dt.UTC).isoformat()}
            await queue.put((f"chaos-{uuid.uuid4()}", body))
            await asyncio.sleep(interval)
        for _ in range(PAYING_WORKERS):
            await queue.put(None)

    # One group: a worker that fails (a request refused for good) cancels the rest and the offering, instead of
    # leaving the offering blocked on a full queue that nobody reads while the monkey goes on killing.
    async with asyncio.TaskGroup() as tasks:
        for _ in range(PAYING_WORKERS):
            tasks.create_task(worker())
        tasks.create_task(offer())


async def watch_sending(url: str, monkey: Monkey) -> None:
    """Tells the monkey when messages are first seen claimed and not yet confirmed."""
    while not monkey.stop.is_set():
        try:
            conn = await asyncpg.connect(asyncpg_dsn(url))
            try:
                while not monkey.stop.is_set():
                    if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM outreach.attempts "
                                           "WHERE status = 'sending')"):
                        monkey.sending_seen.set()
                        return
                    await asyncio.sleep(0.02)
            finally:
                await conn.close()
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):  # PostgreSQL crashes on purpose
            await asyncio.sleep(1)



async def watched(step: Any, chaos: asyncio.Task[None] | None, cluster: Cluster) -> Any:
    """Runs a step of the driver; if it fails, says why with the fault injector's state and the services' logs."""
    try:
        return await step
    except BaseException as exc:
        monkey_state = "running" if chaos is None or not chaos.done() else repr(chaos.exception())
        why = str(exc) or type(exc).__name__  # a deadline's TimeoutError says nothing by itself
        if isinstance(exc, BaseExceptionGroup):  # the payment group: say what each failed task said
            why += "".join(f"\n- {type(e).__name__}: {e}" for e in exc.exceptions)
        raise AssertionError(f"{why}\nfault injector: {monkey_state}\n{cluster.log_tails()}") from exc


async def test_faults_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    started = time.monotonic()
    now = dt.datetime.now(dt.UTC)
    client = client_company(now)
    content, balances = portfolio(client, rng)
    # Sends are spread over a few seconds (the sandbox's rate) and a lease in doubt expires after ten, so a
    # kill mid-send is caught and settled within the run.
    rates = {"sandbox": max(500, ACCOUNTS // 10), "smtp": 20, "twilio": 50}
    async with running_cluster(tmp_path, OPERATOR_KEY, routing_table(), RECAUDO_LOG_LEVEL="WARNING",
                               RECAUDO_OUTREACH_PROVIDER_RATE_PER_S=json.dumps(rates),
                               RECAUDO_OUTREACH_SENDING_TIMEOUT_S="10",
                               RECAUDO_OUTREACH_PROVIDER_TIMEOUT_S="5") as cluster:
        api = PatientClient(cluster.router(), OPERATOR_KEY)
        background: list[asyncio.Task[None]] = []
        try:
            async with asyncio.timeout(RUN_BUDGET_S):  # below pytest-timeout, so `finally` runs
                created = await api.post("/v1/clients", json=client)
                assert created.status_code == 201, created.text
                monkey = Monkey(cluster, rng)
                chaos = asyncio.create_task(monkey.run())
                watcher = asyncio.create_task(watch_sending(cluster.postgres.url, monkey))
                background += [chaos, watcher]
                upload = await api.post(f"/v1/clients/{SLUG}/portfolios",
                                        files={"file": ("cartera.csv", content, "text/csv")})
                assert upload.status_code in (200, 202), upload.text
                portfolio_id = upload.json()["id"]

                async def uploaded() -> bool:
                    body = (await api.get(f"/v1/portfolios/{portfolio_id}")).json()
                    return body["status"] == "completed" and body["rows_accepted"] == ACCOUNTS

                await watched(eventually(uploaded, timeout_s=120 + ACCOUNTS / 100, interval_s=1,
                                         message="the upload completed"), chaos, cluster)

                async def known_to_payments() -> bool:  # else most payments would wait in suspense as unmatched
                    return await scalar(cluster.postgres.url, "SELECT count(*) FROM payments.accounts "
                                                              "WHERE client_slug = $1", SLUG) == ACCOUNTS

                await watched(eventually(known_to_payments, timeout_s=300 + ACCOUNTS / 50, interval_s=1,
                                         message="the accounts reached payments"), chaos, cluster)
                ledger = Ledger()
                # Payments are offered at PAYMENT_RATE; the rest of the deadline is for the kills and restarts.
                paying = pay(api, balances, ledger, rng, monkey, currency=client["currency"])
                await watched(asyncio.wait_for(paying, timeout=300 + PAYMENTS / PAYMENT_RATE * 4), chaos, cluster)
                monkey.stop.set()
                await chaos
                await watcher
                cluster.ensure_all_running()
                await watched(count_gateway_payments(cluster.postgres.url, ledger), None, cluster)
                await watched(settle(cluster, api, ledger, timeout_s=300 + ACCOUNTS / 50), None, cluster)
                counts = await check_invariants(cluster, api, client, balances, ledger)
        finally:
            # The fault injector must not outlive the test: on the session's event loop it would go on killing
            # and restarting services through every test that follows on this worker.
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            await api.aclose()
    summary = {"seed": SEED, "accounts": ACCOUNTS, "payments offered": PAYMENTS, "client": client["country"] + " "
               + client["timezone"], "service kills": dict(monkey.kills), "kafka restarts": monkey.kafka_restarts,
               "postgres restarts": monkey.postgres_restarts, "outreach killed mid-send": monkey.killed_mid_send,
               "client retries": api.retries,
               "exits on their own (restarted)": dict(monkey.exits_on_their_own),
               "kills put off (no service ready)": monkey.waits_for_a_start, **counts,
               "seconds": round(time.monotonic() - started, 1)}
    assert sum(monkey.kills.values()) >= len(SERVICES) and set(monkey.kills) == set(SERVICES)
    assert (monkey.kafka_restarts, monkey.postgres_restarts) == (1, 1)
    print("\nchaos: every invariant holds\n" + json.dumps(summary, indent=2, default=str))
    if RECORD:
        record(summary)


def record(summary: dict[str, Any]) -> None:
    """The full-size run's counts, in docs/bench-results (and so in docs/benchmarks.md and docs/reliability.md)."""
    import sys

    sys.path.insert(0, str(REPOSITORY_ROOT))
    from bench.common import machine, save

    figures = {k: (json.dumps(v, ensure_ascii=False) if isinstance(v, dict) else str(v)) for k, v in summary.items()}
    save("chaos", {
        "title": f"Fault injection: {summary['accounts']:,} accounts with payments, under kills and restarts",
        "what": "`make chaos`: the five services as separate processes on their own Kafka broker and durable "
                "PostgreSQL; every few seconds a random service is SIGKILLed and restarted (each at least once a "
                "round), the broker is restarted once and PostgreSQL stopped in immediate mode (a crash) once, "
                "while the portfolio flows and payments arrive. Then every invariant is checked by code.",
        "machine": machine(), "figures": figures,
        "notes": "Every invariant held: each account exactly once in every service; every payment the API "
                 "acknowledged applied exactly once (ledger, balances and report reconciled to the cent); every "
                 "sent message has exactly one attempt and an allowing decision and passes the contact rules "
                 "again; no due attempt left behind; nothing dead-lettered.",
    })
