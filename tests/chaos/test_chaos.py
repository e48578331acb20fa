"""Fault injection, Jepsen-style: a portfolio with payments (posted by hand and notified by the gateway as signed
webhooks, some delivered twice) runs through the five services, each its own process on Kafka, while services are SIGKILLed at random moments and restarted, the broker restarts and PostgreSQL stops the
hard way and recovers. Afterwards every invariant is checked by code and the reconciled counts are printed.

`make test` runs it at a bounded size (CHAOS_ACCOUNTS, default 800; 2,000 under `make test-full`); `make chaos`
at 100,000 accounts, and
writes its counts to docs/bench-results/chaos.json for docs/reliability.md."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import os
import random
import time
import uuid
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import phonenumbers
import pytest
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.consumer import AIOKafkaConsumer
from babel.numbers import get_decimal_symbol

from outreach.domain.contact_law import RULES, ContactRequest, PastContact, decide_contact
from outreach.domain.timezones import phone_zones
from recaudo.deploy import routing_table
from recaudo_common.cluster import SERVICES, Cluster, PatientClient, running_cluster
from recaudo_common.db import asyncpg_dsn
from recaudo_common.settings import DEV_SANDBOX_SECRET
from recaudo_common.testing import REPOSITORY_ROOT, database_rows, eventually, sized
from recaudo_common.webhook_signatures import sign

pytestmark = pytest.mark.integration
OPERATOR_KEY = "rk_chaos_operator_key_0123456789"
ACCOUNTS = int(os.environ.get("CHAOS_ACCOUNTS", str(sized(800, 2000))))
PAYMENTS = int(os.environ.get("CHAOS_PAYMENTS", str(max(ACCOUNTS // 4, 200))))
PAYMENT_RATE = float(os.environ.get("CHAOS_PAYMENT_RATE", "30"))  # offered payments per second
PAYING_WORKERS = 8  # payments in flight at once
GATEWAY_SHARE = 0.3  # of the payments, those notified by the gateway (signed webhooks) rather than posted by hand
SEED = int(os.environ.get("CHAOS_SEED", str(int(time.time()))))
# Seconds between kills (drawn between the two). Every service restarts, rejoins its consumer group and waits
# for the dead member's session to expire, so a kill every few seconds lets a large run make almost no progress.
KILL_EVERY = tuple(float(x) for x in os.environ.get("CHAOS_KILL_EVERY", "3,8").split(","))
RECORD = os.environ.get("CHAOS_RECORD") == "1"
# The whole run's deadline, under pytest-timeout's (whose signal would abandon the test's coroutine with the fault
# injector still running on the session's loop); `make chaos`, at full size under a timeout of 10,800 s, gets more.
RUN_BUDGET_S = float(os.environ.get("CHAOS_BUDGET_S", str(540 if ACCOUNTS <= 2000 else 10_000)))
SLUG = "cadena-chaos"

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


@dataclasses.dataclass
class Ledger:
    """What the driver was told: every payment the platform answered, by Idempotency-Key."""

    applied: dict[str, tuple[str, Decimal, str]] = dataclasses.field(default_factory=dict)  # key -> ref, amount, id
    unmatched: dict[str, str] = dataclasses.field(default_factory=dict)  # key -> payment id
    duplicates_answered_alike: int = 0
    # Signed gateway notifications: the gateway's payment id -> account ref, amount, what the platform answered.
    gateway: dict[str, tuple[str, Decimal, str]] = dataclasses.field(default_factory=dict)
    first_answers_lost: int = 0
    redeliveries_answered_duplicate: int = 0


class Monkey:
    """Kills a random service every few seconds and brings it back; restarts the broker and PostgreSQL once each.
    Once, as soon as messages are seen between their claim and their confirmation (`sending`), it kills outreach
    there: a replica dead mid-send."""

    def __init__(self, cluster: Cluster, rng: random.Random) -> None:
        self.cluster, self.rng = cluster, rng
        self.kills: dict[str, int] = defaultdict(int)
        self.exits_on_their_own: dict[str, int] = defaultdict(int)
        self.kafka_restarts = self.postgres_restarts = 0
        self.stop = asyncio.Event()
        self.sending_seen = asyncio.Event()
        self.killed_mid_send = 0

    async def run(self) -> None:
        order: list[str] = []
        while not (self.stop.is_set() and len(self.kills) == len(SERVICES)):  # at least one round, whatever
            awaited = [self.stop.wait()] + ([self.sending_seen.wait()] if not self.killed_mid_send else [])
            tasks = [asyncio.ensure_future(a) for a in awaited]
            await asyncio.wait(tasks, timeout=self.rng.uniform(*KILL_EVERY), return_when=asyncio.FIRST_COMPLETED)
            for task in tasks:
                task.cancel()
            if self.stop.is_set() and len(self.kills) == len(SERVICES):
                return
            for service in self.cluster.ensure_all_running():  # the orchestrator restarts what exited by itself
                self.exits_on_their_own[service] += 1
            if self.sending_seen.is_set() and not self.killed_mid_send:
                service = "outreach"
                self.killed_mid_send = 1
            else:
                if not order:
                    order = self.rng.sample(SERVICES, len(SERVICES))  # every service dies in every round
                service = order.pop()
            await asyncio.to_thread(self.cluster.kill, service)
            self.kills[service] += 1
            await asyncio.sleep(self.rng.uniform(0.2, 2.0))
            self.cluster.restart(service)

    async def restart_kafka(self) -> None:
        await self.cluster.restart_kafka(down_s=self.rng.uniform(1, 3))
        self.kafka_restarts += 1

    async def restart_postgres(self) -> None:
        await self.cluster.restart_postgres(down_s=self.rng.uniform(1, 3))
        self.postgres_restarts += 1


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


sql = database_rows


async def scalar(url: str, query: str, *args: Any) -> Any:
    return (await sql(url, query, *args))[0][0]


async def kafka_settled(bootstrap: str) -> dict[str, int]:
    """Every consumer group's lag (0 when caught up) and every DLQ topic's size."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await admin.start()
    await consumer.start()
    try:
        lag: dict[str, int] = {}
        for group, _ in await admin.list_consumer_groups():
            committed = await admin.list_consumer_group_offsets(group)
            ends = await consumer.end_offsets(list(committed))
            lag[f"lag {group}"] = sum(ends[tp] - meta.offset for tp, meta in committed.items() if meta.offset >= 0)
        topics = [t for t in await consumer.topics() if t.endswith(".dlq")]
        parts = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()]
        ends = await consumer.end_offsets(parts) if parts else {}
        begins = await consumer.beginning_offsets(parts) if parts else {}
        lag["dead-lettered"] = sum(ends[p] - begins[p] for p in parts)
        return lag
    finally:
        await consumer.stop()
        await admin.close()


async def count_gateway_payments(url: str, ledger: Ledger) -> None:
    """Each signed gateway notification became exactly one payment, whatever the redeliveries and the kills; those
    join the ledger with the id the platform gave them (the gateway's answer names only its own id)."""
    by_gateway_id: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for payment_id, external_id, status in await sql(url, "SELECT id::text, external_id, status FROM "
                                                          "payments.payments WHERE client_slug = $1 AND gateway = "
                                                          "'sandbox'", SLUG):
        by_gateway_id[external_id].append((payment_id, status))
    assert set(by_gateway_id) == set(ledger.gateway), "gateway payments differ from what was notified"
    for gateway_id, (ref, amount, answered) in ledger.gateway.items():
        [(payment_id, status)] = by_gateway_id[gateway_id]
        assert status == answered or answered == "duplicate", (gateway_id, answered, status)
        ledger.first_answers_lost += answered == "duplicate"
        if status == "applied":
            ledger.applied[gateway_id] = (ref, amount, payment_id)
        else:
            ledger.unmatched[gateway_id] = payment_id


async def settle(cluster: Cluster, api: PatientClient, ledger: Ledger, timeout_s: float) -> None:
    url = cluster.postgres.url
    recovered = sum((a for _, a, _ in ledger.applied.values()), Decimal(0))

    async def settled() -> bool:
        report = await api.get(f"/v1/clients/{SLUG}/reports/recovery")
        if report.status_code != 200:
            return False
        totals = report.json()["totals"]
        if totals["accounts_placed"] != ACCOUNTS or Decimal(totals["recovered"]) != recovered:
            return False
        backlog = 0
        for schema in SERVICES:
            backlog += await scalar(url, f"SELECT count(*) FROM {schema}.outbox")
        planned = await scalar(url, "SELECT count(*) FROM outreach.treatments WHERE client_slug = $1 AND planned", SLUG)
        in_flight = await scalar(url, "SELECT count(*) FROM outreach.attempts WHERE status = 'sending'")
        kafka = await kafka_settled(cluster.kafka.bootstrap)
        return backlog == 0 and planned == ACCOUNTS and in_flight == 0 and all(
            v == 0 for k, v in kafka.items() if k.startswith("lag"))

    await eventually(settled, timeout_s=timeout_s, interval_s=1.0, message="the platform settled after the faults")


async def check_invariants(cluster: Cluster, api: PatientClient, client: dict[str, Any],
                           balances: dict[str, Decimal], ledger: Ledger) -> dict[str, Any]:
    url = cluster.postgres.url
    counts: dict[str, Any] = {}

    counts["gateway notifications (signed)"] = len(ledger.gateway)
    counts["gateway redeliveries answered duplicate"] = ledger.redeliveries_answered_duplicate
    counts["gateway notifications whose first answer was lost"] = ledger.first_answers_lost

    # 1. No account lost, none twice: every service holds each placed account exactly once.
    for schema in SERVICES:
        rows = await sql(url, f"SELECT account_ref FROM {schema}.accounts WHERE client_slug = $1", SLUG)
        refs = [r[0] for r in rows]
        assert len(refs) == len(set(refs)) == ACCOUNTS and set(refs) == set(balances), schema
        counts[f"accounts in {schema}"] = len(refs)
    unsegmented = await scalar(url, "SELECT count(*) FROM segmentation.accounts WHERE client_slug = $1 "
                                    "AND (segment IS NULL OR treatment IS NULL)", SLUG)
    assert unsegmented == 0

    # 2. No payment lost, none applied twice; the ledger, the balances and the report agree to the cent.
    payments = await sql(url, "SELECT id::text, account_ref, amount, status FROM payments.payments "
                              "WHERE client_slug = $1", SLUG)
    applied = {r[0]: (r[1], r[2]) for r in payments if r[3] == "applied"}
    assert sorted(applied) == sorted(p for _, _, p in ledger.applied.values()), "applied payments differ"
    assert {r[0] for r in payments if r[3] == "unmatched"} == set(ledger.unmatched.values())
    for _, (ref, amount, payment_id) in ledger.applied.items():
        assert applied[payment_id] == (ref, amount)
    recovered = sum((a for _, a, _ in ledger.applied.values()), Decimal(0))
    booked = await scalar(url, "SELECT coalesce(sum(amount), 0) FROM payments.ledger_entries "
                               "WHERE client_slug = $1 AND kind = 'payment'", SLUG)
    entries = await scalar(url, "SELECT count(*) FROM payments.ledger_entries WHERE client_slug = $1 "
                                "AND kind = 'payment'", SLUG)
    assert (abs(booked), entries) == (recovered, len(ledger.applied)), (booked, entries)
    paid_by_account: dict[str, Decimal] = defaultdict(Decimal)
    for ref, amount, _ in ledger.applied.values():
        paid_by_account[ref] += amount
    expected = {ref: balance - paid_by_account[ref] for ref, balance in balances.items()}
    for schema in ("payments", "reporting"):
        rows = await sql(url, f"SELECT account_ref, balance FROM {schema}.accounts WHERE client_slug = $1", SLUG)
        wrong = {r[0]: (r[1], expected[r[0]]) for r in rows if r[1] != expected[r[0]]}
        assert not wrong, f"{schema} balances off: {list(wrong.items())[:5]}"
    report = (await api.get(f"/v1/clients/{SLUG}/reports/recovery")).json()["totals"]
    assert Decimal(report["recovered"]) == recovered
    assert Decimal(report["placed_balance"]) == sum(balances.values())
    assert report["accounts_placed"] == ACCOUNTS and report["payments"] == len(ledger.applied)
    counts.update({"payments applied": len(ledger.applied), "payments unmatched": len(ledger.unmatched),
                   "repeated requests answered alike": ledger.duplicates_answered_alike,
                   "recovered": str(recovered), "ledger": str(abs(booked)), "report recovered": report["recovered"],
                   "placed balance": report["placed_balance"]})

    # 3. No contact attempt lost or sent twice, and none sent outside the contact rules.
    statuses = dict(await sql(url, "SELECT status, count(*) FROM outreach.attempts WHERE client_slug = $1 "
                                   "GROUP BY status", SLUG))
    unplanned = await scalar(url, """SELECT count(*) FROM outreach.treatments t WHERE t.client_slug = $1
        AND cardinality(t.channels) > 0 AND NOT EXISTS (SELECT 1 FROM outreach.attempts a
        WHERE a.client_slug = t.client_slug AND a.account_ref = t.account_ref)""", SLUG)
    assert unplanned == 0, f"{unplanned} treatments without attempts"
    overdue = await scalar(url, "SELECT count(*) FROM outreach.attempts WHERE client_slug = $1 AND status = "
                                "'scheduled' AND scheduled_at < now() - interval '2 minutes' AND channel <> 'agent'",
                           SLUG)
    assert overdue == 0, f"{overdue} due attempts never picked up"
    sent = await sql(url, """SELECT a.id, a.account_ref, a.channel, a.sent_at, acc.debtor_id,
            (SELECT d.allowed FROM outreach.decisions d WHERE d.attempt_id = a.id ORDER BY d.id DESC LIMIT 1)
        FROM outreach.attempts a JOIN outreach.accounts acc USING (client_slug, account_ref)
        WHERE a.client_slug = $1 AND a.sent_at IS NOT NULL ORDER BY a.sent_at""", SLUG)
    messages = await scalar(url, "SELECT count(*) FROM outreach.sandbox_messages m JOIN outreach.attempts a "
                                 "ON a.id = m.attempt_id WHERE a.client_slug = $1", SLUG)
    if messages != len(sent):  # say which attempts the provider has without their send recorded, and why
        unsent = await sql(url, """SELECT a.status, count(*), min(a.id::text) FROM outreach.sandbox_messages m
            JOIN outreach.attempts a ON a.id = m.attempt_id WHERE a.client_slug = $1 AND a.sent_at IS NULL
            GROUP BY a.status""", SLUG)
        first = min((r[2] for r in unsent), default=None)
        trail = await sql(url, "SELECT kind, detail::text FROM outreach.trail WHERE attempt_id::text = $1 ORDER BY id",
                          first) if first else []
        raise AssertionError(f"{messages} messages for {len(sent)} sent attempts; with a message, not sent: "
                             f"{[tuple(r) for r in unsent]}; the first's trail: {[tuple(t) for t in trail]}")
    history: dict[str, list[PastContact]] = defaultdict(list)
    for _, ref, channel, sent_at, debtor, allowed in sent:
        assert allowed is True, f"attempt sent without an allowing decision ({ref})"
        verdict = decide_contact(ContactRequest(client["country"], client["timezone"], channel, sent_at,
                                                (channel,), tuple(history[debtor]), account_ref=ref,
                                                rules=RULES[client["country"]]))
        assert verdict.allowed, f"a contact at {verdict.local_time} broke {verdict.reasons}"
        history[debtor].append(PastContact(sent_at, channel, account_ref=ref))
    # A send its replica died in the middle of was settled by asking the provider, never resent blindly.
    assert not {"sending", "unknown"} & set(statuses), statuses
    reconciled = await scalar(url, """SELECT count(*) FROM outreach.trail WHERE client_slug = $1
        AND (kind = 'not_sent' OR (kind = 'sent' AND detail ? 'reconciled'))""", SLUG)
    counts.update({"attempts by status": statuses, "messages sent": len(sent),
                   "sent, re-checked against the contact rules": len(sent),
                   "sends in doubt after a kill, reconciled with the provider": reconciled})

    # 4. Nothing was dead-lettered because a broker or a database went away.
    kafka = await kafka_settled(cluster.kafka.bootstrap)
    assert kafka["dead-lettered"] == 0, kafka
    counts["dead-lettered"] = 0
    return counts


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
               "exits on their own (restarted)": dict(monkey.exits_on_their_own), **counts,
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
