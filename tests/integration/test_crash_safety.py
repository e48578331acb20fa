"""Crash safety: SIGKILL a consumer process in the middle of a stream, restart it, and every effect is
applied exactly once (segmentation's assignment history is append-only, so a duplicate would show)."""

import datetime as dt
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import text

from recaudo_common.events import AccountPlaced, ClientRegistered, PaymentApplied, topic_name
from recaudo_common.outbox import Outbox
from recaudo_common.runtime import Platform
from recaudo_common.testing import RunningProcess, eventually, platform_env, relay_all

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)
# Long enough that a worker applying a run of payments in a few statements (#24, thousands a second) is still
# mid-stream at each kill, which follows the count closely (every 20 ms).
ACCOUNTS, PAYMENTS = 300, 6000


@pytest.fixture
def platform(platform_on_each_transport: Platform) -> Platform:
    return platform_on_each_transport


async def publish_stream(p: Platform) -> int:
    client = ClientRegistered(slug="banco", name="Banco", country="CO", currency="COP", timezone="America/Bogota",
                              locale="es-CO", default_authorised_channels=["sms"])
    placements = [AccountPlaced(account_ref=f"A-{i}", portfolio_id=uuid.uuid4(), debtor_ref=None, personal=None, has_phone=False, has_email=False,
                                balance=Decimal("100000"), currency="COP", days_past_due=40, as_of=NOW.date(),
                                authorised_channels=["sms"]) for i in range(ACCOUNTS)]
    payments = [PaymentApplied(payment_id=uuid.uuid4(), account_ref=f"A-{i % ACCOUNTS}", amount=Decimal("10"),
                               currency="COP", paid_at=NOW, source="manual", new_balance=Decimal("99990"),
                               account_status="open") for i in range(PAYMENTS)]
    async with p.db.transaction() as s:
        await Outbox("ingest").add(s, [e.envelope(client="banco", occurred_at=NOW) for e in [client, *placements]])
        await Outbox("payments").add(s, [e.envelope(client="banco", occurred_at=NOW) for e in payments])
    for schema in ("ingest", "payments"):
        await relay_all(p, schema)
    return ACCOUNTS + PAYMENTS


async def count(p: Platform, sql: str) -> int:
    async with p.db.transaction() as s:
        return int(await s.scalar(text(sql)) or 0)


async def committed_to_the_end(p: Platform) -> bool:
    group = f"{p.settings.topic_prefix}.segmentation"
    topics = [topic_name(p.settings.topic_prefix, f) for f in ("client", "account", "payment")]
    if p.settings.transport == "postgres":
        behind = await count(p, f"""SELECT count(*) FROM bus.log l JOIN bus.consumer_offsets o
            ON o.topic = l.topic AND o.group_id = '{group}' WHERE l.position > o.position""")
        return behind == 0
    admin = AIOKafkaAdminClient(bootstrap_servers=p.settings.kafka_bootstrap)
    probe = AIOKafkaConsumer(bootstrap_servers=p.settings.kafka_bootstrap)
    await admin.start()
    await probe.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
        partitions = [TopicPartition(t, n) for t in topics for n in (probe.partitions_for_topic(t) or
                                                                      await _partitions(probe, t))]
        ends = await probe.end_offsets(partitions)
        return all((committed.get(tp).offset if committed.get(tp) else 0) >= end for tp, end in ends.items())
    finally:
        await probe.stop()
        await admin.close()


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    await consumer._client.force_metadata_update()  # aiokafka has no public metadata refresh
    return consumer.partitions_for_topic(topic) or set()


async def test_sigkill_mid_stream_loses_and_duplicates_nothing(platform: Platform, tmp_path: Path) -> None:
    total = await publish_stream(platform)
    worker = RunningProcess(["serve", "segmentation", "--role", "worker", "--no-migrate"],
                            platform_env(platform.settings), tmp_path / "worker.log")
    # The inbox counts what the worker applied; outcomes (one row per payment) and placement assignments
    # (one per account) are append-only effects whose exact counts do not depend on how topics interleave.
    applied = "SELECT count(*) FROM segmentation.inbox"
    kills = []
    try:
        for fraction in (0.2, 0.55):
            worker.start()
            # Past the fraction, and past the previous kill: a batch commits hundreds at once, so the first run may
            # already be beyond the second fraction, and a kill before any progress would prove nothing.
            at_least = max(int(total * fraction), kills[-1] + 1 if kills else 0)
            seen = await eventually(lambda n=at_least: _at_least(platform, applied, n), timeout_s=180,
                                    interval_s=0.02, message=f"{fraction:.0%} of the stream processed")
            worker.kill()
            kills.append(seen)
        done_before_restart = await count(platform, applied)
        assert done_before_restart < total, "the stream finished before the kill; the test would prove nothing"
        worker.start()
        await eventually(lambda: _at_least(platform, applied, total + 1), timeout_s=240,
                         message=f"all {total} events applied after restarts\n{worker.log_tail()}")
        await eventually(lambda: committed_to_the_end(platform), timeout_s=120, message="offsets committed")
    finally:
        worker.stop()
    # Exactly once: no loss, no duplicate.
    assert await count(platform, "SELECT count(*) FROM segmentation.outcomes") == PAYMENTS
    assert await count(platform, "SELECT count(*) FROM segmentation.assignments WHERE trigger = 'placement'") == ACCOUNTS
    assert await count(platform, "SELECT count(*) FROM segmentation.inbox") == total + 1  # + the client event
    assert await count(platform, "SELECT count(DISTINCT event_id) FROM segmentation.inbox") == total + 1
    assert worker.starts == 3 and kills[0] < kills[1]


async def _at_least(p: Platform, sql: str, n: int) -> int:
    value = await count(p, sql)
    return value if value >= n else 0
