"""A client company's own cost table (the cost of one contact on each channel, in its currency) as client.* events
carry it, kept beside the client copy by each service that prices contacts."""

from __future__ import annotations

import functools
import json
from decimal import Decimal

from sqlalchemy import TextClause
from sqlalchemy.ext.asyncio import AsyncSession

from recaudo_common.bus.consumer import HandlerContext
from recaudo_common.db import sql
from recaudo_common.events import ClientSettings

CostTable = dict[str, Decimal]  # channel -> the cost of one contact on it


def cost_table_ddl(schema: str) -> str:
    """The copy's table: one row per client company, its table or null (none set), and the instant of the event
    that said so (an older event never replaces a newer one)."""
    return f"""CREATE TABLE IF NOT EXISTS {schema}.client_cost_tables (
        client_slug text PRIMARY KEY,
        cost_table jsonb,
        updated_at timestamptz NOT NULL)"""


async def keep_cost_table(session: AsyncSession, schema: str, event: ClientSettings, ctx: HandlerContext) -> None:
    """Keeps the cost table a client.* event carries (each carries the whole current one); pass it as
    `client_copy_handlers(schema, after=...)`."""
    table = None if event.cost_table is None else {c: str(v) for c, v in event.cost_table.items()}
    await session.execute(sql(
        f"""INSERT INTO {schema}.client_cost_tables AS t (client_slug, cost_table, updated_at)
            VALUES (:c, CAST(:t AS jsonb), :at)
            ON CONFLICT (client_slug) DO UPDATE SET cost_table = excluded.cost_table, updated_at = excluded.updated_at
            WHERE t.updated_at <= excluded.updated_at"""),
        {"c": event.slug, "t": None if table is None else json.dumps(table), "at": ctx.envelope.occurred_at})


@functools.cache
def _select(schema: str) -> TextClause:
    return sql(f"SELECT cost_table FROM {schema}.client_cost_tables WHERE client_slug = :c")


async def get_cost_table(session: AsyncSession, schema: str, slug: str) -> CostTable | None:
    """The client company's cost table, or None when it has set none."""
    found = (await session.execute(_select(schema), {"c": slug})).scalar_one_or_none()
    return None if found is None else {c: Decimal(v) for c, v in found.items()}
