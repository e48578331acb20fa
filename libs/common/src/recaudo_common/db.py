"""Async SQLAlchemy engine and the one way to run a transaction."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy import event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.util import await_only

log = logging.getLogger("recaudo.db")

# A connection back in the pool for longer than this is pinged before it is lent again; one in steady use is not.
IDLE_BEFORE_PING_S = 1.0
# asyncpg prepares every statement, and after five runs PostgreSQL may keep one generic plan for it, chosen on the
# table statistics of that moment. A consumer's set-based statements are first run while a new client company's
# tables are nearly empty, and a plan chosen then (a sequential scan for each account of a batch) still runs once a
# portfolio has grown the table a thousandfold, until autovacuum's next ANALYZE: measured, a batch's probe of
# outreach.attempts took 200 ms instead of 0.3. A custom plan is made for each run from the table's current size;
# planning a statement that handles a whole batch costs little beside it.
CUSTOM_PLANS = text("SET LOCAL plan_cache_mode = force_custom_plan")


@functools.lru_cache(maxsize=4096)
def sql(query: str) -> TextClause:
    """A textual statement, parsed once per distinct SQL. `text()` parses the bind parameters of its string, and
    SQLAlchemy builds a new cache key for the new clause, at every call: measured on a payment's seven statements,
    about a fifth of their cost on the client's side (#24). A clause is never changed once made (its generative
    methods return copies), so one is shared by every call. Bounded, though SQL here is built from identifiers
    only, never from values."""
    return text(query)


def make_engine(database_url: str, *, pool_size: int = 10) -> AsyncEngine:
    engine = create_async_engine(database_url, pool_size=pool_size, max_overflow=10, pool_recycle=1800)
    pool = engine.sync_engine.pool
    event.listen(pool, "connect", _note_returned)
    event.listen(pool, "checkin", _note_returned)
    event.listen(pool, "checkout", _ping_if_idle)
    return engine


def _note_returned(dbapi_connection: Any, record: Any) -> None:
    if record is not None:
        record.info["returned_at"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """SQLAlchemy's pre-ping costs three round trips on asyncpg (BEGIN, a query, ROLLBACK: made for pgbouncer's
    transaction mode) on every checkout, about a fifth of a payment's round trips. A connection that was in use a
    moment ago is alive as far as a ping could tell; one idle for a while (a server restart, a dropped socket)
    is asked once, outside any transaction. A connection that died within the last second fails its transaction
    like one dying during it: SQLAlchemy then invalidates the whole pool, and the caller retries."""
    if time.monotonic() - record.info.get("returned_at", 0.0) < IDLE_BEFORE_PING_S:
        return
    try:
        await_only(dbapi_connection.driver_connection.fetchval("SELECT 1", timeout=5))
    # TimeoutError is an OSError. InternalClientError: the server's goodbye to a terminated backend arrived while
    # the connection sat idle, leaving its protocol mid-operation ("cannot switch to state"): as dead as a socket.
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError) as e:
        raise sa_exc.DisconnectionError(f"a pooled connection did not answer: {type(e).__name__}") from e


class Database:
    """An engine and a session factory; `transaction()` yields a session that commits on success."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)

    @asynccontextmanager
    async def transaction(self, *, custom_plans: bool = False) -> AsyncIterator[AsyncSession]:
        """`custom_plans`: every statement of the transaction planned for its own run (CUSTOM_PLANS), for batches
        of many rows on tables that may have grown fast; a request's few small statements keep the cached plans."""
        async with self.sessions() as session, session.begin():
            if custom_plans:
                await session.execute(CUSTOM_PLANS)
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()


_AFTER_COMMIT = "recaudo.after_commit"  # the session's actions, each with the transaction it waits for


def after_commit(session: AsyncSession, action: Callable[[], None]) -> None:
    """Runs `action` once the session's transaction has committed, never if it rolls back: a domain metric
    counted here counts what happened, and a retried transaction counts once. Queued inside a savepoint
    (`begin_nested`), it waits for the transaction around it, and goes if the savepoint rolls back. Kept on the
    session and run by one listener of every session's commits: a listener of its own for each action cost a
    payment about 3 % of its CPU, SQLAlchemy's event registry being built for listeners set up once (#24)."""
    sync = session.sync_session
    owner = sync.get_nested_transaction() or sync.get_transaction()
    sync.info.setdefault(_AFTER_COMMIT, []).append((owner, action))


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    # SQLAlchemy tells a savepoint's release here too, with the savepoint still the session's current nested
    # transaction: what it queued now waits for the transaction around it.
    released = session.get_nested_transaction()
    if released is not None:
        pending = session.info.get(_AFTER_COMMIT)
        if pending:
            session.info[_AFTER_COMMIT] = [(released.parent if owner is released else owner, action)
                                           for owner, action in pending]
        return
    for _, action in session.info.pop(_AFTER_COMMIT, ()):
        try:
            action()
        except Exception as exc:  # what committed stays committed; one action failing never skips the next
            log.error("an action after a commit failed", extra={"fields": {"error": type(exc).__name__}})


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    """A transaction rolled back, a savepoint or the whole one: the actions it and the savepoints inside it
    queued never run."""
    pending = session.info.get(_AFTER_COMMIT)
    if pending:
        rolled_back = previous_transaction
        # A failed ORM flush rolls back a subtransaction of its own: what it undid is the savepoint or the
        # transaction around it.
        while rolled_back.parent is not None and not rolled_back.nested:
            rolled_back = rolled_back.parent
        session.info[_AFTER_COMMIT] = [(owner, action) for owner, action in pending
                                       if not _inside(owner, rolled_back)]


def _inside(transaction: SessionTransaction | None, outer: SessionTransaction) -> bool:
    if transaction is None:  # queued while the session had no transaction: the next one's, the root's
        return outer.parent is None
    while transaction is not None:
        if transaction is outer:
            return True
        transaction = transaction.parent
    return False


async def copy_records(session: AsyncSession, table: str, *, columns: Sequence[str],
                       records: Sequence[Sequence[Any]], schema_name: str | None = None) -> None:
    """Binary COPY of many rows into a table, inside the session's transaction: the fastest way PostgreSQL takes
    a batch (the outbox's events, an upload's accounts)."""
    connection = await session.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    assert isinstance(driver, asyncpg.Connection)
    if not driver.is_in_transaction():
        # SQLAlchemy's asyncpg adapter sends BEGIN with the session's first statement; a COPY straight on the
        # driver before it would commit on its own, outside the caller's transaction.
        await session.execute(sql("SELECT 1"))
    await driver.copy_records_to_table(table, schema_name=schema_name, columns=list(columns), records=records)


def asyncpg_dsn(database_url: str) -> str:
    """The plain libpq DSN that asyncpg.connect() takes, from a SQLAlchemy URL."""
    return database_url.replace("postgresql+asyncpg://", "postgresql://", 1)


def unnest_rows(columns: Mapping[str, str], rows: Sequence[Mapping[str, Any]] | Sequence[Sequence[Any]], *,
                alias: str = "i", ordinality: bool = False) -> tuple[str, dict[str, list[Any]]]:
    """Many rows as one source for a set-based statement, so a batch is one round trip however many rows it has:
    `FROM {source}` yields a row named `alias` for each input row, with the columns given (name -> PostgreSQL
    type) and, with `ordinality`, `n`, the row's place in the input (1, 2, ...). Rows are mappings keyed by the
    column names or sequences in the columns' order. Returns the source and its bind parameters.

    `jsonb` columns take any JSON-able value and list-valued columns (`text[]`, ...) take a list per row: both
    travel as JSON text, because PostgreSQL arrays of arrays must be rectangular (one account has two phones,
    the next none)."""
    names = list(columns)
    by_name = bool(rows) and isinstance(rows[0], Mapping)
    params: dict[str, list[Any]] = {}
    casts: list[str] = []
    selected: list[str] = []
    for position, (name, sql_type) in enumerate(columns.items()):
        param = f"{alias}_{name}"
        values = ([row[name] for row in rows] if by_name  # type: ignore[call-overload]
                  else [row[position] for row in rows])  # type: ignore[index]
        if sql_type == "jsonb" or sql_type.endswith("[]"):
            params[param] = [None if v is None else json.dumps(v, default=str) for v in values]
            casts.append(f"CAST(:{param} AS text[])")
            if sql_type == "jsonb":
                selected.append(f"CAST(u.{name} AS jsonb) AS {name}")
            else:
                selected.append(f"CAST(ARRAY(SELECT jsonb_array_elements_text(CAST(u.{name} AS jsonb))) "
                                f"AS {sql_type}) AS {name}")
        else:
            params[param] = values
            casts.append(f"CAST(:{param} AS {sql_type}[])")
            selected.append(f"u.{name}")
    order = ["n"] if ordinality else []
    unnest = (f"unnest({', '.join(casts)}){' WITH ORDINALITY' if ordinality else ''}"
              f" AS {{}}({', '.join(names + order)})")
    if not any(t == "jsonb" or t.endswith("[]") for t in columns.values()):  # nothing to turn back from JSON
        return unnest.format(alias), params
    inner = unnest.format("u")
    return f"(SELECT {', '.join(selected + [f'u.{o}' for o in order])} FROM {inner}) AS {alias}", params


# SQLSTATEs that say "try again": serialization failure, deadlock, and the server shutting down or starting up.
# Serialization failure, deadlock, a lock not granted in time (lock_timeout), the server shutting down or out of
# reach: each passes when the transaction is tried again.
_TRANSIENT_SQLSTATES = {"40001", "40P01", "55P03", "57P01", "57P02", "57P03", "08000", "08003", "08006", "08001",
                        "08004"}


def exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """exc, then what caused it, and so on (SQLAlchemy wraps the driver's error, which holds the SQLSTATE)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def is_transient(exc: BaseException) -> bool:
    """True when the failure is the infrastructure's, not the data's: the database restarting or out of reach,
    a lost connection, a serialization conflict. Such a failure is retried until it passes; it never sends an
    event to the DLQ nor counts as the event's fault."""
    for current in exception_chain(exc):
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, (FileNotFoundError, PermissionError, IsADirectoryError)):
            return False
        if isinstance(current, (OSError, asyncio.TimeoutError, asyncpg.InterfaceError,
                                asyncpg.PostgresConnectionError, sa_exc.InterfaceError, sa_exc.TimeoutError)):
            return True
        if getattr(current, "retriable", False) is True:  # aiokafka marks the broker's passing failures so
            return True
        if getattr(current, "sqlstate", None) in _TRANSIENT_SQLSTATES:
            return True
    return False
