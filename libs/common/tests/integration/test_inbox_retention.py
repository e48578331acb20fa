"""Inbox retention against a real PostgreSQL and a real Kafka broker: old rows forgotten in bounded batches once the
consumer has applied a batch, the horizon recorded; a group reading from the start, from before it, refused (and
what it would have done without the refusal), a group far behind reading on; a replayed dead letter applied by its
consumer alone."""

import asyncio
import datetime as dt
import uuid
from dataclasses import replace
from decimal import Decimal

import pytest
from aiokafka.partitioner import DefaultPartitioner
from prometheus_client import REGISTRY
from sqlalchemy import text

from recaudo_common.bus.base import Message, read_record
from recaudo_common.bus.consumer import ConsumerRuntime, Subscriptions
from recaudo_common.bus.inbox_retention import InboxHorizonError, InboxRetention
from recaudo_common.db import Database
from recaudo_common.events import AccountPlaced, Envelope, topic_name
from recaudo_common.outbox import Outbox
from recaudo_common.runtime import Platform
from recaudo_common.testing import dead_letters, eventually, relay_all
from recaudo_common.testing_consumers import Recorder

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)
KEEP = dt.timedelta(days=45)


@pytest.fixture
def platform(platform_on_each_transport: Platform) -> Platform:
    return platform_on_each_transport


def placed(ref: str) -> Envelope:
    return AccountPlaced(account_ref=ref, portfolio_id=uuid.uuid4(), debtor_ref=None, personal=None, has_phone=False,
                         has_email=False, balance=Decimal("100.00"), currency="COP", days_past_due=40,
                         as_of=NOW.date(), authorised_channels=["sms"]).envelope(client="banco", occurred_at=NOW)


async def publish(platform: Platform, refs: list[str]) -> list[Envelope]:
    envelopes = [placed(ref) for ref in refs]
    async with platform.db.transaction() as s:
        await Outbox("ingest").add(s, envelopes)
    assert await relay_all(platform, "ingest") == len(envelopes)
    return envelopes


async def scalar(db: Database, query: str, **params: object) -> object:
    async with db.transaction() as s:
        return await s.scalar(text(query), params)


async def applied_refs(db: Database) -> list[str]:
    async with db.transaction() as s:
        return [r[0] for r in await s.execute(text("SELECT account_ref FROM reporting.payments ORDER BY 1"))]


def runtime(platform: Platform, recorder: Recorder, *, consumer: str = "recorder", group: str | None = None,
            keep: dt.timedelta | None = KEEP) -> ConsumerRuntime:
    subs = Subscriptions(consumer, "reporting", {AccountPlaced: recorder.handle}, group=group)
    return ConsumerRuntime(platform.db, platform.transport, subs, platform.settings.topic_prefix, lambda: NOW,
                           max_retries=1, backoff_s=0.01, inbox_keep=keep)


async def run_until(consumer: ConsumerRuntime, condition: object, timeout_s: float = 60) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        await eventually(condition, timeout_s=timeout_s, message="consumer effects")  # type: ignore[arg-type]
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def age(db: Database, consumer: str, event_ids: list[uuid.UUID], days: float) -> None:
    async with db.transaction() as s:
        await s.execute(text("UPDATE reporting.inbox SET processed_at = now() - make_interval(days => :d) "
                             "WHERE consumer = :c AND event_id = ANY(:e)"),
                        {"d": days, "c": consumer, "e": event_ids})


def gauge(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


async def test_the_consumer_forgets_its_own_old_rows_once_it_has_applied_a_batch(platform: Platform) -> None:
    old = await publish(platform, [f"OLD-{i}" for i in range(20)])
    await run_until(runtime(platform, Recorder(), keep=None), lambda: _count_is(platform.db, 20))
    await age(platform.db, "recorder", [e.event_id for e in old[:15]], 50)
    # Another consumer of the same schema: its rows are not this one's to forget, however old.
    async with platform.db.transaction() as s:
        await s.execute(text("INSERT INTO reporting.inbox (consumer, event_id, processed_at) "
                             "SELECT 'someone-else', gen_random_uuid(), now() - interval '90 days' "
                             "FROM generate_series(1, 5)"))
    before = gauge("recaudo_inbox_forgotten_total", service="recorder") or 0.0

    await publish(platform, ["NEW-1"])
    await run_until(runtime(platform, Recorder()), lambda: _inbox_count(platform.db, "recorder", 6))

    assert await _inbox_count(platform.db, "someone-else", 5)
    assert sorted(await applied_refs(platform.db)) == sorted([f"OLD-{i}" for i in range(20)] + ["NEW-1"])
    horizon = await scalar(platform.db, "SELECT forgotten_before FROM reporting.inbox_horizon WHERE consumer = :c",
                           c="recorder")
    database_now = await scalar(platform.db, "SELECT now()")
    assert isinstance(horizon, dt.datetime) and isinstance(database_now, dt.datetime)
    assert abs(horizon - (database_now - KEEP)) < dt.timedelta(minutes=5)
    assert gauge("recaudo_inbox_forgotten_total", service="recorder") == before + 15


async def _count_is(db: Database, n: int) -> bool:
    return len(await applied_refs(db)) == n


async def _inbox_count(db: Database, consumer: str, n: int) -> bool:
    return await scalar(db, "SELECT count(*) FROM reporting.inbox WHERE consumer = :c", c=consumer) == n


async def test_pruning_waits_for_a_batch_goes_in_bounded_batches_and_a_failure_never_stops_the_consumer(
        platform_on_postgres: Platform) -> None:
    db = platform_on_postgres.db
    async with db.transaction() as s:
        await s.execute(text("INSERT INTO reporting.inbox (consumer, event_id, processed_at) "
                             "SELECT 'late', gen_random_uuid(), now() - make_interval(days => age.days) "
                             "FROM generate_series(1, 12), (VALUES (40), (50), (80)) AS age(days)"))
    inbox = InboxRetention(db, "reporting", "late", "late", KEEP, every_s=3600, batch_rows=7, backlog_pause_s=0)
    assert await inbox.recorded_horizon() is None
    assert await inbox.prune_if_due() == 0, "nothing is forgotten before the consumer has applied a batch"
    inbox.applied()
    # 36 rows, 12 of them 40 days old: 24 forgotten, 7 a statement, then it waits `every_s`.
    assert [await inbox.prune_if_due() for _ in range(6)] == [7, 7, 7, 3, 0, 0]
    assert await _inbox_count(db, "late", 12)
    database_now = await scalar(db, "SELECT now()")
    horizon = await InboxRetention(db, "reporting", "late", "other-group", None).recorded_horizon()
    assert isinstance(database_now, dt.datetime) and horizon is not None
    assert abs(horizon - (database_now - KEEP)) < dt.timedelta(minutes=5), "recorded for every group of it"

    broken = InboxRetention(db, "no_such_schema", "late", "late", KEEP)
    broken.applied()
    assert await broken.prune_if_due() == 0, "a failing statement is logged and tried again later, never raised"


async def test_the_horizon_is_read_for_every_batch_read_from_the_start_and_reaches_the_retention(
        platform_on_postgres: Platform) -> None:
    db = platform_on_postgres.db
    database_now = await scalar(db, "SELECT now()")
    assert isinstance(database_now, dt.datetime)

    def from_the_start(days_ago: float) -> Message:
        return read_record("t.account", b"A-1", placed("A-1").model_dump_json().encode(), {}, 1,
                           database_now - dt.timedelta(days=days_ago), fresh=True)

    lane = InboxRetention(db, "reporting", "recorder", "recorder-lane", KEEP)
    await lane.check([from_the_start(40)])  # within the retention, nothing recorded: nothing forgotten yet
    with pytest.raises(InboxHorizonError):  # past the retention: may be forgotten at any moment
        await lane.check([from_the_start(46)])
    # Another group of the same consumer records forgetting up to 30 days ago: this one sees it at once.
    async with db.transaction() as s:
        await s.execute(text("INSERT INTO reporting.inbox_horizon VALUES ('recorder', now() - interval '30 days')"))
    with pytest.raises(InboxHorizonError, match="before its inbox's horizon"):
        await lane.check([from_the_start(29.99)])  # within CLOCK_SKEW after it counts as before it
    await lane.check([from_the_start(29.9)])
    unlimited = InboxRetention(db, "reporting", "recorder", "recorder-lane", None)
    with pytest.raises(InboxHorizonError):  # retention off here, but what was forgotten stays forgotten
        await unlimited.check([from_the_start(29.99)])
    await lane.check([replace(from_the_start(400), fresh=False)])  # where the group committed: never applied


async def test_a_group_reading_from_before_what_a_real_prune_forgot_is_refused(
        platform_on_postgres: Platform) -> None:
    platform = platform_on_postgres
    await publish(platform, [f"A-{i}" for i in range(10)])
    await run_until(runtime(platform, Recorder()), lambda: _count_is(platform.db, 10))
    async with platform.db.transaction() as s:  # as if fifty days had passed since
        await s.execute(text("UPDATE reporting.inbox SET processed_at = processed_at - interval '50 days'"))
        await s.execute(text("UPDATE bus.log SET appended_at = appended_at - interval '50 days'"))
    await publish(platform, ["B-1"])
    await run_until(runtime(platform, Recorder()), lambda: _inbox_count(platform.db, "recorder", 1))
    assert await scalar(platform.db, "SELECT count(*) FROM reporting.inbox_horizon") == 1

    await until_refused(runtime(platform, Recorder(), group="recorder-new-lane"))
    assert len(await applied_refs(platform.db)) == 11, "nothing applied twice"


async def test_a_group_reading_from_before_the_horizon_is_refused(platform: Platform) -> None:
    await publish(platform, [f"A-{i}" for i in range(10)])
    await run_until(runtime(platform, Recorder()), lambda: _count_is(platform.db, 10))
    # The inbox forgets those ten (as the retention would, much later) and says so.
    async with platform.db.transaction() as s:
        await s.execute(text("DELETE FROM reporting.inbox WHERE consumer = 'recorder'"))
        await s.execute(text("INSERT INTO reporting.inbox_horizon VALUES ('recorder', now() + interval '2 hours')"))

    # A new group of the same consumer (a lane added) reads the topic from its start: refused, nothing applied.
    await until_refused(runtime(platform, Recorder(), group="recorder-new-lane"))
    assert sorted(await applied_refs(platform.db)) == [f"A-{i}" for i in range(10)]

    # What the refusal prevents: without the horizon, the same group applies the ten again.
    async with platform.db.transaction() as s:
        await s.execute(text("DELETE FROM reporting.inbox_horizon"))
    await run_until(runtime(platform, Recorder(), group="recorder-new-lane", keep=None),
                    lambda: _count_is(platform.db, 20))
    assert gauge("recaudo_consumer_refusing", service="recorder", group="recorder-new-lane") == 0


async def until_refused(consumer: ConsumerRuntime) -> None:
    """Runs the consumer until it says it refuses (the gauge), then stops it: it waits, it does not exit."""
    group = consumer.subscriptions.group_name

    async def refusing() -> bool:
        return gauge("recaudo_consumer_refusing", service="recorder", group=group) == 1

    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        await eventually(refusing, message="the group refuses")
        assert not task.done(), "a refusing group waits rather than exit and rejoin at once"
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def test_records_after_the_horizon_are_read(platform: Platform) -> None:
    async with platform.db.transaction() as s:
        await s.execute(text("INSERT INTO reporting.inbox_horizon VALUES ('recorder', now() - interval '2 days')"))
    await publish(platform, ["A-1", "A-2"])
    await run_until(runtime(platform, Recorder()), lambda: _count_is(platform.db, 2))


async def test_a_group_far_behind_reads_on_whatever_the_horizon(platform: Platform) -> None:
    """Where its group has committed, what a consumer reads next was never applied, however old it is."""
    first = every_partition("B")
    await publish(platform, first)
    await run_until(runtime(platform, Recorder()), lambda: _count_is(platform.db, len(first)))
    behind = every_partition("C")
    await publish(platform, behind)
    async with platform.db.transaction() as s:  # forgotten up to after the records it has yet to read
        await s.execute(text("INSERT INTO reporting.inbox_horizon VALUES ('recorder', now() + interval '2 hours')"))
    await run_until(runtime(platform, Recorder()), lambda: _count_is(platform.db, len(first) + len(behind)))


def every_partition(prefix: str, partitions: int = 6) -> list[str]:
    """Account refs whose keys land on every partition of a topic (Kafka's default partitioner), so the group has
    committed an offset on each once it has read them."""
    refs: dict[int, str] = {}
    numbers = list(range(partitions))
    i = 0
    while len(refs) < partitions:
        ref = f"{prefix}-{i}"
        key = placed(ref).key  # banco/<ref>
        refs.setdefault(DefaultPartitioner()(key.encode(), numbers, numbers), ref)
        i += 1
    return sorted(refs.values())


async def test_a_replayed_dead_letter_is_applied_by_the_consumer_that_dead_lettered_it_alone(
        platform: Platform) -> None:
    prefix = platform.settings.topic_prefix
    (event,) = await publish(platform, ["A-1"])
    # `other` applies it (a row); `recorder` fails on it and dead-letters it.
    other = runtime(platform, Recorder(), consumer="other")
    await run_until(other, lambda: _count_is(platform.db, 1))
    failing = Recorder(fail_times=1_000)
    async with dead_letters(platform, topic_name(prefix, "account")) as dead:
        await run_until(runtime(platform, failing), dead.arrived)
    assert dead.letters[0].headers["recaudo-dlq-consumer"] == "recorder"

    # Long after, `other` has forgotten it; the letter is replayed.
    async with platform.db.transaction() as s:
        await s.execute(text("DELETE FROM reporting.inbox WHERE consumer = 'other'"))
    assert await platform.transport.replay_dlq(topic_name(prefix, "account")) == 1
    failing.fail_times = 0
    await run_until(runtime(platform, failing), lambda: _count_is(platform.db, 2))
    topic = topic_name(prefix, "account")
    passed = gauge("recaudo_events_consumed_total", service="other", topic=topic, outcome="ignored") or 0.0

    async def other_passed_it_by() -> bool:
        return gauge("recaudo_events_consumed_total", service="other", topic=topic, outcome="ignored") == passed + 1

    await run_until(other, other_passed_it_by)
    assert await applied_refs(platform.db) == ["A-1", "A-1"], "once by each consumer, not twice by `other`"
    assert await scalar(platform.db, "SELECT count(*) FROM reporting.inbox WHERE event_id = :e",
                        e=event.event_id) == 1

