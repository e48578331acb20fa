"""A client company's automatic write-off rules (#22) as client.* events carry them, kept beside the client copy
by the service that writes accounts off (payments)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from recaudo_common.bus.consumer import HandlerContext
from recaudo_common.db import sql
from recaudo_common.events import ClientSettings, WriteOffRules


def write_off_rules_ddl(schema: str) -> str:
    """One row per client company: its rules or nulls (none set), and the instant of the event that said so (an
    older event never replaces a newer one)."""
    return f"""CREATE TABLE IF NOT EXISTS {schema}.client_write_off_rules (
        client_slug text PRIMARY KEY,
        after_days integer,
        min_days_past_due integer,
        updated_at timestamptz NOT NULL)"""


async def keep_write_off_rules(session: AsyncSession, schema: str, event: ClientSettings,
                               ctx: HandlerContext) -> None:
    """Keeps the rules a client.* event carries (each carries the whole current ones); pass it as
    `client_copy_handlers(schema, after=...)`."""
    rules = event.write_off_rules
    await session.execute(sql(
        f"""INSERT INTO {schema}.client_write_off_rules AS t (client_slug, after_days, min_days_past_due, updated_at)
            VALUES (:c, :a, :m, :at)
            ON CONFLICT (client_slug) DO UPDATE SET after_days = excluded.after_days,
                min_days_past_due = excluded.min_days_past_due, updated_at = excluded.updated_at
            WHERE t.updated_at <= excluded.updated_at"""),
        {"c": event.slug, "a": None if rules is None else rules.after_days,
         "m": None if rules is None else rules.min_days_past_due, "at": ctx.envelope.occurred_at})


async def get_write_off_rules(session: AsyncSession, schema: str, slug: str) -> WriteOffRules | None:
    row = (await session.execute(sql(
        f"SELECT after_days, min_days_past_due FROM {schema}.client_write_off_rules WHERE client_slug = :c"),
        {"c": slug})).first()
    return None if row is None or row[0] is None else WriteOffRules(after_days=row[0], min_days_past_due=row[1])
