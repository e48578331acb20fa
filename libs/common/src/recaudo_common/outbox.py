"""The transactional outbox and the inbox: events leave and arrive in the same transaction as state."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

from recaudo_common.events import Envelope, family_of
from recaudo_common.telemetry import trace_headers_json


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
class Staged:
    """An envelope on its way to the outbox, with the trace headers it was emitted under."""

    envelope: Envelope
    headers: str


class Outbox:
    """Writes envelopes to one service's outbox, inside the caller's transaction."""

    def __init__(self, schema: str) -> None:
        self.schema = schema
        self._insert = text(
            f"INSERT INTO {schema}.outbox (family, key, event_id, envelope, headers) "
            "VALUES (:family, :key, :event_id, CAST(:envelope AS jsonb), CAST(:headers AS jsonb))"
        )

    async def add(self, session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
        headers = trace_headers_json()
        await self.write(session, [Staged(e, headers) for e in envelopes])

    @staticmethod
    def stage(envelope: Envelope) -> Staged:
        """An envelope with the trace context of the moment it was emitted, to be written later."""
        return Staged(envelope, trace_headers_json())

    async def write(self, session: AsyncSession, staged: Sequence[Staged]) -> None:
        """Writes staged envelopes in order, in one round trip."""
        if not staged:
            return
        await session.execute(
            self._insert,
            [
                {
                    "family": family_of(s.envelope.type), "key": s.envelope.key, "event_id": s.envelope.event_id,
                    "envelope": s.envelope.model_dump_json(), "headers": s.headers,
                }
                for s in staged
            ],
        )


@functools.cache
def _claim(schema: str) -> TextClause:
    return text(f"INSERT INTO {schema}.inbox (consumer, event_id) VALUES (:c, :e) "
                "ON CONFLICT DO NOTHING RETURNING event_id")


async def claim_once(session: AsyncSession, schema: str, consumer: str, envelope: Envelope) -> bool:
    """Records (consumer, event_id) in the inbox; False when this consumer has already processed it."""
    row = await session.execute(_claim(schema), {"c": consumer, "e": envelope.event_id})
    return row.first() is not None


@functools.cache
def _claim_many(schema: str) -> TextClause:
    return text(f"INSERT INTO {schema}.inbox (consumer, event_id) SELECT :c, unnest(CAST(:e AS uuid[])) "
                "ON CONFLICT DO NOTHING RETURNING event_id")


async def claim_many(session: AsyncSession, schema: str, consumer: str, envelopes: Sequence[Envelope]) -> set[UUID]:
    """claim_once for a whole batch in one round trip: the event ids this consumer has not processed before."""
    if not envelopes:
        return set()
    rows = await session.execute(_claim_many(schema), {"c": consumer, "e": [e.event_id for e in envelopes]})
    return {row[0] for row in rows}
