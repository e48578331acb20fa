"""Client companies' tables (ingest.clients, ingest.mapping_profiles): ingest keeps the companies themselves."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.records import ClientChanges, ClientCompany, ClientTerms, MappingProfile
from recaudo_common.db import sql
from recaudo_common.instalments import ArrangementLimits

CLIENT_COLUMNS = ("slug, name, country, currency, timezone, locale, default_authorised_channels, max_discount_pct, "
                  "promise_window_days, max_upload_bytes, created_at, instalments_min, instalments_max, "
                  "min_instalment_amount, cost_table, write_off_rules")


def _client(row: RowMapping) -> ClientCompany:
    return ClientCompany(
        slug=row["slug"], name=row["name"], country=row["country"], currency=row["currency"],
        timezone=row["timezone"], locale=row["locale"],
        default_authorised_channels=list(row["default_authorised_channels"]),
        max_discount_pct=row["max_discount_pct"], promise_window_days=row["promise_window_days"],
        max_upload_bytes=row["max_upload_bytes"], created_at=row["created_at"],
        instalments_min=row["instalments_min"], instalments_max=row["instalments_max"],
        min_instalment_amount=row["min_instalment_amount"],
        cost_table=None if row["cost_table"] is None else {c: Decimal(v) for c, v in row["cost_table"].items()},
        write_off_rules=row["write_off_rules"])


async def insert_client(s: AsyncSession, c: ClientTerms, now: dt.datetime) -> bool:
    row = await s.execute(sql(
        "INSERT INTO ingest.clients (slug, name, country, currency, timezone, locale, "
        "default_authorised_channels, max_discount_pct, promise_window_days, max_upload_bytes, created_at, "
        "updated_at, instalments_min, instalments_max, min_instalment_amount) VALUES (:slug, :name, :country, "
        ":currency, :timezone, :locale, :default_authorised_channels, :max_discount_pct, :promise_window_days, "
        ":max_upload_bytes, :now, :now, :instalments_min, :instalments_max, :min_instalment_amount) "
        "ON CONFLICT DO NOTHING RETURNING slug"),
        {**dataclasses.asdict(c), "now": now})
    return row.first() is not None


async def set_upload_cap(s: AsyncSession, slug: str, max_upload_bytes: int | None, now: dt.datetime) -> bool:
    row = await s.execute(sql("UPDATE ingest.clients SET max_upload_bytes = :m, updated_at = :now WHERE slug = :s "
                              "RETURNING slug"), {"m": max_upload_bytes, "now": now, "s": slug})
    return row.first() is not None


async def set_arrangement_limits(s: AsyncSession, slug: str, limits: ArrangementLimits, now: dt.datetime) -> None:
    await s.execute(sql(
        "UPDATE ingest.clients SET max_discount_pct = :d, instalments_min = :lo, instalments_max = :hi, "
        "min_instalment_amount = :m, updated_at = :now WHERE slug = :s"),
        {"d": limits.max_discount_pct, "lo": limits.instalments_min, "hi": limits.instalments_max,
         "m": limits.min_instalment_amount, "now": now, "s": slug})


async def set_cost_table(s: AsyncSession, slug: str, table: dict[str, Decimal], now: dt.datetime) -> None:
    await s.execute(sql("UPDATE ingest.clients SET cost_table = CAST(:t AS jsonb), updated_at = :now WHERE slug = :s"),
                    {"t": json.dumps({c: str(v) for c, v in table.items()}), "now": now, "s": slug})


async def set_write_off_rules(s: AsyncSession, slug: str, rules: dict[str, int] | None, now: dt.datetime) -> None:
    await s.execute(sql("UPDATE ingest.clients SET write_off_rules = CAST(:w AS jsonb), updated_at = :now "
                        "WHERE slug = :s"), {"w": None if rules is None else json.dumps(rules), "now": now, "s": slug})


async def get_client(s: AsyncSession, slug: str) -> ClientCompany | None:
    row = (await s.execute(sql(f"SELECT {CLIENT_COLUMNS} FROM ingest.clients WHERE slug = :s"),
                           {"s": slug})).mappings().first()
    return _client(row) if row else None


async def lock_client(s: AsyncSession, slug: str) -> ClientCompany | None:
    """The client company as it is now, its row held until the transaction ends (a change checked against what the
    caller read is kept before anyone else's)."""
    row = (await s.execute(sql(f"SELECT {CLIENT_COLUMNS} FROM ingest.clients WHERE slug = :s FOR UPDATE"),
                           {"s": slug})).mappings().first()
    return _client(row) if row else None


async def update_settings(s: AsyncSession, slug: str, changes: ClientChanges, now: dt.datetime) -> None:
    """Changes the settings given (not None); the column names are ClientChanges' fields, never the caller's."""
    given = {k: v for k, v in dataclasses.asdict(changes).items() if v is not None}
    columns = ", ".join(f"{c} = :{c}" for c in given)
    await s.execute(sql(f"UPDATE ingest.clients SET {columns}, updated_at = :now WHERE slug = :s"),
                    {**given, "now": now, "s": slug})


async def list_clients(s: AsyncSession, slugs: Sequence[str] | None, *, after: str | None = None,
                       limit: int | None = None) -> list[ClientCompany]:
    """By slug, those of `slugs` (every one when None), after the slug `after`, at most `limit`."""
    where = " AND ".join(["TRUE", *(["slug = ANY(:slugs)"] if slugs is not None else []),
                          *(["slug > :after"] if after is not None else [])])
    rows = (await s.execute(sql(f"SELECT {CLIENT_COLUMNS} FROM ingest.clients WHERE {where} ORDER BY slug "
                                f"{'LIMIT :n' if limit is not None else ''}"),
                            {"slugs": list(slugs or []), "after": after, "n": limit})).mappings().all()
    return [_client(r) for r in rows]


async def put_mapping_profile(s: AsyncSession, client: str, name: str, mapping: dict[str, str],
                              now: dt.datetime) -> None:
    await s.execute(sql(
        "INSERT INTO ingest.mapping_profiles (client_slug, name, mapping, updated_at) VALUES (:c, :n, "
        "CAST(:m AS jsonb), :now) ON CONFLICT (client_slug, name) DO UPDATE SET mapping = excluded.mapping, "
        "updated_at = excluded.updated_at"), {"c": client, "n": name, "m": json.dumps(mapping), "now": now})


async def get_mapping_profile(s: AsyncSession, client: str, name: str) -> MappingProfile | None:
    row = (await s.execute(sql(
        "SELECT name, mapping, updated_at FROM ingest.mapping_profiles WHERE client_slug = :c AND name = :n"),
        {"c": client, "n": name})).mappings().first()
    return MappingProfile(name=row["name"], mapping=dict(row["mapping"]), updated_at=row["updated_at"]) if row else None


async def list_mapping_profiles(s: AsyncSession, client: str, *, after: str | None, limit: int
                                ) -> list[MappingProfile]:
    """The client company's mapping profiles by name, those after the name `after`, at most `limit`."""
    rows = (await s.execute(sql(
        "SELECT name, mapping, updated_at FROM ingest.mapping_profiles WHERE client_slug = :c"
        f"{' AND name > :after' if after is not None else ''} ORDER BY name LIMIT :n"),
        {"c": client, "after": after, "n": limit})).mappings().all()
    return [MappingProfile(name=r["name"], mapping=dict(r["mapping"]), updated_at=r["updated_at"]) for r in rows]
