"""Async SQLAlchemy engine and the one way to run a transaction."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import asyncpg
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


def make_engine(database_url: str, *, pool_size: int = 10) -> AsyncEngine:
    return create_async_engine(
        database_url, pool_size=pool_size, max_overflow=10, pool_pre_ping=True, pool_recycle=1800
    )


class Database:
    """An engine and a session factory; `transaction()` yields a session that commits on success."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()


def asyncpg_dsn(database_url: str) -> str:
    """The plain libpq DSN that asyncpg.connect() takes, from a SQLAlchemy URL."""
    return database_url.replace("postgresql+asyncpg://", "postgresql://", 1)


# SQLSTATEs that say "try again": serialization failure, deadlock, and the server shutting down or starting up.
_TRANSIENT_SQLSTATES = {"40001", "40P01", "57P01", "57P02", "57P03", "08000", "08003", "08006", "08001", "08004"}


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
