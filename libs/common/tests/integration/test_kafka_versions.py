"""Smoke test of the Kafka transport against the older supported broker line (3.9.x)."""

import uuid

import pytest

from recaudo_common.bus.base import OutgoingMessage
from recaudo_common.bus.kafka import KafkaTransport
from recaudo_common.testing import eventually, required_env

pytestmark = pytest.mark.integration


async def test_produce_consume_commit_on_kafka_3_9() -> None:
    bootstrap = required_env("RECAUDO_KAFKA39_BOOTSTRAP", "Kafka 3.9 broker")
    topic = f"smoke.{uuid.uuid4().hex[:8]}"
    transport = KafkaTransport(bootstrap, partitions=3)
    await transport.start()
    await transport.ensure_topics([topic])
    envelopes = [
        {"event_id": str(uuid.uuid4()), "type": "account.placed", "version": 1, "occurred_at": "2026-03-04T15:00:00Z",
         "client": "c", "key": f"c/{i}", "correlation_id": str(uuid.uuid4()), "causation_id": None,
         "payload": {"n": i}}
        for i in range(20)
    ]
    import json

    await transport.publish(None, [OutgoingMessage(topic, e["key"], json.dumps(e), {"traceparent": "x"})  # type: ignore[arg-type]
                                   for e in envelopes])
    sub = transport.subscriber(f"g.{topic}", [topic])
    await sub.start()
    got: list[int] = []

    async def all_read() -> bool:
        batch = await sub.fetch(max_records=100, timeout_s=1)
        got.extend(m.envelope.payload["n"] for m in batch)
        if batch:
            await sub.commit(batch)
        return len(got) >= 20

    await eventually(all_read, timeout_s=60, message="20 events from Kafka 3.9")
    assert sorted(got) == list(range(20))
    assert await sub.lag() == 0
    await sub.stop()
    await transport.stop()
