"""The agency's commission rates per client company (and bucket), which the recovery report prices its
remittance with: kept by an operator's command, read by the report's queries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from reporting.store import read_model_sql

DEFAULT_RATE = "*"  # the bucket the default commission rate is kept under


async def commission_rates(s: AsyncSession, client: str) -> tuple[dict[str, Decimal], Decimal | None]:
    """The agency's commission rate per bucket for the client company, and its default rate (None: 0)."""
    rows = await s.execute(
        read_model_sql("SELECT bucket, rate FROM reporting.commission_rates WHERE client_slug = :c"), {"c": client})
    rates = {r[0]: Decimal(r[1]) for r in rows.all()}
    return rates, rates.pop(DEFAULT_RATE, None)


async def lock_client(s: AsyncSession, client: str) -> None:
    """Holds the client company's copy until the transaction ends: writers of its settings take turns."""
    await s.execute(read_model_sql("SELECT 1 FROM reporting.clients WHERE slug = :c FOR UPDATE"), {"c": client})


async def put_commission_rates(s: AsyncSession, client: str, rates: dict[str, Decimal], default: Decimal | None,
                               now: dt.datetime) -> None:
    await s.execute(read_model_sql("DELETE FROM reporting.commission_rates WHERE client_slug = :c"), {"c": client})
    stored = {**rates, **({DEFAULT_RATE: default} if default is not None else {})}
    if stored:
        await s.execute(read_model_sql(
            "INSERT INTO reporting.commission_rates (client_slug, bucket, rate, updated_at) VALUES (:c, :b, :r, :now)"),
            [{"c": client, "b": b, "r": r, "now": now} for b, r in stored.items()])
