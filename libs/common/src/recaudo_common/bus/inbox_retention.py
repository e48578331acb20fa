"""Inbox retention: a consumer forgets the event ids it applied long ago, and refuses to read from the start what it
may have forgotten.

Every event a consumer applies leaves its `(consumer, event_id)` row in the inbox; that row is what makes a second
delivery a no-op. Kept for ever they outgrow every other table (docs/scaling.md: ~3.5 KB per account, ~35 GB a day
at 10 M accounts). Where second deliveries come from, and why `RECAUDO_INBOX_RETENTION_DAYS` (45 by default)
covers each:

- the batch a consumer applied but had not yet committed the offsets of when it stopped: read again by the next
  member of its group. Rows go by when they were written (`processed_at`), not by the event's age, so a consumer
  far behind keeps the rows of what it is applying now; and a group prunes only once it has applied a batch since it
  started, so however long the whole service was down, nothing of its last batch is forgotten before it is read
  again;
- an event a relay published twice (it stopped between the broker's ack and its delete): minutes apart;
- a dead letter replayed onto its topic (`recaudo dlq replay`): it carries `recaudo-replay-for`, the consumer that
  dead-lettered it, and every other consumer passes it by (they applied the event, or dead-lettered it with a
  letter of their own). Its own consumer keeps the row of the first replay longer than the dead-letter topics
  keep the letter (30 days, plus up to 7 days before Kafka rolls the segment), so a second replay of it is
  still a duplicate;
- a group that reads a topic from its start, where it has committed no offset (`Message.fresh`): the broker dropped
  its offsets (a group empty for longer than `offsets.retention.minutes`, which deploy/k8s sets past this
  retention), or it is new (a lane added to a consumer). No window covers that, so such a record from before the
  horizon stops the group (`InboxHorizonError`, the alert RecaudoConsumerRefusing and its runbook) rather than
  being applied again. The horizon is the later of what the consumer has recorded forgetting (`inbox_horizon`,
  read again for every such batch: another group or replica of the consumer may have moved it) and the retention
  back from now (what may be forgotten at any moment, wherever the pruner has got to). Where a group has
  committed, what it reads next was never applied, however old: a consumer far behind reads on.

The database's clock stamps `processed_at` and the embedded log's `appended_at`, and decides what is old enough to
forget; Kafka's records carry their producer's time and the check reads this host's: CLOCK_SKEW allows for both.
Every process of a service must have the same retention: the setting is the platform's.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from recaudo_common.bus.base import REPLAY_FOR, Message
from recaudo_common.db import Database, is_transient, sql
from recaudo_common.telemetry import CONSUMER_REFUSING, INBOX_FORGOTTEN

log = logging.getLogger("recaudo.bus.inbox")

PRUNE_EVERY_S = 600.0  # a consumer looks for rows to forget this often
# Rows forgotten per statement (a short transaction between two of the consumer's batches), and the pause after a
# full one: up to 5,000 a second for each consumer catches up with a backlog (the first days after an upgrade) and
# keeps up with ~870 rows a second at 10 M accounts a day (reporting's, the most), without a lane waiting long.
BATCH_ROWS = 5000
BACKLOG_PAUSE_S = 1.0
# How far the clocks stamping records and the ones judging them may disagree: a record counts as from before the
# horizon this far after it.
CLOCK_SKEW = dt.timedelta(hours=1)
_LOCKS = 7_211_003  # advisory lock class of the pruners (two-key form: a space of its own), one per consumer


def inbox_horizon_ddl(schema: str) -> str:
    """How far each consumer of a schema has forgotten."""
    return f"""CREATE TABLE IF NOT EXISTS {schema}.inbox_horizon (
                 consumer text PRIMARY KEY,
                 forgotten_before timestamptz NOT NULL)"""


# The index the pruner walks: each consumer's rows in the order they were written, so a statement reads the oldest
# rows and nothing else (a BRIN index would not do: rows written later reuse the space of those forgotten, and its
# ranges, which only ever widen, soon all reach back to the oldest day). Its name, and what follows ON.
INBOX_BY_TIME = ("inbox_processed_at", "inbox (consumer, processed_at)")


def inbox_retention_ddl(schema: str) -> list[str]:
    """Inbox retention's tables and index for a schema made fresh (a rebuild's); a service's migration builds the
    index concurrently instead, as its inbox may be large."""
    name, definition = INBOX_BY_TIME
    return [inbox_horizon_ddl(schema), f"CREATE INDEX IF NOT EXISTS {name} ON {schema}.{definition}"]


class InboxHorizonError(Exception):
    """A record read from the start, from before what the consumer's inbox may have forgotten."""

    def __init__(self, consumer: str, message: Message, horizon: dt.datetime) -> None:
        super().__init__(
            f"consumer {consumer} was given a record of {message.topic} at {message.position} appended "
            f"{message.appended_at:%Y-%m-%dT%H:%M:%SZ}, before its inbox's horizon {horizon:%Y-%m-%dT%H:%M:%SZ}, "
            "where its group has committed no offset (offsets lost, or a new group): it stops rather than apply "
            "it twice; see docs/runbooks/RecaudoConsumerRefusing.md")
        self.consumer = consumer


@dataclass
class InboxRetention:
    """One consumer group's side of its inbox's retention: the horizon check before each batch, and the pruning
    between batches. `keep` of None keeps every row here (the horizon recorded is still checked: an earlier
    configuration may have forgotten some)."""

    db: Database
    schema: str
    consumer: str
    group: str
    keep: dt.timedelta | None
    every_s: float = PRUNE_EVERY_S
    batch_rows: int = BATCH_ROWS
    backlog_pause_s: float = BACKLOG_PAUSE_S
    _applied: bool = field(default=False, init=False)
    _next_at: float = field(default=0.0, init=False)

    async def recorded_horizon(self) -> dt.datetime | None:
        """How far this consumer has recorded forgetting (None: never)."""
        async with self.db.transaction() as session:
            found: dt.datetime | None = await session.scalar(
                sql(f"SELECT forgotten_before FROM {self.schema}.inbox_horizon WHERE consumer = :c"),
                {"c": self.consumer})
        return found

    async def check(self, messages: Sequence[Message]) -> None:
        """Raises InboxHorizonError for a batch holding a record its group reads from the start (fresh) from before
        the horizon. One read of the recorded horizon for a batch with such records; nothing for the others."""
        fresh = [m for m in messages if m.fresh and m.appended_at is not None]
        if not fresh:
            return
        candidates = [h for h in (await self.recorded_horizon(),
                                  dt.datetime.now(dt.UTC) - self.keep if self.keep else None) if h is not None]
        if not candidates:
            return
        horizon = max(candidates)
        for message in fresh:
            assert message.appended_at is not None
            if message.appended_at < horizon + CLOCK_SKEW:
                CONSUMER_REFUSING.labels(self.consumer, self.group).set(1)
                raise InboxHorizonError(self.consumer, message, horizon)

    def applied(self) -> None:
        """A batch was applied and its offsets committed: pruning may begin. The first one also shows the group
        not refusing (the gauge at 0, not absent); a refusal stops the member for good, so nothing sets it back."""
        if not self._applied:
            self._applied = True
            CONSUMER_REFUSING.labels(self.consumer, self.group).set(0)

    async def prune_if_due(self) -> int:
        """Forgets one statement's worth of rows older than the retention when it is time to; returns how many. A
        failure is logged and tried again at the next turn: it never stops the consumer."""
        if self.keep is None or not self._applied or time.monotonic() < self._next_at:
            return 0
        try:
            forgotten = await self.prune_once()
        except Exception as exc:  # the consumer's work comes first; the rows wait for the next turn
            self._next_at = time.monotonic() + self.every_s
            log.warning("inbox rows not forgotten this turn", extra={"fields": {
                "consumer": self.consumer, "error": type(exc).__name__, "transient": is_transient(exc)}})
            return 0
        self._next_at = time.monotonic() + (self.backlog_pause_s if forgotten >= self.batch_rows else self.every_s)
        return forgotten

    async def prune_once(self) -> int:
        """One statement's worth: rows of this consumer written before now less the retention, oldest first, and
        the horizon moved with them, in one transaction. One group or replica of a consumer prunes at a time."""
        assert self.keep is not None
        async with self.db.transaction() as session:
            if not await session.scalar(sql("SELECT pg_try_advisory_xact_lock(:class, hashtext(:k))"),
                                        {"class": _LOCKS, "k": f"{self.schema}.{self.consumer}"}):
                return 0
            row = (await session.execute(sql(
                f"""WITH cutoff AS (SELECT now() - make_interval(secs => :keep_s) AS before),
                         gone AS (DELETE FROM {self.schema}.inbox WHERE ctid = ANY(ARRAY(
                                    SELECT i.ctid FROM {self.schema}.inbox i, cutoff
                                    WHERE i.consumer = :c AND i.processed_at < cutoff.before
                                    ORDER BY i.processed_at LIMIT :n))
                                  RETURNING 1)
                    SELECT (SELECT count(*) FROM gone) AS n, (SELECT before FROM cutoff) AS before"""),
                {"keep_s": self.keep.total_seconds(), "c": self.consumer, "n": self.batch_rows},
            )).one()
            forgotten = int(row.n)
            if forgotten:
                await session.execute(sql(
                    f"""INSERT INTO {self.schema}.inbox_horizon (consumer, forgotten_before) VALUES (:c, :h)
                        ON CONFLICT (consumer) DO UPDATE
                        SET forgotten_before = GREATEST(inbox_horizon.forgotten_before, EXCLUDED.forgotten_before)"""),
                    {"c": self.consumer, "h": row.before})
        if forgotten:
            INBOX_FORGOTTEN.labels(self.consumer).inc(forgotten)
            log.info("inbox rows forgotten", extra={"fields": {"consumer": self.consumer, "forgotten": forgotten}})
        return forgotten


async def refused(error: InboxHorizonError, stop: asyncio.Event) -> None:
    """A group member that refused, its subscriber already stopped (it has left its group: no rebalance every few
    seconds, no poll deadline missed), says so once and waits for its process to stop: the operator moves the
    group's offsets with its workers stopped and starts them again (the runbook), and nothing else would let it on."""
    log.error("consumer refuses a record from before its inbox's horizon; it waits for its offsets to be set",
              extra={"fields": {"consumer": error.consumer, "error": str(error)}})
    await stop.wait()


def passed_by(message: Message, consumer: str) -> bool:
    """Whether a replayed dead letter is another consumer's to apply (see the module's docstring). A letter of a
    consumer that no longer exists is passed by every consumer (counted `ignored`)."""
    meant_for = message.headers.get(REPLAY_FOR)
    return meant_for is not None and meant_for != consumer
