"""The outbox relay: moves a service's committed outbox rows to the transport, in order."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import asyncpg
from sqlalchemy import text

from recaudo_common.bus.base import OutgoingMessage, Transport
from recaudo_common.db import Database, asyncpg_dsn
from recaudo_common.events import topic_name
from recaudo_common.telemetry import EVENTS_PRODUCED, OUTBOX_BACKLOG

log = logging.getLogger("recaudo.relay")


async def relay_once(db: Database, transport: Transport, *, schema: str, prefix: str, limit: int = 1000) -> int:
    """Publishes up to `limit` outbox rows and deletes them, in one transaction.

    A transaction-scoped advisory lock keeps one relay per schema at a time, so replicas never
    publish one account's events out of order. A crash after publishing and before the delete
    republishes the rows: consumers are idempotent by event_id.
    """
    async with db.transaction() as session:
        locked = await session.scalar(
            text("SELECT pg_try_advisory_xact_lock(hashtext(:k))"), {"k": f"recaudo.relay.{schema}"}
        )
        if not locked:
            return 0
        rows = (await session.execute(
            text(f"SELECT id, family, key, envelope::text AS envelope, headers FROM {schema}.outbox "
                 "ORDER BY id LIMIT :n"),
            {"n": limit},
        )).mappings().all()
        if not rows:
            return 0
        messages = [
            OutgoingMessage(topic_name(prefix, r["family"]), r["key"], r["envelope"], _headers(r["headers"]))
            for r in rows
        ]
        await transport.publish(session, messages)
        await session.execute(
            text(f"DELETE FROM {schema}.outbox WHERE id = ANY(:ids)"), {"ids": [r["id"] for r in rows]}
        )
    for m in messages:
        EVENTS_PRODUCED.labels(schema, m.topic).inc()
    return len(rows)


def _headers(value: Any) -> dict[str, str]:
    return dict(json.loads(value) if isinstance(value, str) else value or {})


async def run_relay(
    db: Database, transport: Transport, *, schema: str, prefix: str, database_url: str,
    stop: asyncio.Event, idle_wait_s: float = 1.0,
) -> None:
    """Relays until `stop` is set, woken by the outbox trigger's NOTIFY or every `idle_wait_s`."""
    wake = asyncio.Event()
    conn = await asyncpg.connect(asyncpg_dsn(database_url))

    def _on_notify(*args: Any) -> None:
        if args[3] == schema:
            wake.set()

    await conn.add_listener("recaudo_outbox", _on_notify)
    try:
        while not stop.is_set():
            wake.clear()
            try:
                moved = await relay_once(db, transport, schema=schema, prefix=prefix)
            except Exception:
                log.exception("relay failed; retrying", extra={"fields": {"schema": schema}})
                await asyncio.sleep(1.0)
                continue
            if moved:
                continue
            backlog = await conn.fetchval(f"SELECT count(*) FROM {schema}.outbox")
            OUTBOX_BACKLOG.labels(schema).set(backlog)
            waiters = [asyncio.create_task(wake.wait()), asyncio.create_task(stop.wait())]
            await asyncio.wait(waiters, timeout=idle_wait_s, return_when=asyncio.FIRST_COMPLETED)
            for w in waiters:
                w.cancel()
    finally:
        await conn.close()
