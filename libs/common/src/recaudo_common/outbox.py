"""The transactional outbox and the inbox: events leave and arrive in the same transaction as state."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import TextClause
from sqlalchemy.ext.asyncio import AsyncSession

from recaudo_common.db import copy_records, sql
from recaudo_common.events import Envelope, family_of, new_event_id
from recaudo_common.telemetry import trace_headers_json

# Above this many rows one write is a COPY rather than an INSERT. Measured on the test PostgreSQL: an INSERT is
# half a millisecond faster up to 10 rows, COPY is twice as fast from 50 (3 ms against 7; 1,000 rows in 18-43 ms
# against 44-64), and a consumer's batch of 500 events or an upload's batch of 1,000 accounts is one COPY.
BULK_ROWS = 50
COLUMNS = ("family", "key", "event_id", "envelope", "headers")


def outbox_inbox_ddl(schema: str) -> list[str]:
    """DDL for a service's outbox and inbox; every service migration creates both in its schema."""
    return [
        f"""CREATE TABLE {schema}.outbox (
            id bigserial PRIMARY KEY,
            family text NOT NULL,
            key text NOT NULL,
            event_id uuid NOT NULL,
            envelope jsonb NOT NULL,
            headers jsonb NOT NULL DEFAULT '{{}}',
            created_at timestamptz NOT NULL DEFAULT now())""",
        f"""CREATE TABLE {schema}.inbox (
            consumer text NOT NULL,
            event_id uuid NOT NULL,
            processed_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (consumer, event_id))""",
        f"""CREATE FUNCTION {schema}.notify_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN PERFORM pg_notify('recaudo_outbox', '{schema}'); RETURN NULL; END $$""",
        f"""CREATE TRIGGER outbox_notify AFTER INSERT ON {schema}.outbox
            FOR EACH STATEMENT EXECUTE FUNCTION {schema}.notify_outbox()""",
    ]


def outbox_vacuum_ddl(schema: str) -> str:
    """Autovacuum settings for a service's outbox. It is a queue: every row is deleted moments after it is
    written, so the default trigger (a fifth of the table dead) left 400,000 dead rows in segmentation's outbox
    in the 1M-account pipeline run, and each backlog count read all of them. Vacuumed every 10,000 dead rows,
    unthrottled (the live rows are few, so each vacuum is short)."""
    return (f"ALTER TABLE {schema}.outbox SET (autovacuum_vacuum_scale_factor = 0, "
            "autovacuum_vacuum_threshold = 10000, autovacuum_vacuum_cost_delay = 0)")


@dataclass(frozen=True)
class Cause:
    """Why events are being emitted: the correlation they carry (that of the request, scheduled run or event the
    chain started from) and the event or command that caused them directly."""

    correlation_id: UUID
    causation_id: UUID

    @classmethod
    def of(cls, envelope: Envelope) -> Cause:
        """An event's effects: they keep its correlation and name it as their cause."""
        return cls(envelope.correlation_id, envelope.event_id)

    @classmethod
    def command(cls) -> Cause:
        """A request or a scheduled run: its own id starts a correlation and is the cause of what it emits."""
        command_id = new_event_id()
        return cls(command_id, command_id)

    def headers(self) -> dict[str, str]:
        """The cause as headers, for work a request leaves to be carried on elsewhere (an upload's worker)."""
        return {"recaudo-correlation-id": str(self.correlation_id), "recaudo-causation-id": str(self.causation_id)}

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> Cause | None:
        try:
            return cls(UUID(headers["recaudo-correlation-id"]), UUID(headers["recaudo-causation-id"]))
        except (KeyError, ValueError):
            return None


# Ambient like the trace context: the HTTP edge sets it per request, the consumer runtime per event handled, so
# code deep in a command (payments' promise verdicts, for one) emits under the right cause without threading it.
_cause: ContextVar[Cause | None] = ContextVar("recaudo_cause", default=None)


@contextmanager
def caused_by(cause: Cause | None) -> Iterator[Cause | None]:
    """Events emitted inside the block carry `cause` (unless they name one themselves); None changes nothing."""
    if cause is None:
        yield current_cause()
        return
    token = _cause.set(cause)
    try:
        yield cause
    finally:
        _cause.reset(token)


def current_cause() -> Cause | None:
    return _cause.get()


def cause_headers() -> dict[str, str]:
    """The current cause as headers (none outside one)."""
    cause = current_cause()
    return {} if cause is None else cause.headers()


def caused(envelope: Envelope, cause: Cause | None) -> Envelope:
    """The envelope under `cause`, unless it names a correlation or a cause of its own (Event.envelope with
    causation= or correlation_id=)."""
    if cause is None or envelope.causation_id is not None or envelope.correlation_id != envelope.event_id:
        return envelope
    return envelope.model_copy(update={"correlation_id": cause.correlation_id, "causation_id": cause.causation_id})


@dataclass(frozen=True)
class Serialised:
    """An envelope its producer wrote as JSON itself: exactly what Envelope.model_dump_json writes for it, under
    the cause it was emitted under (the producer's tests prove the bytes equal)."""

    type: str
    key: str
    event_id: UUID
    envelope: str


@dataclass(frozen=True)
class Staged:
    """An envelope on its way to the outbox, with the trace headers it was emitted under: a model, or one its
    producer wrote as JSON itself (Serialised, already under its cause)."""

    envelope: Envelope | Serialised
    headers: str


class Outbox:
    """Writes envelopes to one service's outbox, inside the caller's transaction: the one way an event is emitted.

    Each envelope gets the cause it was emitted under (`caused_by`, or the `cause` given) and the trace context of
    that moment. A write of more than BULK_ROWS rows is a COPY, fewer an INSERT; both give the same rows."""

    def __init__(self, schema: str) -> None:
        self.schema = schema
        self._insert = sql(
            f"INSERT INTO {schema}.outbox (family, key, event_id, envelope, headers) "
            "VALUES (:family, :key, :event_id, CAST(:envelope AS jsonb), CAST(:headers AS jsonb))"
        )

    async def add(self, session: AsyncSession, envelopes: Sequence[Envelope], *, cause: Cause | None = None) -> None:
        headers = trace_headers_json()
        cause = cause or current_cause()
        await self.write(session, [Staged(caused(e, cause), headers) for e in envelopes])

    @staticmethod
    def stage(envelope: Envelope) -> Staged:
        """An envelope with the cause and trace context of the moment it was emitted, to be written later."""
        return Staged(caused(envelope, current_cause()), trace_headers_json())

    @staticmethod
    def stage_serialised(event: Serialised) -> Staged:
        """stage for an envelope its producer wrote as JSON itself, under the cause it names (a consumer's batch
        handler emitting one event per account: #24)."""
        return Staged(event, trace_headers_json())

    async def write(self, session: AsyncSession, staged: Sequence[Staged], *, bulk_rows: int = BULK_ROWS) -> None:
        """Writes staged envelopes in order, in one statement: COPY above `bulk_rows` rows, else INSERT."""
        if not staged:
            return
        await self._rows(session, [
            (family_of(e.type), e.key, e.event_id, e.envelope, s.headers) if isinstance(e := s.envelope, Serialised)
            else (family_of(e.type), e.key, e.event_id, e.model_dump_json(), s.headers) for s in staged], bulk_rows)

    async def write_serialised(self, session: AsyncSession, events: Sequence[Serialised], *,
                               bulk_rows: int = BULK_ROWS) -> None:
        """Writes envelopes their producer wrote as JSON itself, in order and under the current trace context, as
        `write` does: for a bulk producer (an upload's accounts) that builds each event's JSON without its models."""
        if not events:
            return
        headers = trace_headers_json()
        await self._rows(session, [(family_of(e.type), e.key, e.event_id, e.envelope, headers) for e in events],
                         bulk_rows)

    async def unpublished(self, session: AsyncSession, *, at_most: int) -> int:
        """How many rows wait for the relay (it deletes what it publishes), counted up to `at_most`."""
        return int(await session.scalar(sql(
            f"SELECT count(*) FROM (SELECT 1 FROM {self.schema}.outbox ORDER BY id LIMIT :n) waiting"),
            {"n": at_most}) or 0)

    async def _rows(self, session: AsyncSession, rows: list[tuple[Any, ...]], bulk_rows: int) -> None:
        if len(rows) > bulk_rows:
            await copy_records(session, "outbox", schema_name=self.schema, columns=COLUMNS, records=rows)
        else:
            await session.execute(self._insert, [dict(zip(COLUMNS, row, strict=True)) for row in rows])

@functools.cache
def _claim(schema: str) -> TextClause:
    return sql(f"INSERT INTO {schema}.inbox (consumer, event_id) VALUES (:c, :e) "
               "ON CONFLICT DO NOTHING RETURNING event_id")


async def claim_once(session: AsyncSession, schema: str, consumer: str, envelope: Envelope) -> bool:
    """Records (consumer, event_id) in the inbox; False when this consumer has already processed it."""
    row = await session.execute(_claim(schema), {"c": consumer, "e": envelope.event_id})
    return row.first() is not None


@functools.cache
def _claim_many(schema: str) -> TextClause:
    return sql(f"INSERT INTO {schema}.inbox (consumer, event_id) SELECT :c, unnest(CAST(:e AS uuid[])) "
               "ON CONFLICT DO NOTHING RETURNING event_id")


async def claim_many(session: AsyncSession, schema: str, consumer: str, envelopes: Sequence[Envelope]) -> set[UUID]:
    """claim_once for a whole batch in one round trip: the event ids this consumer has not processed before."""
    if not envelopes:
        return set()
    rows = await session.execute(_claim_many(schema), {"c": consumer, "e": [e.event_id for e in envelopes]})
    return {row[0] for row in rows}
