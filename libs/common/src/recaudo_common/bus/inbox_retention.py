"""Inbox retention: a consumer forgets the event ids it applied long ago, and refuses to read an event from before
what it forgot.

Every event a consumer applies leaves its `(consumer, event_id)` row in the inbox; that row is what makes a second
delivery a no-op. Kept for ever they outgrow every other table (docs/scaling.md: ~3.5 KB per account, ~35 GB a day
at 10 M accounts). Where second deliveries come from, and why `RECAUDO_INBOX_RETENTION_DAYS` (45 by default)
covers each:

- the batch a consumer applied but had not yet committed the offsets of when it stopped: read again by the next
  member of its group. The pruner runs in the consumer's own loop and only once that consumer has applied a
  batch since it started, so however long a whole group was down, nothing of its last batch is forgotten first;
- an event a relay published twice (it stopped between the broker's ack and its delete): minutes apart;
- a dead letter replayed onto its topic (`recaudo dlq replay`): it carries `recaudo-replay-for`, the consumer that
  dead-lettered it, and every other consumer passes it by (they applied the event, or dead-lettered it with a
  letter of their own). Its own consumer keeps the row of the first replay longer than the dead-letter topics
  keep the letter (30 days, plus up to 7 days before Kafka rolls the segment), so a second replay of it is
  still a duplicate;
- a group that reads a topic from its start again, because the broker dropped its offsets (a group empty for
  longer than `offsets.retention.minutes`, which deploy/k8s sets past this retention) or because it is new (a lane
  added to a consumer). No window covers that, so once a consumer has forgotten anything it records how far
  (`inbox_horizon`), and a record older than that makes it stop (`InboxHorizonError`, the alert
  RecaudoConsumerRefusing and its runbook) rather than apply again what it may already have applied.

The database's clock decides both what is old enough and the horizon, as it stamps `processed_at` and the embedded
log's `appended_at`; Kafka's records carry their producer's time, hence the CLOCK_SKEW allowance.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from recaudo_common.bus.base import REPLAY_FOR, Message
from recaudo_common.db import Database, sql
from recaudo_common.telemetry import CONSUMER_REFUSING, INBOX_FORGOTTEN

log = logging.getLogger("recaudo.bus.inbox")

PRUNE_EVERY_S = 600.0  # a consumer looks for rows to forget this often (sooner while a pass finds a full batch)
BATCH_ROWS = 5000  # rows forgotten per statement: a short transaction between two of the consumer's batches
# How far the clocks stamping records (Kafka's producers) and the database's may disagree. The horizon is kept this
# far before the oldest record the consumer is reading, and a record counts as before the horizon this far after.
CLOCK_SKEW = dt.timedelta(hours=1)


def inbox_retention_ddl(schema: str) -> list[str]:
    """What inbox retention needs in a service's schema: a BRIN index on the time rows were written (the inbox is
    written in time order, so a few pages say where the old rows are and every insert pays almost nothing), and
    how far each consumer of the schema has forgotten."""
    return [
        f"CREATE INDEX IF NOT EXISTS inbox_processed_at ON {schema}.inbox USING brin (processed_at)",
        f"""CREATE TABLE IF NOT EXISTS {schema}.inbox_horizon (
            consumer text PRIMARY KEY,
            forgotten_before timestamptz NOT NULL)""",
    ]


class InboxHorizonError(Exception):
    """A record from before what the consumer's inbox has forgotten: applying it could apply an event twice."""

    def __init__(self, consumer: str, message: Message, horizon: dt.datetime) -> None:
        super().__init__(
            f"consumer {consumer} was given a record of {message.topic} at {message.position} appended "
            f"{message.appended_at:%Y-%m-%dT%H:%M:%SZ}, before its inbox's horizon {horizon:%Y-%m-%dT%H:%M:%SZ}: "
            "its group reads from further back than it has ever been (offsets lost, or a new group); "
            "see docs/runbooks/RecaudoConsumerRefusing.md")
        self.consumer = consumer


@dataclass
class InboxRetention:
    """One consumer group's side of its inbox's retention: the horizon check before each batch, and the pruning
    between batches. `keep` of None keeps every row (nothing is forgotten; the horizon is still checked, since an
    earlier configuration may have forgotten some)."""

    db: Database
    schema: str
    consumer: str
    group: str
    keep: dt.timedelta | None
    every_s: float = PRUNE_EVERY_S
    batch_rows: int = BATCH_ROWS
    horizon: dt.datetime | None = None
    _oldest_reading: dt.datetime | None = field(default=None, init=False)
    _applied: bool = field(default=False, init=False)
    _next_at: float = field(default=0.0, init=False)

    async def load(self) -> None:
        """Reads how far this consumer has forgotten (None: never)."""
        async with self.db.transaction() as session:
            self.horizon = await session.scalar(
                sql(f"SELECT forgotten_before FROM {self.schema}.inbox_horizon WHERE consumer = :c"),
                {"c": self.consumer})

    def check(self, messages: Sequence[Message]) -> None:
        """Raises InboxHorizonError for a batch holding a record from before the horizon."""
        if self.horizon is None:
            return
        limit = self.horizon + CLOCK_SKEW
        for message in messages:
            if message.appended_at is not None and message.appended_at < limit:
                CONSUMER_REFUSING.labels(self.consumer, self.group).set(1)
                raise InboxHorizonError(self.consumer, message, self.horizon)

    def applied(self, messages: Sequence[Message]) -> None:
        """A batch was applied and its offsets committed: pruning may begin, and it keeps what is still being read
        (a consumer far behind reads records older than the retention; their rows are not forgotten under it)."""
        self._applied = True
        CONSUMER_REFUSING.labels(self.consumer, self.group).set(0)  # set while it refuses, across its restarts
        stamps = [m.appended_at for m in messages if m.appended_at is not None]
        if stamps:
            self._oldest_reading = min(stamps)

    async def prune_if_due(self) -> int:
        """Forgets one batch of rows older than the retention when it is time to; returns how many."""
        if self.keep is None or not self._applied or time.monotonic() < self._next_at:
            return 0
        forgotten = await self.prune_once()
        self._next_at = time.monotonic() + (0.0 if forgotten >= self.batch_rows else self.every_s)
        return forgotten

    async def prune_once(self) -> int:
        """One statement's worth: rows of this consumer written before the cutoff (now less the retention, and
        never later than CLOCK_SKEW twice before the oldest record it is reading), and the horizon moved with them.
        One replica of a consumer prunes at a time (an advisory lock per consumer)."""
        assert self.keep is not None
        cap = None if self._oldest_reading is None else self._oldest_reading - 2 * CLOCK_SKEW
        async with self.db.transaction() as session:
            if not await session.scalar(sql("SELECT pg_try_advisory_xact_lock(hashtext(:k))"),
                                        {"k": f"recaudo.inbox.{self.schema}.{self.consumer}"}):
                return 0
            row = (await session.execute(sql(
                f"""WITH cutoff AS (SELECT least(now() - make_interval(secs => :keep_s),
                                                  CAST(:cap AS timestamptz)) AS before),
                         gone AS (DELETE FROM {self.schema}.inbox WHERE ctid = ANY(ARRAY(
                                    SELECT i.ctid FROM {self.schema}.inbox i, cutoff
                                    WHERE i.consumer = :c AND i.processed_at < cutoff.before LIMIT :n))
                                  RETURNING processed_at)
                    SELECT (SELECT count(*) FROM gone) AS n, (SELECT before FROM cutoff) AS before"""),
                {"keep_s": self.keep.total_seconds(), "cap": cap, "c": self.consumer, "n": self.batch_rows},
            )).one()
            forgotten = int(row.n)
            if forgotten:
                self.horizon = await session.scalar(sql(
                    f"""INSERT INTO {self.schema}.inbox_horizon (consumer, forgotten_before) VALUES (:c, :h)
                        ON CONFLICT (consumer) DO UPDATE
                        SET forgotten_before = GREATEST(inbox_horizon.forgotten_before, EXCLUDED.forgotten_before)
                        RETURNING forgotten_before"""), {"c": self.consumer, "h": row.before})
        if forgotten:
            INBOX_FORGOTTEN.labels(self.consumer).inc(forgotten)
            log.info("inbox rows forgotten", extra={"fields": {
                "consumer": self.consumer, "forgotten": forgotten,
                "horizon": self.horizon.isoformat() if self.horizon else None}})
        return forgotten


def passed_by(message: Message, consumer: str) -> bool:
    """Whether a replayed dead letter is another consumer's to apply (see the module's docstring)."""
    meant_for = message.headers.get(REPLAY_FOR)
    return meant_for is not None and meant_for != consumer
