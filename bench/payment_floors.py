"""Two floors under a gateway payment's saturation, measured in the freshness benchmark's run beside /healthz
(#24): the webhook's own work called in this process with no HTTP in front of it (the signature checked, the
body parsed, the payment applied as the route applies it, in group commits), and the statements one payment's own
transaction sends (`receive_webhook`, one payment at a time) replayed by raw asyncpg with no Python above the
driver. Together they say how much of a payment's cost is the HTTP stack, the
service's Python and SQLAlchemy, and the round trips themselves."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import async_sessionmaker

from payments.schemas import WebhookIn
from payments.webhooks import receive_webhook
from payments.webhooks_together import WebhooksTogether
from recaudo_common.db import Database, asyncpg_dsn
from recaudo_common.personal_data import Vault
from recaudo_common.runtime import make_platform
from recaudo_common.settings import PlatformSettings
from recaudo_common.testing import statements_run
from recaudo_common.webhook_signatures import signature_problem

GATEWAY = "pasarela"
SAVEPOINTS = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")
# As the service: `make_platform`'s pool (make_engine lets it open 10 more under load), and the benchmark's 64
# connections in flight.
POOL_SIZE = 10
CONNECTIONS = POOL_SIZE + 10
IN_FLIGHT = 64


@dataclass(frozen=True)
class Statement:
    """One statement as SQLAlchemy handed it to asyncpg: its SQL ($n placeholders) and its parameters (a list of
    them when it was an executemany)."""

    sql: str
    parameters: Any

    @property
    def many(self) -> bool:
        # SQLAlchemy hands an executemany's parameters over as a list, one statement's as a tuple.
        return isinstance(self.parameters, list)


@dataclass(frozen=True)
class Floor:
    per_s: float
    cpu_ms_per_payment: float  # this process's CPU (the caller's side of each round trip), per payment
    connections: int = 0  # for the replay: how many connections reached it


async def transaction_floor(settings: PlatformSettings, posts: Sequence[tuple[str, bytes]], secret: str,
                            seconds: float) -> Floor:
    """What the webhook route does for each signed body in turn, but HTTP: the signature checked, the body parsed,
    `WebhooksTogether.receive` (group commits, as the route applies them); IN_FLIGHT at a time over the service's
    pool, until `seconds` have passed or the bodies run out."""
    platform = make_platform(settings, pool_size=POOL_SIZE)
    vault = Vault.from_settings(platform.settings)
    webhooks = WebhooksTogether(platform.db, vault, link_secret=settings.link_secret)  # as main.build wires it
    pending = iter(posts)
    applied = 0
    deadline = time.perf_counter() + seconds

    async def apply_next() -> None:
        nonlocal applied
        for signature, raw in pending:
            if time.perf_counter() >= deadline:
                return
            now = dt.datetime.now(dt.UTC)
            if signature_problem(signature, raw, [secret], now=now) is not None:
                raise RuntimeError("a benchmark body's signature did not verify")
            await webhooks.receive(gateway=GATEWAY, notification=WebhookIn.model_validate_json(raw), now=now)
            applied += 1

    try:
        cpu, started = time.process_time(), time.perf_counter()
        await asyncio.gather(*(apply_next() for _ in range(IN_FLIGHT)))
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        await platform.db.dispose()
    return Floor(per_s=applied / elapsed, cpu_ms_per_payment=1000 * cpu / max(applied, 1))


async def captured_statements(settings: PlatformSettings, notifications: Sequence[WebhookIn]
                              ) -> list[list[Statement]]:
    """The statements `receive_webhook` sends for each notification, captured inside one outer transaction that is
    rolled back (each payment's own transaction a savepoint in it), so none of them is recorded."""
    platform = make_platform(settings, pool_size=1)
    vault = Vault.from_settings(platform.settings)
    payments: list[list[Statement]] = []
    try:
        async with platform.db.engine.connect() as connection:
            outer = await connection.begin()
            db = Database(platform.db.engine)
            db.sessions = async_sessionmaker(bind=connection, expire_on_commit=False,
                                             join_transaction_mode="create_savepoint")
            try:
                for notification in notifications:
                    with statements_run(db, "") as seen:
                        await receive_webhook(db, vault=vault, gateway=GATEWAY, notification=notification,
                                              now=dt.datetime.now(dt.UTC), link_secret=settings.link_secret)
                    payments.append([Statement(sql, parameters) for sql, parameters in seen
                                     if not sql.startswith(SAVEPOINTS)])
            finally:
                await outer.rollback()
    finally:
        await platform.db.dispose()
    return payments


async def statements_floor(database_url: str, payments: Sequence[Sequence[Statement]], seconds: float,
                           connections: int) -> Floor:
    """Each payment's statements replayed by raw asyncpg between BEGIN and ROLLBACK (so a payment can be replayed
    again: nothing it wrote stays), `connections` at a time, each connection with payments of its own (so no two
    wait on the same account's lock), until `seconds` have passed: the round trips alone."""
    dsn = asyncpg_dsn(database_url)
    pool = [await asyncpg.connect(dsn) for _ in range(connections)]
    replayed = 0
    deadline = time.perf_counter() + seconds

    async def replay(conn: asyncpg.Connection, mine: Sequence[Sequence[Statement]]) -> None:
        nonlocal replayed
        for statements in itertools.cycle(mine):
            if time.perf_counter() >= deadline:
                return
            transaction = conn.transaction()
            await transaction.start()
            for s in statements:
                if s.many:
                    await conn.executemany(s.sql, s.parameters)
                else:
                    await conn.fetch(s.sql, *s.parameters)
            await transaction.rollback()
            replayed += 1

    try:
        cpu, started = time.process_time(), time.perf_counter()
        await asyncio.gather(*(replay(conn, payments[i::connections]) for i, conn in enumerate(pool)))
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        for conn in pool:
            await conn.close()
    return Floor(per_s=replayed / elapsed, cpu_ms_per_payment=1000 * cpu / max(replayed, 1), connections=connections)


async def payment_floors(settings: PlatformSettings, posts: Sequence[tuple[str, bytes]], secret: str,
                         seconds: float) -> tuple[Floor, Floor, int]:
    """Both floors on signed notifications the run has not sent (fresh ids, the same accounts), and the number of
    statements one payment sends (BEGIN and COMMIT are not among them)."""
    sample = [WebhookIn.model_validate_json(raw) for _, raw in posts[:IN_FLIGHT * 4]]
    statements = await captured_statements(settings, sample)
    if not statements or any(not s for s in statements):
        raise RuntimeError("no statement was captured for a payment: the floor would measure nothing")
    # The better of the service's pool as it usually is and at its fullest: on two cores more connections may
    # only contend, and a floor is the best the round trips reach.
    replayed = max([await statements_floor(settings.database_url, statements, seconds, connections)
                    for connections in (POOL_SIZE, CONNECTIONS)], key=lambda floor: floor.per_s)
    in_process = await transaction_floor(settings, posts, secret, seconds)
    return in_process, replayed, len(statements[0])
