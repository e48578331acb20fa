"""A client company's strategy versions read back (#22): every version kept in `segmentation.strategies`, newest
first, with who made it and how. Versions are only ever added (store.add_strategy); the database refuses to change
or delete one."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from recaudo_common.db import sql
from segmentation.schemas import StrategyIn


@dataclass(frozen=True)
class KeptVersion:
    """One version of a client company's strategy as it was kept, never changed since."""

    version: int
    document: StrategyIn
    created_at: dt.datetime
    created_by: str | None  # the caller's key ("key <id>"); None for versions kept before it was recorded
    origin: str | None  # put, buckets, promote or restore; None for versions kept before it was recorded
    origin_version: int | None  # the version a promote or a restore came from


_COLUMNS = "version, CAST(body AS text) AS body, created_at, created_by, origin, origin_version"


def _kept(row: RowMapping) -> KeptVersion:
    return KeptVersion(row["version"], StrategyIn.model_validate_json(row["body"]), row["created_at"],
                       row["created_by"], row["origin"], row["origin_version"])


async def versions(s: AsyncSession, client: str, *, before: int | None, limit: int) -> list[KeptVersion]:
    """At most `limit` versions, newest first, older than `before` when given (the primary key's order)."""
    rows = (await s.execute(sql(
        f"SELECT {_COLUMNS} FROM segmentation.strategies WHERE client_slug = :c "
        "AND (CAST(:before AS integer) IS NULL OR version < :before) ORDER BY version DESC LIMIT :n"),
        {"c": client, "before": before, "n": limit})).mappings().all()
    return [_kept(r) for r in rows]


async def version(s: AsyncSession, client: str, number: int) -> KeptVersion | None:
    row = (await s.execute(sql(
        f"SELECT {_COLUMNS} FROM segmentation.strategies WHERE client_slug = :c AND version = :v"),
        {"c": client, "v": number})).mappings().first()
    return _kept(row) if row is not None else None


async def current_version(s: AsyncSession, client: str) -> int:
    """The version in force (the newest), 0 while the platform's default is."""
    value = await s.scalar(sql("SELECT max(version) FROM segmentation.strategies WHERE client_slug = :c"),
                           {"c": client})
    return int(value) if value is not None else 0
