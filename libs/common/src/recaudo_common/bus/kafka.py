"""The Kafka transport: idempotent producer with acks=all, consumer groups with manual commits."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import CommitFailedError, TopicAlreadyExistsError
from aiokafka.structs import OffsetAndMetadata
from sqlalchemy.ext.asyncio import AsyncSession

from recaudo_common.bus.base import (
    TRACE_HEADERS,
    Message,
    OutgoingMessage,
    Subscriber,
    read_record,
    replayed_message,
)
from recaudo_common.bus.kafka_security import KafkaSecurity
from recaudo_common.events import dlq_topic
from recaudo_common.instrumentation import kafka_is_instrumented, publishing_under
from recaudo_common.telemetry import extract_context

log = logging.getLogger("recaudo.bus.kafka")
PARTITIONS_KNOWN_S = 30.0  # how long backlog() trusts a topic's partitions before asking the broker again
DLQ_REPLAY_GROUP = "recaudo.dlq-replay."  # + the topic: `recaudo dlq replay`'s consumer group


def _headers(raw: list[tuple[str, bytes]] | None) -> dict[str, str]:
    """The record's headers; one that is not UTF-8 is not the platform's (they carry only the trace context)
    and is left out rather than stopping the consumer."""
    out: dict[str, str] = {}
    for k, v in raw or []:
        try:
            out[k] = (v or b"").decode()
        except UnicodeDecodeError:
            continue
    return out


def _appended_at(timestamp_ms: int | None) -> dt.datetime | None:
    """A record's timestamp (its producer's clock, CreateTime, as the topics keep it) as a time; None when the
    record has none (-1, a record written before timestamps existed)."""
    if timestamp_ms is None or timestamp_ms < 0:
        return None
    return dt.datetime.fromtimestamp(timestamp_ms / 1000, dt.UTC)


class KafkaSubscriber:
    def __init__(self, bootstrap: str, group: str, topics: list[str], security: KafkaSecurity | None = None,
                 reads: frozenset[str] | None = None) -> None:
        self.bootstrap, self.group, self.topics, self.reads = bootstrap, group, topics, reads
        self.security = security or KafkaSecurity()
        self._consumer: AIOKafkaConsumer | None = None
        # Partitions the group has a committed offset on, as far as this member knows: asked of the coordinator once
        # per partition until the answer is yes (Message.fresh).
        self._committed_on: set[TopicPartition] = set()

    def new_consumer(self) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            *self.topics, bootstrap_servers=self.bootstrap, group_id=self.group,
            enable_auto_commit=False, auto_offset_reset="earliest", isolation_level="read_committed",
            metadata_max_age_ms=5000, **self.security.client_args(),
        )

    async def start(self) -> None:
        self._consumer = self.new_consumer()
        await self._consumer.start()

    @property
    def consumer(self) -> AIOKafkaConsumer:
        assert self._consumer is not None, "subscriber not started"
        return self._consumer

    async def fetch(self, *, max_records: int = 500, timeout_s: float = 1.0) -> list[Message]:
        batches = await self.consumer.getmany(timeout_ms=int(timeout_s * 1000), max_records=max_records)
        out: list[Message] = []
        for tp, records in batches.items():
            fresh = not await self._has_committed(tp)
            for r in records:
                out.append(read_record(tp.topic, r.key, r.value, _headers(r.headers), (tp.partition, r.offset),
                                       _appended_at(r.timestamp), fresh=fresh, reads=self.reads))
        return out

    async def _has_committed(self, tp: TopicPartition) -> bool:
        if tp not in self._committed_on and await self.consumer.committed(tp) is not None:
            self._committed_on.add(tp)
        return tp in self._committed_on

    async def commit(self, messages: list[Message]) -> None:
        offsets: dict[TopicPartition, OffsetAndMetadata] = {}
        for m in messages:
            partition, offset = m.position
            tp = TopicPartition(m.topic, partition)
            if tp not in offsets or offsets[tp].offset <= offset:
                offsets[tp] = OffsetAndMetadata(offset + 1, "")
        try:
            await self.consumer.commit(offsets)
            self._committed_on.update(offsets)
        except CommitFailedError:
            # A rebalance took the partitions away: the new owner re-reads and the inbox dedupes.
            log.warning("offset commit failed after a rebalance; events will be redelivered")

    async def lag(self) -> int:
        total = 0
        for tp in self.consumer.assignment():
            high = self.consumer.highwater(tp)
            if high is None:
                continue
            total += max(0, high - await self.consumer.position(tp))
        return total

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None


class KafkaTransport:
    name = "kafka"

    def __init__(self, bootstrap: str, partitions: int = 6, security: KafkaSecurity | None = None) -> None:
        self.bootstrap = bootstrap
        self.partitions = partitions
        self.security = security or KafkaSecurity()
        self._producer: AIOKafkaProducer | None = None
        self._offsets: tuple[AIOKafkaAdminClient, AIOKafkaConsumer] | None = None  # for backlog(), made on first use
        self._partitions: dict[str, tuple[float, frozenset[TopicPartition]]] = {}  # topic -> (asked when, its own)

    def new_producer(self) -> AIOKafkaProducer:
        return AIOKafkaProducer(
            bootstrap_servers=self.bootstrap, enable_idempotence=True, acks="all", linger_ms=5,
            max_batch_size=256 * 1024, request_timeout_ms=30000, **self.security.client_args(),
        )

    async def start(self) -> None:
        self._producer = self.new_producer()
        try:
            await self._producer.start()
        except Exception:
            await self._producer.stop()  # a broker out of reach: leave nothing open, the caller may retry
            self._producer = None
            raise

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
        if self._offsets is not None:
            admin, ends = self._offsets
            self._offsets = None
            await ends.stop()
            await admin.close()

    async def backlog(self, topic: str, groups: Sequence[str], *, at_most: int) -> int:
        """Each group's committed offsets (OffsetFetch: Describe on the group) against the partitions' ends and
        starts (Metadata and ListOffsets, by a consumer of no group: Describe on the topic). A group that has
        committed on some of the topic's partitions reads the others from their start (the readers reset to
        earliest), so those count whole: right after a bulk flow starts, a reader has committed on the partitions
        it reached first only, and counting those alone let thousands of events past the bulk lane (#24). A group
        that never committed on the topic counts 0, as the base contract says."""
        if self._offsets is None:
            admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, **self.security.client_args())
            ends = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None, enable_auto_commit=False,
                                    **self.security.client_args())
            await admin.start()
            try:
                await ends.start()
            except Exception:
                await admin.close()
                raise
            self._offsets = (admin, ends)
        admin, ends = self._offsets
        # The groups' offsets asked together: their coordinators may be different brokers, and a paced upload asks
        # between every batch.
        fetched = await asyncio.gather(*(admin.list_consumer_group_offsets(group) for group in groups))
        committed = {group: {tp: meta.offset for tp, meta in offsets.items() if tp.topic == topic and meta.offset >= 0}
                     for group, offsets in zip(groups, fetched, strict=True)}
        readers = [offsets for offsets in committed.values() if offsets]
        if not readers:
            return 0
        partitions = sorted(await self._partitions_of(admin, topic) | {tp for offsets in readers for tp in offsets})
        end: dict[TopicPartition, int] = await ends.end_offsets(partitions)
        # The starts only of partitions some reader has not committed on: once every reader reached every
        # partition (all of a bulk flow but its first seconds), a paced batch's poll asks one ListOffsets, not two.
        unread = [tp for tp in partitions if any(tp not in offsets for offsets in readers)]
        start: dict[TopicPartition, int] = await ends.beginning_offsets(unread) if unread else {}
        behind = max(sum(max(0, end[tp] - offsets.get(tp, start.get(tp, 0))) for tp in partitions)
                     for offsets in readers)
        return min(int(behind), at_most)

    async def ensure_topics(self, topics: list[str]) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, **self.security.client_args())
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            wanted = [t for t in topics if t not in existing]
            for topic in wanted:
                try:
                    await admin.create_topics([NewTopic(topic, self.partitions, 1)])
                except TopicAlreadyExistsError:
                    pass
        finally:
            await admin.close()

    async def publish(self, session: AsyncSession | None, messages: list[OutgoingMessage]) -> None:
        assert self._producer is not None, "transport not started"
        # The trace context an event was emitted under travels with it in the outbox. Sent under that context,
        # aiokafka's instrumentation makes the producer span its child and injects the producer span's own
        # traceparent into the headers, so ours is left out (one traceparent per record); without the
        # instrumentation the headers go as they are.
        instrumented = kafka_is_instrumented()
        futures = []
        for m in messages:
            headers = [(k, v.encode()) for k, v in m.headers.items() if not (instrumented and k in TRACE_HEADERS)]
            with publishing_under(extract_context(m.headers)):
                futures.append(await self._producer.send(
                    m.topic, m.envelope_json.encode() if m.value is None else m.value, key=m.key.encode(),
                    headers=headers,
                ))
        await asyncio.gather(*futures)

    def subscriber(self, group: str, topics: list[str], *, reads: frozenset[str] | None = None) -> Subscriber:
        return KafkaSubscriber(self.bootstrap, group, topics, self.security, reads)

    async def _partitions_of(self, admin: AIOKafkaAdminClient, topic: str) -> frozenset[TopicPartition]:
        """The topic's partitions (Metadata: Describe on the topic), asked again every PARTITIONS_KNOWN_S: a paced
        upload asks its backlog between every batch, and a topic's partitions are only ever added, by an operator.
        Those a reader has committed on are counted in any case."""
        known = self._partitions.get(topic)
        now = time.monotonic()
        if known is None or now - known[0] >= PARTITIONS_KNOWN_S:
            described = await admin.describe_topics([topic])
            found = frozenset(TopicPartition(topic, p["partition"]) for t in described for p in t["partitions"])
            if not found:  # not created yet: asked again next time
                return found
            known = self._partitions[topic] = (now, found)
        return known[1]

    async def replay_dlq(self, topic: str, *, limit: int | None = None) -> int:
        sub = KafkaSubscriber(self.bootstrap, f"{DLQ_REPLAY_GROUP}{topic}", [dlq_topic(topic)], self.security)
        await sub.start()
        replayed = 0
        try:
            while limit is None or replayed < limit:
                batch = await sub.fetch(max_records=500 if limit is None else min(500, limit - replayed),
                                        timeout_s=3.0)
                if not batch:
                    break
                await self.publish(None, [replayed_message(topic, m) for m in batch])
                await sub.commit(batch)
                replayed += len(batch)
        finally:
            await sub.stop()
        return replayed
