"""Each service's own copy of client companies' settings, kept from `client.*` events."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import TextClause
from sqlalchemy.ext.asyncio import AsyncSession

from recaudo_common.bus.consumer import Handler, HandlerContext
from recaudo_common.db import sql
from recaudo_common.events import ClientReady, ClientRegistered, ClientSettings, ClientUpdated, Event
from recaudo_common.instalments import MAX_INSTALMENTS, MIN_INSTALMENTS, ArrangementLimits
from recaudo_common.promises import DEFAULT_PROMISE_WINDOW_DAYS


def client_copy_ddl(schema: str) -> str:
    return f"""CREATE TABLE {schema}.clients (
        slug text PRIMARY KEY,
        name text NOT NULL,
        country text NOT NULL,
        currency text NOT NULL,
        timezone text NOT NULL,
        locale text NOT NULL,
        default_authorised_channels text[] NOT NULL,
        updated_at timestamptz NOT NULL)"""


def client_copy_upgrades(schema: str) -> list[str]:
    """Columns added to the copy since its first version (each service's migrations apply them)."""
    return [f"ALTER TABLE {schema}.clients ADD COLUMN IF NOT EXISTS max_discount_pct numeric(5, 2) NOT NULL DEFAULT 40",
            f"ALTER TABLE {schema}.clients ADD COLUMN IF NOT EXISTS promise_window_days integer NOT NULL "
            f"DEFAULT {DEFAULT_PROMISE_WINDOW_DAYS}",
            f"ALTER TABLE {schema}.clients ADD COLUMN IF NOT EXISTS instalments_min integer NOT NULL "
            f"DEFAULT {MIN_INSTALMENTS}",
            f"ALTER TABLE {schema}.clients ADD COLUMN IF NOT EXISTS instalments_max integer NOT NULL "
            f"DEFAULT {MAX_INSTALMENTS}",
            f"ALTER TABLE {schema}.clients ADD COLUMN IF NOT EXISTS min_instalment_amount numeric(18, 2) NOT NULL "
            f"DEFAULT 0"]


@dataclass(frozen=True)
class ClientCopy:
    slug: str
    name: str
    country: str
    currency: str
    timezone: str
    locale: str
    default_authorised_channels: tuple[str, ...]
    max_discount_pct: Decimal = Decimal("40")
    promise_window_days: int = DEFAULT_PROMISE_WINDOW_DAYS
    instalments_min: int = MIN_INSTALMENTS
    instalments_max: int = MAX_INSTALMENTS
    min_instalment_amount: Decimal = Decimal(0)

    @property
    def limits(self) -> ArrangementLimits:
        """What this client company lets an arrangement be."""
        return ArrangementLimits(self.max_discount_pct, self.instalments_min, self.instalments_max,
                                 self.min_instalment_amount)


async def upsert_client(session: AsyncSession, schema: str, event: ClientSettings, ctx: HandlerContext) -> None:
    await session.execute(
        sql(f"""INSERT INTO {schema}.clients AS c (slug, name, country, currency, timezone, locale,
                    default_authorised_channels, updated_at, max_discount_pct, promise_window_days,
                    instalments_min, instalments_max, min_instalment_amount)
                 VALUES (:slug, :name, :country, :currency, :timezone, :locale, :channels, :at, :max_discount,
                    :promise_window, :instalments_min, :instalments_max, :min_instalment)
                 ON CONFLICT (slug) DO UPDATE SET name = excluded.name, country = excluded.country,
                    currency = excluded.currency, timezone = excluded.timezone, locale = excluded.locale,
                    default_authorised_channels = excluded.default_authorised_channels,
                    max_discount_pct = excluded.max_discount_pct, promise_window_days = excluded.promise_window_days,
                    instalments_min = excluded.instalments_min, instalments_max = excluded.instalments_max,
                    min_instalment_amount = excluded.min_instalment_amount, updated_at = excluded.updated_at
                 WHERE c.updated_at <= excluded.updated_at"""),
        {"slug": event.slug, "name": event.name, "country": event.country, "currency": event.currency,
         "timezone": event.timezone, "locale": event.locale,
         "channels": list(event.default_authorised_channels), "at": ctx.envelope.occurred_at,
         "max_discount": event.max_discount_pct, "promise_window": event.promise_window_days,
         "instalments_min": event.instalments_min, "instalments_max": event.instalments_max,
         "min_instalment": event.min_instalment_amount},
    )


@functools.cache
def _select(schema: str) -> TextClause:
    return sql(f"SELECT slug, name, country, currency, timezone, locale, default_authorised_channels, "
               f"max_discount_pct, promise_window_days, instalments_min, instalments_max, min_instalment_amount "
               f"FROM {schema}.clients WHERE slug = :s")


async def get_client(session: AsyncSession, schema: str, slug: str) -> ClientCopy | None:
    row = (await session.execute(_select(schema), {"s": slug})).first()
    if row is None:
        return None
    return ClientCopy(row[0], row[1], row[2], row[3], row[4], row[5], tuple(row[6]), Decimal(row[7]), int(row[8]),
                      int(row[9]), int(row[10]), Decimal(row[11]))


@dataclass(frozen=True)
class ClientName:
    slug: str
    name: str


async def client_names(session: AsyncSession, schema: str, scope: Sequence[str] | None, *, after: str | None,
                       limit: int) -> list[ClientName]:
    """The client companies of a service's copy by slug, for a console's choice of one: those of `scope` (every one
    when None), after the slug `after`, at most `limit`."""
    rows = await session.execute(sql(
        f"SELECT slug, name FROM {schema}.clients WHERE (CAST(:all AS boolean) OR slug = ANY(:scope)) "
        "AND (CAST(:after AS text) IS NULL OR slug > :after) ORDER BY slug LIMIT :n"),
        {"all": scope is None, "scope": list(scope or []), "after": after, "n": limit})
    return [ClientName(slug, name) for slug, name in rows.all()]


AfterClient = Callable[[ClientSettings, HandlerContext], Awaitable[None]]


def client_copy_handlers(schema: str, after: AfterClient | None = None) -> dict[type[Event], Handler]:
    """Handlers that keep the copy; `after` runs in the same transaction, e.g. to process what was
    waiting for this client (events on different topics may arrive in any order)."""

    async def on_client(event: ClientSettings, ctx: HandlerContext) -> None:
        await upsert_client(ctx.session, schema, event, ctx)
        if after is not None:
            await after(event, ctx)
        if isinstance(event, ClientRegistered):
            # In the same transaction as the copy (and what `after` set up for it, a default strategy): once ingest
            # reads this, the service answers for the client company (the schema is the service's name).
            await ctx.emit(ClientReady(slug=event.slug, service=schema), client=event.slug)

    return {ClientRegistered: on_client, ClientUpdated: on_client}
