"""`recaudo kafka reseal` on the real Kafka broker and PostgreSQL: topics written before #19 (version 1 account
events with debtors in clear, other events, a dead letter, a record that is not JSON) are copied to a new prefix
partition by partition in order, every record as it was except the version 1 account events, now version 2 with
the same event_id whose sealed data opens to exactly what they carried; no identifier is left in clear on the new
topics or in the command's output, a person erased before the copy is not given a key again, shredding a person
afterwards closes their copies, and a second run onto the filled prefix is refused; a consumer switched to the
new prefix applies only what it had not read. A version 1 dead letter that
cannot be read loses its plaintext fields, on Kafka and in the embedded log alike."""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from sqlalchemy import text

from recaudo.kafka_reseal import reseal_topics
from recaudo_common.bus.base import OutgoingMessage
from recaudo_common.bus.consumer import ConsumerRuntime, HandlerContext, Subscriptions
from recaudo_common.bus.postgres import append
from recaudo_common.db import Database, make_engine
from recaudo_common.events import (
    AccountPlaced,
    AccountPlacedV1,
    AccountStated,
    AccountUpdated,
    AccountUpdatedV1,
    DebtorErased,
    Envelope,
    Event,
    decode,
    dlq_topic,
    topic_name,
)
from recaudo_common.personal_data import MasterKeyring, PersonalData, Vault, personal_of
from recaudo_common.personal_data.log_reseal import reseal_event_log, stated_in_clear
from recaudo_common.runtime import Platform, make_platform
from recaudo_common.settings import PlatformSettings
from recaudo_common.testing import eventually, platform_env, settings_for_test

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)
CLIENT = "banco"
ANA = PersonalData(full_name="Ana Gómez Restrepo", id_number="1020304050", id_type="CC",
                   phones=("+573001234567",), email="ana.gomez@correo.co", address="Calle 10 # 20-30")
BETO = PersonalData(full_name="Beto Pardo Luna", id_number="79888777", phones=("3157654321",),
                    email=None, address=None)
CARLA = PersonalData(full_name="Carla Ríos Mejía", id_number="52111222", phones=("+573209998877",),
                     email="carla@correo.co", address=None)
SECRETS = [s for p in (ANA, BETO, CARLA) for s in (p.full_name, p.id_number, p.email, p.address, *p.phones,
                                                   *(ph.removeprefix("+57") for ph in p.phones)) if s]
ACCOUNT_PARTITIONS, DEBTOR_PARTITIONS = 3, 2


def v1(ref: str, person: PersonalData, *, updated: bool = False) -> AccountPlacedV1 | AccountUpdatedV1:
    fields = dict(account_ref=ref, portfolio_id=uuid.uuid4(), debtor_id=person.id_number,
                  debtor_id_type=person.id_type, full_name=person.full_name, phones=list(person.phones),
                  email=person.email, address=person.address, balance=Decimal("100.00"), currency="COP",
                  days_past_due=40, as_of=NOW.date(), authorised_channels=["sms"])
    if updated:
        return AccountUpdatedV1.model_validate({**fields, "previous_balance": Decimal("150.00")})
    return AccountPlacedV1.model_validate(fields)


def placed_v2(ref: str) -> AccountPlaced:
    return AccountPlaced(account_ref=ref, portfolio_id=uuid.uuid4(), debtor_ref=uuid.uuid4(), personal=None,
                         has_phone=False, has_email=False, balance=Decimal("10.00"), currency="COP",
                         days_past_due=5, as_of=NOW.date(), authorised_channels=["sms"])


@dataclass(frozen=True)
class Written:
    """One record produced to the old prefix, and the plaintext it carried (a version 1 account event)."""

    topic: str
    partition: int
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]
    carried: PersonalData | None = None


def record(topic: str, partition: int, event: Event, *, headers: list[tuple[str, bytes]] | None = None,
           carried: PersonalData | None = None) -> Written:
    envelope = event.envelope(client=CLIENT, occurred_at=NOW)
    return Written(topic, partition, envelope.key.encode(), envelope.model_dump_json().encode(),
                   headers or [("traceparent", b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")],
                   carried)


def malformed(topic: str, event: Event) -> Written:
    """A version 1 dead letter whose payload is not valid (no balance), the debtor still in it."""
    data = event.envelope(client=CLIENT, occurred_at=NOW).model_dump(mode="json")
    del data["payload"]["balance"]
    envelope = Envelope.model_validate(data)
    return Written(topic, 0, envelope.key.encode(), envelope.model_dump_json().encode(),
                   [("recaudo-dlq-reason", b"invalid_payload")])


@dataclass
class Kafka:
    bootstrap: str

    async def read(self, topic: str) -> dict[int, list[tuple[bytes | None, bytes | None, list[tuple[str, bytes]],
                                                            int]]]:
        """Every record of every partition: (key, value, headers, timestamp) in offset order."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            (described,) = await admin.describe_topics([topic])
        finally:
            await admin.close()
        partitions = sorted(p["partition"] for p in described["partitions"])
        assert partitions, topic
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None, enable_auto_commit=False,
                                    auto_offset_reset="earliest")
        await consumer.start()
        try:
            out: dict[int, list[tuple[bytes | None, bytes | None, list[tuple[str, bytes]], int]]] = {}
            for p in partitions:
                tp = TopicPartition(topic, p)
                consumer.assign([tp])
                await consumer.seek_to_beginning(tp)
                end = (await consumer.end_offsets([tp]))[tp]
                got: list[tuple[bytes | None, bytes | None, list[tuple[str, bytes]], int]] = []
                while await consumer.position(tp) < end:
                    batch = await consumer.getmany(tp, timeout_ms=2000)
                    got += [(r.key, r.value, list(r.headers), r.timestamp) for r in batch.get(tp, [])]
                out[p] = got
            return out
        finally:
            await consumer.stop()


@pytest.fixture
async def settings(database_url: str, kafka_bootstrap: str) -> AsyncIterator[PlatformSettings]:
    settings = settings_for_test(database_url, transport="kafka", kafka_bootstrap=kafka_bootstrap)
    yield settings
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        mine = [t for t in await admin.list_topics() if t.startswith(f"{settings.topic_prefix}")]
        if mine:
            await admin.delete_topics(mine)
    finally:
        await admin.close()


def retention(topic: str) -> str:
    return "2592000000" if topic.endswith(".dlq") else "-1"


async def retention_of(bootstrap: str, topic: str) -> str:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (response,) = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    finally:
        await admin.close()
    return next(str(e[1]) for r in response.resources for e in r[4] if e[0] == "retention.ms")


async def produce(bootstrap: str, records: list[Written]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        partitions = {r.topic: ACCOUNT_PARTITIONS if r.topic.endswith(".account") else
                      DEBTOR_PARTITIONS if r.topic.endswith(".debtor") else 1 for r in records}
        await admin.create_topics([NewTopic(t, n, 1, topic_configs={"retention.ms": retention(t)})
                                   for t, n in partitions.items()])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        for r in records:  # one at a time: the order within each partition is the list's
            await (await producer.send(r.topic, r.value, key=r.key, partition=r.partition, headers=r.headers))
    finally:
        await producer.stop()


def reseal(settings: PlatformSettings, to_prefix: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "recaudo.cli", "kafka", "reseal", "--to-prefix", to_prefix],
                          env=platform_env(settings, RECAUDO_LOG_LEVEL="INFO"), capture_output=True, text=True,
                          timeout=180, check=False)


async def test_topics_written_before_19_are_copied_resealed_and_the_copies_erasable(
        settings: PlatformSettings) -> None:
    old, new = settings.topic_prefix, f"{settings.topic_prefix}n2"
    account, debtor = topic_name(old, "account"), topic_name(old, "debtor")
    erased_ref = uuid.uuid4()
    erasure = DebtorErased(erasure_id=uuid.uuid4(), debtor_ref=erased_ref, account_refs=["C-1"], reason="request",
                           erased_at=NOW)
    records = [
        record(account, 0, v1("A-1", ANA), carried=ANA),
        record(account, 0, placed_v2("Z-1")),
        record(account, 0, v1("A-1", ANA, updated=True), carried=ANA),
        Written(account, 1, b"banco/X-9", b"\xff\xfe not json at all", [("x-odd", b"\x00\x01")]),
        record(account, 1, v1("B-1", BETO), carried=BETO),
        record(account, 2, v1("C-1", CARLA), carried=None),  # erased before the copy
        record(account, 2, placed_v2("Z-2")),
        record(dlq_topic(account), 0, v1("B-1", BETO, updated=True), carried=BETO,
               headers=[("recaudo-dlq-consumer", b"outreach"), ("recaudo-dlq-reason", b"handler_failed:Boom")]),
        malformed(dlq_topic(account), v1("B-2", BETO)),
        record(debtor, 1, erasure),
    ]
    await produce(settings.kafka_bootstrap, records)
    before = Kafka(settings.kafka_bootstrap)
    old_topics = {t: await before.read(t) for t in (account, dlq_topic(account), debtor)}

    done = await asyncio.to_thread(reseal, settings, new)

    assert done.returncode == 0, done.stderr[-3000:]
    assert f"{account} -> {topic_name(new, 'account')}: 7 records copied, 4 resealed" in done.stdout
    assert f"{dlq_topic(account)} -> {dlq_topic(topic_name(new, 'account'))}: 2 records copied, 1 resealed, " \
           "1 unreadable account events copied without their personal fields" in done.stdout
    assert f"{topic_name(old, 'payment')}: absent, nothing to copy" in done.stdout
    for secret in SECRETS:
        assert secret not in done.stdout + done.stderr

    assert await retention_of(settings.kafka_bootstrap, topic_name(new, "account")) == "-1"
    assert await retention_of(settings.kafka_bootstrap, dlq_topic(topic_name(new, "account"))) == "2592000000"
    carried = {(r.topic, r.partition, r.value): r.carried for r in records}
    db = Database(make_engine(settings.database_url, pool_size=2))
    vault = Vault.from_settings(settings, key_cache_ttl_s=0)
    try:
        resealed: list[tuple[AccountStated, PersonalData]] = []
        for topic, partitions in old_topics.items():
            copy = await Kafka(settings.kafka_bootstrap).read(new + topic[len(old):])
            assert sorted(copy) == sorted(partitions)
            for p, rows in partitions.items():
                assert len(copy[p]) == len(rows), (topic, p)
                for (key, value, headers, at), (key2, value2, headers2, at2) in zip(rows, copy[p], strict=True):
                    assert (key2, headers2, at2) == (key, headers, at)
                    assert value is not None and value2 is not None
                    for secret in SECRETS:
                        assert secret.encode() not in value2
                        assert all(secret.encode() not in v for _, v in headers2)
                    envelope = Envelope.model_validate_json(value) if value.startswith(b"{") else None
                    if envelope is None or not stated_in_clear(envelope):
                        assert value2 == value  # byte for byte
                        continue
                    after = Envelope.model_validate_json(value2)
                    if "balance" not in envelope.payload:  # the malformed dead letter: unreadable either way
                        assert after == envelope.model_copy(update={"payload": {
                            k: v for k, v in envelope.payload.items() if k in after.payload}})
                        assert after.version == 1 and "full_name" not in after.payload
                        continue
                    assert (after.event_id, after.type, after.version) == (envelope.event_id, envelope.type, 2)
                    event = decode(after)
                    assert isinstance(event, (AccountPlaced, AccountUpdated))
                    if (person := carried[(topic, p, value)]) is None:  # Carla: erased, pseudonym only
                        assert (event.debtor_ref, event.personal) == (erased_ref, None)
                    else:
                        resealed.append((event, person))
        assert len(resealed) == 4
        async with db.transaction() as s:
            for event, person in resealed:
                assert await personal_of(vault, s, CLIENT, event) == person
            assert await vault.find(s, CLIENT, "id_number", CARLA.id_number) is None  # no key given again
            ana_ref = next(e.debtor_ref for e, p in resealed if p == ANA)
            assert ana_ref is not None
            assert await vault.shred(s, CLIENT, ana_ref, "request", NOW)
        async with db.transaction() as s:
            for event, person in resealed:
                assert await personal_of(vault, s, CLIENT, event) == (None if person == ANA else person)
    finally:
        await db.dispose()

    again = await asyncio.to_thread(reseal, settings, new)
    assert again.returncode == 1
    assert "already holds records; nothing was copied" in again.stderr
    assert len((await Kafka(settings.kafka_bootstrap).read(topic_name(new, "account")))[0]) == 3



async def test_the_embedded_log_reseal_passes_over_what_cannot_be_read_or_found(database_url: str) -> None:
    """The function both migrations share, on the embedded log: a malformed version 1 dead letter and an id number
    with nothing to index stop neither; both lose their plaintext, the valid event beside them is resealed."""
    db = Database(make_engine(database_url, pool_size=2))
    vault = Vault(MasterKeyring(bytes(range(32))), key_cache_ttl_s=0)
    account = topic_name("recaudo", "account")
    nameless = v1("D-1", PersonalData(full_name=BETO.full_name, id_number="--", phones=BETO.phones))
    written = [malformed(dlq_topic(account), v1("B-2", BETO)), record(account, 0, nameless),
               record(account, 0, v1("A-1", ANA))]
    try:
        async with db.transaction() as s:
            await s.execute(text("DELETE FROM bus.migrations_done"))
            await append(s, [OutgoingMessage(w.topic, w.key.decode() if w.key else "", w.value.decode(), {})
                             for w in written])
        assert await reseal_event_log(db, vault, NOW) == 3
        async with db.transaction() as s:
            rows = [Envelope.model_validate_json(r) for r in (await s.scalars(text(
                "SELECT envelope::text FROM bus.log ORDER BY position"))).all()]
            for row in rows:
                for secret in SECRETS:
                    assert secret not in row.model_dump_json()
            assert [r.version for r in rows] == [1, 2, 2]
            unfound, ana = decode(rows[1]), decode(rows[2])
            assert isinstance(unfound, AccountPlaced) and (unfound.debtor_ref, unfound.personal) == (None, None)
            assert isinstance(ana, AccountPlaced) and await personal_of(vault, s, CLIENT, ana) == ANA
    finally:
        await db.dispose()


async def test_services_on_the_new_prefix_apply_only_what_they_had_not(settings: PlatformSettings) -> None:
    """The switch of the procedure: a consumer that applied the old topic, run on the new prefix (a new group, given
    the old group's offsets by the copy), applies only the event it had not read, resealed, and none of the others
    again, without reading the others at all."""
    old, new = settings.topic_prefix, f"{settings.topic_prefix}n2"
    account = topic_name(old, "account")
    applied: list[tuple[uuid.UUID, AccountStated]] = []

    async def handle(event: AccountStated, ctx: HandlerContext) -> None:
        applied.append((ctx.envelope.event_id, event))

    subs = Subscriptions("recorder", "reporting", {AccountPlaced: handle, AccountUpdated: handle})
    platform = make_platform(settings, pool_size=3)
    await platform.transport.start()
    try:
        await produce(settings.kafka_bootstrap, [
            record(account, 0, v1("A-1", ANA)), record(account, 1, v1("B-1", BETO)),
            record(account, 0, v1("A-1", ANA, updated=True))])
        await consume(platform, subs, old, lambda: len(applied) >= 3)
        late = record(account, 1, v1("B-1", BETO, updated=True))  # written before the stop, never read
        await produce(settings.kafka_bootstrap, [late])
        vault = Vault.from_settings(settings, key_cache_ttl_s=0)
        copies = await reseal_topics(bootstrap=settings.kafka_bootstrap, db=platform.db, vault=vault,
                                     from_prefix=old, to_prefix=new, now=NOW)
        assert [(c.target, c.copied, c.resealed, c.groups) for c in copies if c.copied] == [
            (topic_name(new, "account"), 4, 4, 1)]
        admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
        await admin.start()
        try:
            before = await admin.list_consumer_group_offsets(f"{old}.recorder")
            after = await admin.list_consumer_group_offsets(f"{new}.recorder")
        finally:
            await admin.close()
        assert {(tp.partition, meta.offset) for tp, meta in after.items()} == {
            (tp.partition, meta.offset) for tp, meta in before.items() if tp.topic == account}
        assert {tp.topic for tp in after} == {topic_name(new, "account")}

        await consume(platform, subs, new, lambda: len(applied) >= 4)

        ids = [event_id for event_id, _ in applied]
        assert len(ids) == 4 and len(set(ids)) == 4
        assert ids[3] == Envelope.model_validate_json(late.value).event_id
        last = applied[3][1]
        assert isinstance(last, AccountUpdated) and last.personal is not None
        async with platform.db.transaction() as s:
            assert await personal_of(vault, s, CLIENT, last) == BETO
    finally:
        await platform.transport.stop()
        await platform.db.dispose()


async def consume(platform: Platform, subs: Subscriptions, prefix: str, done: Callable[[], bool]) -> None:
    """Runs the consumer on `prefix` until `done` and its group has committed every record of the topic."""
    runtime = ConsumerRuntime(platform.db, platform.transport, subs, prefix, lambda: NOW, backoff_s=0.01)
    topic = topic_name(prefix, "account")
    admin = AIOKafkaAdminClient(bootstrap_servers=platform.settings.kafka_bootstrap)
    ends = await Kafka(platform.settings.kafka_bootstrap).read(topic)

    async def caught_up() -> bool:
        committed = await admin.list_consumer_group_offsets(f"{prefix}.{subs.consumer}")
        return done() and all(committed.get(TopicPartition(topic, p)) is not None
                              and committed[TopicPartition(topic, p)].offset >= len(rows)
                              for p, rows in ends.items() if rows)

    stop = asyncio.Event()
    await admin.start()
    task = asyncio.create_task(runtime.run(stop))
    try:
        await eventually(caught_up, timeout_s=90, message="the consumer caught up")
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await admin.close()
