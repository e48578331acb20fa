"""The tables of access requests that reach every service (not derived from events, never touched by a rebuild):
each request, and each service's part of the answer, sealed with the person's key until their erasure."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from recaudo_common.db import sql


@dataclass(frozen=True)
class AccessRequest:
    """An access request, as reporting runs it (pseudonymous: no personal data)."""

    id: uuid.UUID
    client: str
    debtor_ref: uuid.UUID
    account_refs: list[str]
    requested_at: dt.datetime
    completed_at: dt.datetime | None
    answered_by: list[str]


@dataclass(frozen=True)
class SealedPart:
    service: str
    part: str | None  # the service's HeldPart sealed with the person's key; None once they are erased
    records: int
    answered_at: dt.datetime


COLUMNS = """r.id, r.client_slug AS client, r.debtor_ref, r.account_refs, r.requested_at, r.completed_at,
    ARRAY(SELECT p.service FROM reporting.access_parts p WHERE p.access_id = r.id ORDER BY p.service) AS answered_by"""


async def add(s: AsyncSession, *, access_id: uuid.UUID, client: str, debtor_ref: uuid.UUID, account_refs: list[str],
              by: uuid.UUID | None, now: dt.datetime) -> None:
    await s.execute(sql(
        "INSERT INTO reporting.access_requests (id, client_slug, debtor_ref, account_refs, requested_at, "
        "requested_by) VALUES (:id, :c, :d, :refs, :now, :by)"),
        {"id": access_id, "c": client, "d": debtor_ref, "refs": account_refs, "now": now, "by": by})


async def get(s: AsyncSession, client: str, access_id: uuid.UUID, *, lock: bool = False) -> AccessRequest | None:
    row = (await s.execute(sql(
        f"SELECT {COLUMNS} FROM reporting.access_requests r WHERE r.client_slug = :c AND r.id = :id"
        + (" FOR UPDATE OF r" if lock else "")), {"c": client, "id": access_id})).mappings().first()
    return AccessRequest(**row) if row else None


async def person_held(s: AsyncSession, client: str, debtor_ref: uuid.UUID) -> bool:
    """Whether reporting still holds a sealed copy of the person (none once they are erased)."""
    return bool(await s.scalar(sql(
        "SELECT EXISTS (SELECT 1 FROM reporting.accounts WHERE client_slug = :c AND debtor_ref = :d "
        "AND personal IS NOT NULL)"), {"c": client, "d": debtor_ref}))


async def add_part(s: AsyncSession, *, access_id: uuid.UUID, service: str, part: str | None, records: int,
                   at: dt.datetime) -> None:
    """A service's part, kept once (an answer repeated changes nothing)."""
    await s.execute(sql(
        "INSERT INTO reporting.access_parts (access_id, service, part, records, answered_at) "
        "VALUES (:id, :svc, :part, :n, :at) ON CONFLICT DO NOTHING"),
        {"id": access_id, "svc": service, "part": part, "n": records, "at": at})


async def complete(s: AsyncSession, access_id: uuid.UUID, now: dt.datetime) -> None:
    await s.execute(sql(
        "UPDATE reporting.access_requests SET completed_at = :now WHERE id = :id AND completed_at IS NULL"),
        {"id": access_id, "now": now})


async def parts(s: AsyncSession, access_id: uuid.UUID) -> list[SealedPart]:
    rows = await s.execute(sql(
        "SELECT service, part, records, answered_at FROM reporting.access_parts WHERE access_id = :id "
        "ORDER BY service"), {"id": access_id})
    return [SealedPart(**r) for r in rows.mappings().all()]


async def drop_parts(s: AsyncSession, client: str, debtor_ref: uuid.UUID) -> None:
    """The person's erasure takes every service's answer with it (their key opens none of them any more)."""
    await s.execute(sql(
        "UPDATE reporting.access_parts p SET part = NULL FROM reporting.access_requests r "
        "WHERE r.id = p.access_id AND r.client_slug = :c AND r.debtor_ref = :d AND p.part IS NOT NULL"),
        {"c": client, "d": debtor_ref})
