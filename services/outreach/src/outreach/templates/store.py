"""Templates' table: a client company's own template per channel and locale, versioned."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from recaudo_common.db import sql


@dataclass(frozen=True)
class OwnTemplate:
    """A template the client company saved (the platform's defaults are not stored)."""

    channel: str
    locale: str
    subject: str | None
    body: str
    version: int
    updated_at: dt.datetime


async def get_template(s: AsyncSession, client: str, channel: str, locale: str) -> OwnTemplate | None:
    row = (await s.execute(sql(
        "SELECT channel, locale, subject, body, version, updated_at FROM outreach.templates "
        "WHERE client_slug = :c AND channel = :ch AND locale = :l"),
        {"c": client, "ch": channel, "l": locale})).first()
    return OwnTemplate(row.channel, row.locale, row.subject, row.body, row.version, row.updated_at) if row else None


async def lock_template(s: AsyncSession, client: str, channel: str, locale: str) -> None:
    """Holds the template's key (saved or not yet) until the transaction ends: a change checked against what the
    caller read is kept before anyone else's."""
    await s.execute(sql("SELECT pg_advisory_xact_lock(hashtext(:k))"),
                    {"k": f"recaudo.outreach.template.{client}.{channel}.{locale}"})


async def list_templates(s: AsyncSession, client: str) -> list[OwnTemplate]:
    result = await s.execute(sql(
        "SELECT channel, locale, subject, body, version, updated_at FROM outreach.templates WHERE client_slug = :c "
        "ORDER BY channel, locale"), {"c": client})
    return [OwnTemplate(r.channel, r.locale, r.subject, r.body, r.version, r.updated_at) for r in result]


async def put_template(s: AsyncSession, *, client: str, channel: str, locale: str, subject: str | None, body: str,
                       now: dt.datetime) -> int:
    row = (await s.execute(sql(
        """INSERT INTO outreach.templates AS t (client_slug, channel, locale, subject, body, version, updated_at)
           VALUES (:c, :ch, :l, :sub, :b, 1, :now)
           ON CONFLICT (client_slug, channel, locale) DO UPDATE SET subject = excluded.subject, body = excluded.body,
               version = t.version + 1, updated_at = excluded.updated_at RETURNING version"""),
        {"c": client, "ch": channel, "l": locale, "sub": subject, "b": body, "now": now})).first()
    assert row is not None
    return int(row[0])
