"""Malformed records cannot stop a consumer: garbage written straight onto a topic (the real Kafka broker, and the
embedded PostgreSQL log) is dead-lettered with a reason code and its value as it was, and the consumer goes on
to the valid events behind it, in order. The list below is the bad-input corpus's part for topics."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import text

from recaudo_common.bus.base import MAX_RECORD_BYTES, Message
from recaudo_common.bus.consumer import ConsumerRuntime, Subscriptions
from recaudo_common.bus.postgres import APPEND_LOCK, NOTIFY_CHANNEL
from recaudo_common.events import AccountPlaced, AccountRecalled, dlq_topic, topic_name
from recaudo_common.runtime import Platform
from recaudo_common.testing import eventually
from recaudo_common.testing_consumers import Recorder

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)
NAME, DEBTOR_ID, EMAIL = "Ana Gómez Restrepo", "1020304050", "ana.gomez@correo.co"


def placed(ref: str) -> AccountPlaced:
    return AccountPlaced(account_ref=ref, portfolio_id=uuid.uuid4(), debtor_ref=None, personal=None,
                         has_phone=False, has_email=True, balance=Decimal("1000.00"), currency="COP",
                         days_past_due=40, as_of=NOW.date(), authorised_channels=["sms"])


def envelope(**changes: Any) -> dict[str, Any]:
    """A valid account.placed envelope as JSON data, with `changes` applied (None removes a field)."""
    data: dict[str, Any] = json.loads(placed("A-X").envelope(client="banco", occurred_at=NOW).model_dump_json())
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return data


def as_json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


@dataclass(frozen=True)
class Poison:
    """One malformed record: its value (and key and headers), the reason its dead letter must give, and whether
    only Kafka can carry it (the embedded log stores JSON, so bytes that are not JSON never reach it)."""

    id: str
    value: bytes | None
    reason: str
    key: bytes | None = b"banco/A-X"
    headers: list[tuple[str, bytes]] = field(default_factory=list)
    kafka_only: bool = False


CORPUS: list[Poison] = [
    # Bytes that are no JSON at all.
    Poison("not-json", b"this is not json", "not_json", kafka_only=True),
    Poison("invalid-utf8", b"\xff\xfe\xfd garbage \xc3\x28", "invalid_utf8", kafka_only=True),
    Poison("truncated-envelope", as_json(envelope())[:60], "not_json", kafka_only=True),
    Poison("empty-value", b"", "not_json", kafka_only=True),
    Poison("tombstone", None, "not_json", kafka_only=True),
    Poison("nul-bytes", b"\x00\x00\x00\x00", "not_json", kafka_only=True),
    Poison("bom-then-json", b"\xef\xbb\xbf" + as_json(envelope()), "not_json", kafka_only=True),
    Poison("nested-100k-deep", b"[" * 100_000 + b"]" * 100_000, "not_json", kafka_only=True),
    Poison("two-documents", as_json(envelope()) + as_json(envelope()), "not_json", kafka_only=True),
    Poison("invalid-utf8-key", as_json(envelope()), "invalid_utf8", key=b"\xff\xfe", kafka_only=True),
    Poison("missing-key", as_json(envelope()), "missing_key", key=None, kafka_only=True),
    Poison("junk-headers-and-no-json", b"<xml/>", "not_json", headers=[("x-\u00f1", b"\xff"), ("traceparent", b"00")],
           kafka_only=True),
    # JSON that is not an envelope.
    Poison("json-number", b"42", "not_an_envelope"),
    Poison("json-string", as_json("account.placed"), "not_an_envelope"),
    Poison("json-null", b"null", "not_an_envelope"),
    Poison("json-array", as_json([envelope()]), "not_an_envelope"),
    Poison("empty-object", b"{}", "not_an_envelope"),
    Poison("no-event-id", as_json(envelope(event_id=None)), "not_an_envelope"),
    Poison("bad-event-id", as_json(envelope(event_id="not-a-uuid")), "not_an_envelope"),
    Poison("no-payload", as_json(envelope(payload=None)), "not_an_envelope"),
    Poison("payload-not-object", as_json(envelope(payload=[1, 2])), "not_an_envelope"),
    Poison("version-not-int", as_json(envelope(version="uno")), "not_an_envelope"),
    Poison("occurred-at-garbage", as_json(envelope(occurred_at="ayer")), "not_an_envelope"),
    Poison("oversized", as_json(envelope(payload={"pad": "x" * (MAX_RECORD_BYTES + 10)})), "oversized"),
    Poison("empty-key", as_json(envelope()), "missing_key", key=b""),
    # Envelopes no version of the platform can read.
    Poison("unknown-type", as_json(envelope(type="account.exploded")), "unknown_event_type"),
    Poison("unknown-version", as_json(envelope(version=99)), "unknown_event_version"),
    Poison("payload-wrong-types", as_json(envelope(payload={"account_ref": 5, "full_name": NAME,
                                                            "debtor_id": DEBTOR_ID, "balance": "mil"})),
           "invalid_payload"),
    Poison("payload-extra-field", as_json(envelope(payload={**envelope()["payload"], "email_2": EMAIL})),
           "invalid_payload"),
]



def compact(value: Any) -> bytes:
    """JSON as the platform writes an envelope (no spaces, Envelope's fields in order): a consumer decodes a record
    so written of a type it reads as it reads it (#24), and finds the same faults in it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


CORPUS += [
    Poison("compact-truncated", compact(envelope())[:150], "not_json", kafka_only=True),
    Poison("compact-occurred-at-garbage", compact(envelope(occurred_at="ayer")), "not_an_envelope"),
    Poison("compact-payload-not-object", compact(envelope(payload=[1, 2])), "not_an_envelope"),
    Poison("compact-unknown-type", compact(envelope(type="account.exploded")), "unknown_event_type"),
    Poison("compact-unknown-version", compact(envelope(version=99)), "unknown_event_version"),
    Poison("compact-payload-wrong-types", compact(envelope(payload={"account_ref": 5, "balance": "mil"})),
           "invalid_payload"),
    Poison("compact-type-twice", compact(envelope())[:-1] + b',"type":"account.exploded"}', "unknown_event_type"),
]


def passed_over() -> list[Poison]:
    """Records of a type the platform knows and the consumer does not read: passed over unread, even one cut short
    (#24: the consumers that read account.recalled judge it; this one never parses it)."""
    recalled = AccountRecalled(account_ref="A-R", recalled_at=NOW).envelope(client="banco", occurred_at=NOW)
    value = recalled.model_dump_json().encode()
    return [Poison("recalled", value, "", key=b"banco/A-R"),
            Poison("recalled-cut-short", value[:120], "", key=b"banco/A-R", kafka_only=True)]


async def applied(platform: Platform) -> list[str]:
    async with platform.db.transaction() as s:
        return list((await s.scalars(text("SELECT account_ref FROM reporting.payments ORDER BY applied_at, "
                                          "account_ref"))).all())


def valid(ref: str) -> Poison:
    event = placed(ref).envelope(client="banco", occurred_at=NOW)
    return Poison(f"valid-{ref}", event.model_dump_json().encode(), "", key=event.key.encode())


async def produce_kafka(platform: Platform, topic: str, records: list[Poison]) -> None:
    """Straight onto the broker, all on one partition, so the valid events are behind the garbage."""
    await platform.transport.ensure_topics([topic, dlq_topic(topic)])
    producer = AIOKafkaProducer(bootstrap_servers=platform.settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for record in records:
            await producer.send_and_wait(topic, record.value, key=record.key, headers=record.headers, partition=0)
    finally:
        await producer.stop()


async def produce_postgres(platform: Platform, topic: str, records: list[Poison]) -> None:
    """Straight into the embedded log, as a foreign writer would (with the append lock, so positions stay
    in commit order)."""
    async with platform.db.transaction() as s:
        await s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": APPEND_LOCK})
        for record in records:
            headers = {k: v.decode("utf-8", "replace").replace("\x00", "") for k, v in record.headers}
            await s.execute(text(
                "INSERT INTO bus.log (position, topic, key, event_id, envelope, headers) VALUES "
                "(nextval('bus.log_position'), :t, :k, :e, CAST(:v AS jsonb), CAST(:h AS jsonb))"),
                {"t": topic, "k": (record.key or b"").decode(), "e": uuid.uuid4(), "v": (record.value or b"").decode(),
                 "h": json.dumps(headers)})
        await s.execute(text("SELECT pg_notify(:c, '')"), {"c": NOTIFY_CHANNEL})


async def test_garbage_on_a_topic_is_dead_lettered_and_the_consumer_goes_on(
        platform_on_each_transport: Platform) -> None:
    platform = platform_on_each_transport
    on_kafka = platform.transport.name == "kafka"
    prefix = platform.settings.topic_prefix
    topic = topic_name(prefix, "account")
    corpus = [p for p in CORPUS if on_kafka or not p.kafka_only]
    # A valid event first, the corpus, then more valid events: one of them with headers that are not UTF-8.
    tail = valid("A-3")
    tail = Poison(tail.id, tail.value, "", key=tail.key, headers=[("traceparent", b"\xff\x00"), ("x", b"\xc3")])
    unread = [p for p in passed_over() if on_kafka or not p.kafka_only]
    records = [valid("A-1"), *corpus, *unread, valid("A-2"), tail]
    await (produce_kafka if on_kafka else produce_postgres)(platform, topic, records)

    runtime = ConsumerRuntime(platform.db, platform.transport,
                              Subscriptions("recorder", "reporting", {AccountPlaced: Recorder().handle}), prefix,
                              lambda: NOW, max_retries=1, backoff_s=0.01)
    dead = platform.transport.subscriber(f"{prefix}.dlq-reader", [dlq_topic(topic)])
    await dead.start()
    letters: list[Message] = []
    stop = asyncio.Event()
    consumer = asyncio.create_task(runtime.run(stop, max_records=7))

    async def all_handled() -> bool:
        if consumer.done():  # the consumer must never stop on a bad record
            raise AssertionError(f"the consumer stopped: {consumer.exception()!r}")
        batch = await dead.fetch(max_records=100, timeout_s=0.3)
        if batch:
            await dead.commit(batch)
            letters.extend(batch)
        return len(letters) >= len(corpus) and len(await applied(platform)) >= 3

    try:
        await eventually(all_handled, timeout_s=90, message="every record handled")
    finally:
        stop.set()
        await asyncio.wait_for(consumer, 30)
        await dead.stop()

    assert await applied(platform) == ["A-1", "A-2", "A-3"]
    assert len(letters) == len(corpus), [(m.headers.get("recaudo-dlq-reason"), m.raw[:80]) for m in letters]
    for letter in letters:
        assert letter.headers["recaudo-dlq-consumer"] == "recorder"
        header_text = json.dumps(letter.headers, ensure_ascii=False)
        for secret in (NAME, DEBTOR_ID, EMAIL):
            assert secret not in header_text, header_text
        assert not {k for k in letter.headers if not k.startswith("recaudo-dlq-")} - {"traceparent", "tracestate"}

    # Each record is in the DLQ once, with its reason, and its value kept as it was (byte for byte on Kafka; the
    # same JSON in the embedded log, which stores JSON), for an operator to inspect or replay.
    def same(value: bytes) -> Any:
        return value if on_kafka else json.dumps(json.loads(value), sort_keys=True)

    expected = sorted((p.reason, same(p.value or b"")) for p in corpus)
    got = sorted((m.headers["recaudo-dlq-reason"], same(m.raw)) for m in letters)
    assert [reason for reason, _ in got] == [reason for reason, _ in expected]
    assert got == expected
