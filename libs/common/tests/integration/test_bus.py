"""The bus contract on both transports, against a real PostgreSQL and a real Kafka broker:
outbox -> relay -> topic -> consumer, idempotent by event_id, retries then DLQ, DLQ replay."""

import asyncio
import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from recaudo_common.bus.consumer import ConsumerRuntime, Subscriptions
from recaudo_common.bus.relay import RelayCursor, relay_once
from recaudo_common.db import Database
from recaudo_common.events import AccountPlaced, ClientRegistered, Envelope, topic_name
from recaudo_common.outbox import Outbox
from recaudo_common.runtime import Platform
from recaudo_common.testing import dead_letters, eventually, read_and_commit, relay_all
from recaudo_common.testing_consumers import Recorder

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def platform(platform_on_each_transport: Platform) -> Platform:
    return platform_on_each_transport


def placed(ref: str, balance: str = "1000.00") -> AccountPlaced:
    return AccountPlaced(account_ref=ref, portfolio_id=uuid.uuid4(), debtor_ref=None, personal=None, has_phone=False, has_email=False,
                         balance=Decimal(balance), currency="COP", days_past_due=40, as_of=NOW.date(),
                         authorised_channels=["sms"])


async def emit(db: Database, envelopes: list[Envelope], schema: str = "ingest") -> None:
    async with db.transaction() as s:
        await Outbox(schema).add(s, envelopes)


async def rows(db: Database) -> list[tuple[str, Decimal]]:
    async with db.transaction() as s:
        return [(r[0], r[1]) for r in await s.execute(
            text("SELECT account_ref, amount FROM reporting.payments ORDER BY account_ref"))]


async def run_consumer_until(runtime: ConsumerRuntime, condition: Any, timeout_s: float = 60) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(runtime.run(stop))
    try:
        await eventually(condition, timeout_s=timeout_s, message="consumer effects")
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def test_events_flow_once_each_even_when_delivered_twice(platform: Platform) -> None:
    recorder = Recorder()
    subs = Subscriptions("recorder", "reporting", {AccountPlaced: recorder.handle})
    envelopes = [placed(f"A-{i:03d}", f"{i}.10").envelope(client="banco", occurred_at=NOW) for i in range(1, 51)]
    await emit(platform.db, envelopes)
    await emit(platform.db, envelopes[:10])  # the same event_ids again: a redelivery after a relay crash
    assert await relay_all(platform, "ingest") == 60
    runtime = ConsumerRuntime(platform.db, platform.transport, subs, platform.settings.topic_prefix, lambda: NOW,
                              max_retries=2, backoff_s=0.01)

    async def all_applied() -> bool:
        return len(await rows(platform.db)) >= 50

    await run_consumer_until(runtime, all_applied)
    got = await rows(platform.db)
    assert got == [(f"A-{i:03d}", Decimal(f"{i}.10")) for i in range(1, 51)]


async def test_failures_retry_then_dead_letter_then_replay(platform: Platform) -> None:
    recorder = Recorder(fail_times=1_000)
    subs = Subscriptions("recorder", "reporting", {AccountPlaced: recorder.handle})
    prefix = platform.settings.topic_prefix
    await emit(platform.db, [placed("A-1").envelope(client="banco", occurred_at=NOW)])
    await relay_all(platform, "ingest")
    runtime = ConsumerRuntime(platform.db, platform.transport, subs, prefix, lambda: NOW, max_retries=2,
                              backoff_s=0.01)
    async with dead_letters(platform, topic_name(prefix, "account")) as dead:
        await run_consumer_until(runtime, dead.arrived)
    letters = dead.letters
    assert letters[0].envelope.type == "account.placed"
    assert "simulated handler failure" in letters[0].headers["recaudo-dlq-error"]
    assert letters[0].headers["recaudo-dlq-consumer"] == "recorder"
    assert await rows(platform.db) == []

    recorder.fail_times = 0  # the operator fixed the cause; replay puts the event back on its topic
    assert await platform.transport.replay_dlq(topic_name(prefix, "account")) == 1

    async def applied() -> bool:
        return len(await rows(platform.db)) == 1

    await run_consumer_until(runtime, applied)
    assert await rows(platform.db) == [("A-1", Decimal("1000.00"))]


async def test_a_replay_puts_back_at_most_its_limit_and_the_next_one_the_rest(platform: Platform) -> None:
    prefix = platform.settings.topic_prefix
    topic = topic_name(prefix, "account")
    await emit(platform.db, [placed(f"A-{i}").envelope(client="banco", occurred_at=NOW) for i in range(3)])
    await relay_all(platform, "ingest")
    runtime = ConsumerRuntime(platform.db, platform.transport,
                              Subscriptions("recorder", "reporting", {AccountPlaced: Recorder(fail_times=1_000).handle}),
                              prefix, lambda: NOW, max_retries=0, backoff_s=0.01)
    async with dead_letters(platform, topic) as dead:
        async def all_three() -> bool:
            await dead.arrived()  # the embedded log's reader reads again what it has not committed: counted once
            return len({letter.envelope.event_id for letter in dead.letters}) == 3

        await run_consumer_until(runtime, all_three)
    assert await platform.transport.replay_dlq(topic, limit=2) == 2
    assert await platform.transport.replay_dlq(topic, limit=2) == 1
    assert await platform.transport.replay_dlq(topic) == 0


async def test_client_settings_are_copied_by_each_service(platform: Platform) -> None:
    from recaudo_common.client_copy import client_copy_handlers, get_client

    event = ClientRegistered(slug="banco", name="Banco", country="CO", currency="COP", timezone="America/Bogota",
                             locale="es-CO", default_authorised_channels=["sms", "email"])
    await emit(platform.db, [event.envelope(client="banco", occurred_at=NOW)])
    await relay_all(platform, "ingest")
    for schema in ("payments", "reporting"):
        runtime = ConsumerRuntime(platform.db, platform.transport,
                                  Subscriptions(schema, schema, client_copy_handlers(schema)),
                                  platform.settings.topic_prefix, lambda: NOW)

        async def copied(schema: str = schema) -> bool:
            async with platform.db.transaction() as s:
                return await get_client(s, schema, "banco") is not None

        await run_consumer_until(runtime, copied)
        async with platform.db.transaction() as s:
            copy = await get_client(s, schema, "banco")
        assert copy is not None and copy.timezone == "America/Bogota"
        assert copy.default_authorised_channels == ("sms", "email")


async def relay_with(p: Platform, cursor: RelayCursor) -> int:
    return await relay_once(p.db, p.transport, schema="ingest", prefix=p.settings.topic_prefix, cursor=cursor)


async def consumed_refs(p: Platform, expected: int) -> list[str]:
    runtime = ConsumerRuntime(p.db, p.transport, Subscriptions("recorder", "reporting", {AccountPlaced: Recorder().handle}),
                              p.settings.topic_prefix, lambda: NOW, max_retries=2, backoff_s=0.01)

    async def all_applied() -> bool:
        return len(await rows(p.db)) >= expected

    await run_consumer_until(runtime, all_applied)
    return sorted(ref for ref, _ in await rows(p.db))


def envelopes(*refs: str) -> list[Envelope]:
    return [placed(ref).envelope(client="banco", occurred_at=NOW) for ref in refs]


async def test_a_late_commit_behind_the_relay_cursor_goes_out_on_the_next_scan(platform: Platform) -> None:
    """A transaction takes an outbox id, others take higher ones and are relayed before it commits: the cursor
    has passed it, so the relay keeps its id as a gap and looks it up on every scan. Every event goes out once."""
    now = [0.0]
    cursor = RelayCursor(rescan_every_s=3600.0, clock=lambda: now[0])
    await emit(platform.db, envelopes("A-100"))
    assert await relay_with(platform, cursor) == 1
    async with platform.db.transaction() as late:
        await Outbox("ingest").add(late, envelopes("A-000"))  # takes the next id and holds it uncommitted
        await emit(platform.db, envelopes("A-001", "A-002", "A-003"))
        assert await relay_with(platform, cursor) == 3
        assert await relay_with(platform, cursor) == 0
    assert await relay_with(platform, cursor) == 1  # committed now: found by its id, no rescan needed
    assert await consumed_refs(platform, 5) == ["A-000", "A-001", "A-002", "A-003", "A-100"]


async def test_a_commit_later_than_the_gap_wait_goes_out_with_the_full_rescan(platform: Platform) -> None:
    now = [0.0]
    cursor = RelayCursor(rescan_every_s=600.0, gap_wait_s=30.0, clock=lambda: now[0])
    await emit(platform.db, envelopes("A-100"))
    assert await relay_with(platform, cursor) == 1
    async with platform.db.transaction() as late:
        await Outbox("ingest").add(late, envelopes("A-000"))
        await emit(platform.db, envelopes("A-001"))
        assert await relay_with(platform, cursor) == 1
        now[0] += 31.0  # a long transaction: its gap is let go
        assert await relay_with(platform, cursor) == 0
    assert await relay_with(platform, cursor) == 0  # behind the cursor and no longer looked up
    async with platform.db.transaction() as s:
        assert await s.scalar(text("SELECT count(*) FROM ingest.outbox")) == 1  # waiting, not lost
    now[0] = 600.0
    assert await relay_with(platform, cursor) == 1
    assert await consumed_refs(platform, 3) == ["A-000", "A-001", "A-100"]


async def test_the_backlog_is_what_the_furthest_behind_reader_has_yet_to_read(platform: Platform) -> None:
    topic = topic_name(platform.settings.topic_prefix, "account")
    # One account's events: one partition on Kafka, so a reader that read 10 has committed where the rest are.
    await emit(platform.db, [placed("A-1", f"{i}.00").envelope(client="banco", occurred_at=NOW) for i in range(30)])
    assert await relay_all(platform, "ingest") == 30
    await read_and_commit(platform, "behind", topic, 10)
    await read_and_commit(platform, "caught-up", topic, 30)
    backlog = platform.transport.backlog
    assert await backlog(topic, ["behind", "caught-up"], at_most=1000) == 20
    assert await backlog(topic, ["caught-up"], at_most=1000) == 0
    assert await backlog(topic, ["behind"], at_most=5) == 5  # counted no further than asked
    assert await backlog(topic, ["never-read-it"], at_most=1000) == 0
    assert await backlog(topic_name(platform.settings.topic_prefix, "payment"), ["behind"], at_most=1000) == 0
    await emit(platform.db, [placed("A-1", f"{i}.50").envelope(client="banco", occurred_at=NOW) for i in range(7)])
    assert await relay_all(platform, "ingest") == 7
    assert await backlog(topic, ["behind", "caught-up"], at_most=1000) == 27
    assert await backlog(topic, ["caught-up"], at_most=1000) == 7


async def test_a_reader_that_reached_only_some_partitions_is_behind_by_the_others_whole(platform: Platform) -> None:
    """On Kafka a reader commits per partition: one that has read one account's partition and not yet the others
    is behind by every event of those (it reads them from their start), not by nothing (#24: counting the
    committed partitions alone let a bulk upload's first thousands of events past the bulk lane)."""
    topic = topic_name(platform.settings.topic_prefix, "account")
    await emit(platform.db, [placed("A-1", f"{i}.00").envelope(client="banco", occurred_at=NOW) for i in range(5)])
    assert await relay_all(platform, "ingest") == 5
    await read_and_commit(platform, "reader", topic, 5)  # A-1's partition only
    # Twenty other accounts: on Kafka their keys spread over the topic's partitions, most of them others.
    await emit(platform.db, [placed(f"B-{i}").envelope(client="banco", occurred_at=NOW) for i in range(20)])
    assert await relay_all(platform, "ingest") == 20
    assert await platform.transport.backlog(topic, ["reader"], at_most=1000) == 20
