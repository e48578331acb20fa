"""What the chaos test checks once the faults stop: the driver's ledger of every payment the platform answered,
the platform settled (every backlog drained, every account planned, the report caught up) and each invariant,
checked by code against every service's tables, the report and the broker's topics."""

from __future__ import annotations

import dataclasses
import os
from collections import defaultdict
from decimal import Decimal
from typing import Any

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.consumer import AIOKafkaConsumer

from outreach.domain.contact_law import RULES, ContactRequest, PastContact, decide_contact
from recaudo_common.cluster import SERVICES, Cluster, PatientClient
from recaudo_common.testing import database_rows, eventually, sized

ACCOUNTS = int(os.environ.get("CHAOS_ACCOUNTS", str(sized(800, 2000))))
SLUG = "cadena-chaos"
sql = database_rows


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


