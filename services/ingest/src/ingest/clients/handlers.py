"""Client companies' commands and queries: register one (client.registered), edit its settings, change its
arrangement limits and its cost table (client.updated), lower its upload cap, save and read its mapping profiles.
Every change may carry the caller's If-Match, checked against the row under its lock."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from ingest.clients import store
from ingest.domain.clients import client_errors
from ingest.domain.portfolio import RECOGNISED
from ingest.records import ClientChanges, ClientCompany, ClientTerms, MappingProfile
from ingest.store import outbox
from recaudo_common.db import Database
from recaudo_common.domain_errors import Conflict, Invalid, NotFound
from recaudo_common.events import ClientRegistered, ClientUpdated
from recaudo_common.instalments import ArrangementLimits, limits_errors
from recaudo_common.preconditions import IfMatch, check_if_match, etag_of


def invalid_client(errors: list[str]) -> Invalid:
    return Invalid("invalid_client", "; ".join(errors), title="Invalid client company",
                   errors=[{"msg": e} for e in errors])


def check_upload_cap(max_upload_bytes: int | None, *, platform_cap: int) -> None:
    """A client company's cap may only lower the platform's."""
    if max_upload_bytes is not None and max_upload_bytes > platform_cap:
        raise Invalid("upload_cap_too_high", f"a client company's cap may only lower the platform's ({platform_cap} "
                      "bytes)", title="Upload cap too high")


async def register_client(db: Database, terms: ClientTerms, *, platform_cap: int, now: dt.datetime
                          ) -> ClientCompany:
    errors = client_errors(slug=terms.slug, country=terms.country, currency=terms.currency,
                           timezone=terms.timezone, locale=terms.locale,
                           channels=list(terms.default_authorised_channels))
    errors += limits_errors(ArrangementLimits(terms.max_discount_pct, terms.instalments_min, terms.instalments_max,
                                              terms.min_instalment_amount))
    if errors:
        raise invalid_client(errors)
    check_upload_cap(terms.max_upload_bytes, platform_cap=platform_cap)
    async with db.transaction() as s:
        if not await store.insert_client(s, terms, now):
            raise Conflict("client_exists", f"a client company with slug {terms.slug!r} already exists")
        settings = {k: v for k, v in dataclasses.asdict(terms).items() if k != "max_upload_bytes"}
        await outbox.add(s, [ClientRegistered(**settings).envelope(client=terms.slug, occurred_at=now)])
        created = await store.get_client(s, terms.slug)
    assert created is not None
    return created


def settings_etag(client: ClientCompany) -> str:
    """The ETag of a client company's settings as read (every setting, so any change gives another)."""
    return etag_of(client)


async def _checked(s: AsyncSession, slug: str, if_match: IfMatch | None) -> None:
    """With If-Match, the client company's row held and its settings still the ones the caller read."""
    if if_match is not None:
        current = await store.lock_client(s, slug)
        check_if_match(if_match, None if current is None else settings_etag(current), "the client company's settings")


async def update_client(db: Database, client: ClientCompany, changes: ClientChanges, *, now: dt.datetime,
                        if_match: IfMatch | None = None) -> ClientCompany:
    """An operator edits the client company's settings (client.updated carries them to every service's copy: the
    contact law's local time, the debtor page's language, the channels new accounts may use)."""
    merged = dataclasses.replace(client, **{k: v for k, v in dataclasses.asdict(changes).items() if v is not None})
    errors = client_errors(slug=client.slug, country=client.country, currency=client.currency,
                           timezone=merged.timezone, locale=merged.locale,
                           channels=list(merged.default_authorised_channels))
    if errors:
        raise invalid_client(errors)
    async with db.transaction() as s:
        await _checked(s, client.slug, if_match)
        if merged != client:
            await store.update_settings(s, client.slug, changes, now)
            return await _announced(s, client.slug, now)
        unchanged = await store.get_client(s, client.slug)
    assert unchanged is not None
    return unchanged


async def set_upload_cap(db: Database, client: ClientCompany, max_upload_bytes: int | None, *, platform_cap: int,
                         now: dt.datetime, if_match: IfMatch | None = None) -> ClientCompany:
    """An operator lowers (or restores, with None) the largest portfolio file this client company may send."""
    check_upload_cap(max_upload_bytes, platform_cap=platform_cap)
    async with db.transaction() as s:
        await _checked(s, client.slug, if_match)
        await store.set_upload_cap(s, client.slug, max_upload_bytes, now)
        changed = await store.get_client(s, client.slug)
    assert changed is not None
    return changed


async def _announced(s: AsyncSession, slug: str, now: dt.datetime) -> ClientCompany:
    """The client company as just changed in `s`, announced to every service's copy (client.updated) in the same
    transaction."""
    changed = await store.get_client(s, slug)
    assert changed is not None
    await outbox.add(s, [ClientUpdated(**_settings(changed)).envelope(client=slug, occurred_at=now)])
    return changed


async def set_arrangement_limits(db: Database, client: ClientCompany, limits: ArrangementLimits, *,
                                 now: dt.datetime, if_match: IfMatch | None = None) -> ClientCompany:
    """An operator changes what this client company lets an arrangement be; client.updated carries it to the
    debtor page and payments (arrangements already made keep the terms they were made under)."""
    if errors := limits_errors(limits):
        raise invalid_client(errors)
    async with db.transaction() as s:
        await _checked(s, client.slug, if_match)
        await store.set_arrangement_limits(s, client.slug, limits, now)
        return await _announced(s, client.slug, now)


async def set_cost_table(db: Database, client: ClientCompany, table: dict[str, Decimal], *,
                         now: dt.datetime, if_match: IfMatch | None = None) -> ClientCompany:
    """An operator replaces the client company's own cost of one contact on each channel; client.updated carries it
    to every service's copy (reporting prices the contacts made with it from then on, in every report)."""
    async with db.transaction() as s:
        await _checked(s, client.slug, if_match)
        await store.set_cost_table(s, client.slug, table, now)
        return await _announced(s, client.slug, now)


async def set_write_off_rules(db: Database, client: ClientCompany, rules: dict[str, int] | None, *,
                              now: dt.datetime, if_match: IfMatch | None = None) -> ClientCompany:
    """An operator sets (or, with None, removes) when what the strategy does not pursue is written off;
    client.updated carries the rules to payments, whose periodic job applies them."""
    async with db.transaction() as s:
        await _checked(s, client.slug, if_match)
        await store.set_write_off_rules(s, client.slug, rules, now)
        return await _announced(s, client.slug, now)


def _settings(client: ClientCompany) -> dict[str, object]:
    """What client.* events carry of a client company: all but ingest's own upload cap and record dates."""
    return {k: v for k, v in dataclasses.asdict(client).items() if k not in ("max_upload_bytes", "created_at")}


async def client_companies(db: Database, scope: Sequence[str] | None, *, after: str | None,
                           limit: int) -> list[ClientCompany]:
    """The client companies of `scope` (every one when None), by slug, those after the slug `after`."""
    async with db.transaction() as s:
        return await store.list_clients(s, scope, after=after, limit=limit)


async def save_mapping_profile(db: Database, client: ClientCompany, name: str, mapping: dict[str, str], *,
                               now: dt.datetime) -> MappingProfile:
    unknown = [f for f in mapping if f not in RECOGNISED]
    if unknown:
        raise Invalid("invalid_mapping", f"unknown fields: {', '.join(unknown)}", title="Invalid mapping")
    async with db.transaction() as s:
        await store.put_mapping_profile(s, client.slug, name, mapping, now)
        saved = await store.get_mapping_profile(s, client.slug, name)
    assert saved is not None
    return saved


async def mapping_profile(db: Database, client: ClientCompany, name: str) -> MappingProfile:
    async with db.transaction() as s:
        saved = await store.get_mapping_profile(s, client.slug, name)
    if saved is None:
        raise NotFound(f"mapping profile {name!r}")
    return saved


async def mapping_profiles(db: Database, client: ClientCompany, *, after: str | None, limit: int
                           ) -> list[MappingProfile]:
    """The client company's saved mapping profiles by name, after the name `after`."""
    async with db.transaction() as s:
        return await store.list_mapping_profiles(s, client.slug, after=after, limit=limit)
