"""`recaudo kafka reseal`: a Kafka deployment's topics written before #19 copied to a new topic prefix, record by
record, every version 1 account event on the way resealed (its debtor only sealed), because Kafka records cannot
be rewritten in place (docs/data-protection.md, "Kafka topics written before #19"; the procedure in
docs/deploy.md)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from uuid import UUID

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.structs import ConsumerRecord, OffsetAndMetadata
from pydantic import ValidationError

from recaudo_common.bus.kafka import DLQ_REPLAY_GROUP
from recaudo_common.bus.kafka_security import ClientSecurity, KafkaSecurity
from recaudo_common.db import Database
from recaudo_common.events import TOPIC_NAMES, DebtorErased, Envelope, dlq_topic, topic_name
from recaudo_common.personal_data import Vault
from recaudo_common.personal_data.log_reseal import resealed, stated_in_clear

log = logging.getLogger("recaudo.kafka_reseal")
DYNAMIC_TOPIC_CONFIG = 1  # DescribeConfigs' config_source of a setting made on the topic itself
# A partition that gives nothing for this long before its end offset is stuck (a broker gone): stop, say where.
STALL_S = 60.0
# The largest record a topic of the platform's can hold is its broker's limit (1 MiB by default): the producer
# must not refuse, on its side, a record the source topic accepted.
MAX_REQUEST_BYTES = 4 * 1024 * 1024


class TargetNotEmpty(Exception):
    """A topic of the new prefix already holds records (a copy already made, or begun): nothing was copied."""


@dataclass(frozen=True)
class TopicCopy:
    """What one topic's copy did: counts only, never a record's content."""

    source: str
    target: str
    partitions: int
    copied: int  # every record, resealed or not
    resealed: int  # version 1 account events written as version 2
    unreadable: int = 0  # version 1 account events not valid (dead letters): copied without their plaintext
    groups: int = 0  # consumer groups of the old prefix whose offsets on it were given to their new-prefix twins


@dataclass(frozen=True)
class _Source:
    topic: str
    target: str
    partitions: int
    replicas: int
    configs: dict[str, str]
    ends: dict[int, int]  # partition -> end offset when the run started
    starts: dict[int, int]  # partition -> first offset when the run started (the copy's offset 0)


def platform_topics(prefix: str) -> list[str]:
    """Every topic of a prefix, in the order they are copied: each family, then its dead letters."""
    return [t for family in TOPIC_NAMES for t in (topic_name(prefix, family), dlq_topic(topic_name(prefix, family)))]


def _envelope(value: bytes | None) -> Envelope | None:
    if not value:
        return None
    try:
        return Envelope.model_validate_json(value)
    except (ValidationError, UnicodeDecodeError):
        return None


async def _records(consumer: AIOKafkaConsumer, tp: TopicPartition, end: int, *, batch: int = 500
                   ) -> AsyncIterator[list[ConsumerRecord[bytes, bytes]]]:
    """The partition's records from its beginning up to `end` (exclusive), in order, in batches."""
    consumer.assign([tp])
    await consumer.seek_to_beginning(tp)
    last_progress = time.monotonic()
    while await consumer.position(tp) < end:
        got = await consumer.getmany(tp, timeout_ms=1000, max_records=batch)
        records = [r for r in got.get(tp, []) if r.offset < end]
        if records:
            last_progress = time.monotonic()
            yield records
        elif time.monotonic() - last_progress > STALL_S:
            raise RuntimeError(f"{tp.topic}[{tp.partition}] gave nothing for {STALL_S:.0f}s before its end offset")


async def _describe(admin: AIOKafkaAdminClient, consumer: AIOKafkaConsumer, topic: str, target: str) -> _Source:
    (described,) = await admin.describe_topics([topic])
    partitions = sorted(p["partition"] for p in described["partitions"])
    replicas = len(described["partitions"][0]["replicas"])
    (response,) = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    configs = {entry[0]: entry[1] for resource in response.resources for entry in resource[4]
               if entry[3] == DYNAMIC_TOPIC_CONFIG and entry[1] is not None}
    tps = [TopicPartition(topic, p) for p in partitions]
    ends = await consumer.end_offsets(tps)
    starts = await consumer.beginning_offsets(tps)
    return _Source(topic, target, len(partitions), replicas, configs, {tp.partition: ends[tp] for tp in tps},
                   {tp.partition: starts[tp] for tp in tps})


async def _target_empty(admin: AIOKafkaAdminClient, consumer: AIOKafkaConsumer, source: _Source,
                        existing: set[str]) -> bool:
    """Whether the target topic exists already (empty, with the source's partitions); TargetNotEmpty if it holds
    anything or has other partitions."""
    if source.target not in existing:
        return False  # not described: a broker that creates topics on a metadata request would make it
    (described,) = await admin.describe_topics([source.target])
    partitions = [p["partition"] for p in described["partitions"]]
    if len(partitions) != source.partitions:
        raise TargetNotEmpty(f"{source.target} exists with {len(partitions)} partitions, "
                             f"{source.topic} has {source.partitions}")
    ends = await consumer.end_offsets([TopicPartition(source.target, p) for p in partitions])
    if any(ends.values()):
        raise TargetNotEmpty(f"{source.target} already holds records")
    return True


async def _create(admin: AIOKafkaAdminClient, source: _Source) -> None:
    response = await admin.create_topics([NewTopic(source.target, source.partitions, source.replicas,
                                                   topic_configs=source.configs)])
    for _, code, *_ in response.topic_errors:  # (topic, error_code, [error_message])
        if code:
            raise RuntimeError(f"{source.target} could not be created: Kafka error {code}")


async def erased_accounts(consumer: AIOKafkaConsumer, source: _Source | None) -> dict[tuple[str, str], UUID]:
    """(client, account_ref) -> debtor_ref of every completed erasure on the old debtor topic: their version 1
    events must not give the person a key again."""
    erased: dict[tuple[str, str], UUID] = {}
    if source is None:
        return erased
    for partition, end in source.ends.items():
        async for batch in _records(consumer, TopicPartition(source.topic, partition), end):
            for record in batch:
                envelope = _envelope(record.value)
                if envelope is None or envelope.type != DebtorErased.type:
                    continue
                try:
                    event = DebtorErased.model_validate(envelope.payload)
                except ValidationError:
                    continue
                erased.update(dict.fromkeys(((envelope.client, ref) for ref in event.account_refs),
                                            event.debtor_ref))
    return erased


async def _copy_partition(consumer: AIOKafkaConsumer, producer: AIOKafkaProducer, db: Database, vault: Vault,
                          source: _Source, partition: int, now: dt.datetime,
                          erased: dict[tuple[str, str], UUID]) -> tuple[int, int, int]:
    copied = resealed_count = unreadable = 0
    async for batch in _records(consumer, TopicPartition(source.topic, partition), source.ends[partition]):
        values: list[bytes | None] = [r.value for r in batch]
        envelopes = [_envelope(v) for v in values]
        stale = [i for i, e in enumerate(envelopes) if e is not None and stated_in_clear(e)]
        if stale:
            # The people given a key commit before their sealed values are produced: a crash in between leaves a
            # key with nothing sealed under it yet (found again by the next run), never a value no key opens.
            async with db.transaction() as s:
                new = await resealed(s, vault, [e for i in stale if (e := envelopes[i]) is not None], now,
                                     erased=erased)
            for i, envelope in zip(stale, new, strict=True):
                values[i] = envelope.model_dump_json().encode()
                unreadable += envelope.version == 1
        futures = [await producer.send(
            source.target, value, key=record.key, partition=partition, headers=list(record.headers),
            # CreateTime kept: a time-based offset lookup (a reset to a backup's time) finds the same place
            timestamp_ms=record.timestamp if record.timestamp_type == 0 else None)
            for record, value in zip(batch, values, strict=True)]
        await asyncio.gather(*futures)
        copied += len(batch)
        resealed_count += len(stale)
    resealed_count -= unreadable
    return copied, resealed_count, unreadable


async def reseal_topics(*, bootstrap: str, db: Database, vault: Vault, from_prefix: str, to_prefix: str,
                        now: dt.datetime, security: KafkaSecurity | None = None) -> list[TopicCopy]:
    """Copies every topic of `from_prefix` that exists to `to_prefix` (created with the same partitions,
    replication and topic settings), each partition in order up to its end offset at the start, same keys,
    headers, timestamps and values except the version 1 account events, resealed with the same event_id.
    TargetNotEmpty, before copying anything, if a topic of `to_prefix` holds records."""
    if from_prefix == to_prefix:
        raise ValueError("the new prefix must differ from the old one")
    secured = (security or KafkaSecurity()).client_args()  # the platform's own TLS and SASL settings
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **secured)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                auto_offset_reset="earliest", isolation_level="read_committed", **secured)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", linger_ms=5,
                                max_request_size=MAX_REQUEST_BYTES, **secured)
    await admin.start()
    try:
        await consumer.start()
        await producer.start()
        existing = set(await admin.list_topics())
        sources = [await _describe(admin, consumer, topic, to_prefix + topic[len(from_prefix):])
                   for topic in platform_topics(from_prefix) if topic in existing]
        ready = {s.target: await _target_empty(admin, consumer, s, existing) for s in sources}
        for s in sources:
            if not ready[s.target]:
                await _create(admin, s)
        debtor = topic_name(from_prefix, DebtorErased.family)
        erased = await erased_accounts(consumer, next((s for s in sources if s.topic == debtor), None))
        copies: list[TopicCopy] = []
        for s in sources:
            counts = [await _copy_partition(consumer, producer, db, vault, s, p, now, erased) for p in s.ends]
            copy = TopicCopy(s.topic, s.target, s.partitions, copied=sum(c[0] for c in counts),
                             resealed=sum(c[1] for c in counts), unreadable=sum(c[2] for c in counts))
            log.info("topic copied", extra={"fields": {"topic": s.topic, "target": s.target, "copied": copy.copied,
                                                       "resealed": copy.resealed, "unreadable": copy.unreadable}})
            copies.append(copy)
        carried = await carry_offsets(admin, bootstrap, secured, sources, from_prefix, to_prefix)
        return [replace(c, groups=carried.get(c.source, 0)) for c in copies]
    finally:
        await producer.stop()
        await consumer.stop()
        await admin.close()


async def carry_offsets(admin: AIOKafkaAdminClient, bootstrap: str, secured: ClientSecurity, sources: list[_Source],
                        from_prefix: str, to_prefix: str) -> dict[str, int]:
    """Gives every consumer group of the old prefix (`<old>.<name>`: a service's, a lane's) the same offsets on the
    copies under its new-prefix name, once they are copied and before a service is started: the copy keeps each record's
    partition and order from the topic's first offset, so a group reads on from where it was instead of from the
    beginning, where its inbox no longer remembers what it applied more than RECAUDO_INBOX_RETENTION_DAYS ago (it
    would stop there, RecaudoConsumerRefusing). Returns, per source topic, how many groups' offsets were carried."""
    by_topic = {s.topic: s for s in sources}
    carried: dict[str, int] = {}
    for (group, *_rest) in await admin.list_consumer_groups():
        if not group.startswith(f"{from_prefix}.") or group.startswith(DLQ_REPLAY_GROUP):
            continue
        offsets = {tp: meta.offset for tp, meta in (await admin.list_consumer_group_offsets(group)).items()
                   if tp.topic in by_topic and meta.offset >= 0}
        if not offsets:
            continue
        twin = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=to_prefix + group[len(from_prefix):],
                                enable_auto_commit=False, **secured)
        await twin.start()
        try:
            targets = {TopicPartition(by_topic[tp.topic].target, tp.partition):
                       OffsetAndMetadata(max(0, offset - by_topic[tp.topic].starts[tp.partition]), "")
                       for tp, offset in offsets.items()}
            twin.assign(list(targets))
            await twin.commit(targets)
        finally:
            await twin.stop()
        for topic in {tp.topic for tp in offsets}:
            carried[topic] = carried.get(topic, 0) + 1
        log.info("group offsets carried", extra={"fields": {"group": group, "partitions": len(offsets)}})
    return carried


def report(copies: Sequence[TopicCopy], from_prefix: str) -> list[str]:
    """The command's output lines: topic names and counts, and the platform's topics that did not exist."""
    copied = {c.source for c in copies}
    absent = [t for t in platform_topics(from_prefix) if t not in copied]
    lines = [f"{c.source} -> {c.target}: {c.copied} records copied, {c.resealed} resealed"
             + (f", {c.unreadable} unreadable account events copied without their personal fields"
               if c.unreadable else "")
             + (f", the offsets of {c.groups} consumer groups carried" if c.groups else "")
             for c in copies]
    lines += [f"{topic}: absent, nothing to copy" for topic in absent]
    return lines
