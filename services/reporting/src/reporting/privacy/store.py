"""The privacy feature's tables. From events, rebuilt like every read model: each account's pseudonymous debtor and
sealed copy of their data, legal holds, consent evidence. Kept apart from events, never touched by a rebuild: the
erasures and their confirmations, the access log, each client company's retention."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Literal, NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession

from recaudo_common.db import sql, unnest_rows
from recaudo_common.events.privacy import ErasureReason
from reporting.domain.privacy import Standing
from reporting.store import KEPT_COPY, read_model_sql


class SealedCopy(NamedTuple):
    """A restatement or rectification of an account's debtor: one row of `keep_sealed_copies`, in column order."""

    client: str
    account_ref: str
    debtor_ref: uuid.UUID | None
    personal: str | None
    at: dt.datetime


class HoldChange(NamedTuple):
    event_id: uuid.UUID
    client: str
    account_ref: str
    hold: str
    what: str  # set | lifted
    at: dt.datetime


class ConsentRecord(NamedTuple):
    event_id: uuid.UUID
    client: str
    account_ref: str
    channel: str
    what: str  # granted | withdrawn
    source: str
    recorded_at: dt.datetime
    evidence: uuid.UUID | None
    text_version: str | None
    piece: int = 0  # its place in its event: contact.consents_recorded carries an account's pieces together


@dataclass(frozen=True)
class Erasure:
    """An erasure of one person's data, as reporting runs it (pseudonymous: no personal data)."""

    id: uuid.UUID
    client: str
    debtor_ref: uuid.UUID
    account_refs: list[str]
    reason: ErasureReason  # request | retention (the table allows no other)
    note: str | None  # the requester's own words, if any
    status: Literal["in_progress", "completed", "refused"]
    requested_at: dt.datetime
    completed_at: dt.datetime | None  # when it completed, or was refused
    confirmed_by: list[str]


@dataclass(frozen=True)
class AccessEntry:
    """Who read or asked to erase a person's data, and when."""

    what: str  # access | erasure
    by_key: uuid.UUID | None
    by_role: str
    at: dt.datetime


# ------------------------------------------------------------------ from events (rebuilt with the read models)

async def keep_sealed_copies(s: AsyncSession, rows: list[SealedCopy]) -> None:
    """Each account's debtor and the latest sealed copy of their data (never an older one over a newer), in one
    round trip; the batch holds one row per account."""
    source, params = unnest_rows({"client": "text", "account_ref": "text", "debtor_ref": "uuid", "personal": "text",
                                  "at": "timestamptz"}, rows)
    await s.execute(read_model_sql(
        f"""UPDATE reporting.accounts a SET debtor_ref = coalesce(i.debtor_ref, a.debtor_ref),
                personal = coalesce({KEPT_COPY}, CASE WHEN i.debtor_ref IS NULL THEN a.personal END),
                personal_at = i.at
            FROM {source}
            WHERE a.client_slug = i.client AND a.account_ref = i.account_ref
              AND (a.personal_at IS NULL OR a.personal_at <= i.at)"""), params)


async def give_debtor(s: AsyncSession, client: str, account_ref: str, debtor_ref: uuid.UUID) -> None:
    """An account kept without a debtor (placed before #19) gets its debtor's pseudonym, whatever copy it keeps."""
    await s.execute(read_model_sql(
        "UPDATE reporting.accounts SET debtor_ref = :d WHERE client_slug = :c AND account_ref = :r "
        "AND debtor_ref IS NULL"), {"c": client, "r": account_ref, "d": debtor_ref})


async def record_hold(s: AsyncSession, change: HoldChange) -> None:
    await s.execute(read_model_sql(
        "INSERT INTO reporting.legal_holds (event_id, client_slug, account_ref, hold, what, at) "
        "VALUES (:e, :c, :r, :h, :w, :at) ON CONFLICT DO NOTHING"),
        {"e": change.event_id, "c": change.client, "r": change.account_ref, "h": change.hold, "w": change.what,
         "at": change.at})


async def record_consents(s: AsyncSession, records: list[ConsentRecord]) -> None:
    """Consent evidence, once per event and piece, in one round trip however many (a placement brings one per
    channel its client's file authorises)."""
    source, params = unnest_rows(
        {"event_id": "uuid", "client": "text", "account_ref": "text", "channel": "text", "what": "text",
         "source": "text", "recorded_at": "timestamptz", "evidence": "uuid", "text_version": "text",
         "piece": "smallint"}, records)
    await s.execute(read_model_sql(
        f"""INSERT INTO reporting.consents (event_id, client_slug, account_ref, channel, what, source, recorded_at,
                evidence, text_version, piece)
            SELECT event_id, client, account_ref, channel, what, source, recorded_at, evidence, text_version, piece
            FROM {source} ON CONFLICT DO NOTHING"""), params)


async def drop_sealed_copies(s: AsyncSession, client: str, debtor_ref: uuid.UUID) -> int:
    """Reporting's own sealed copies of the person's data go with the erasure; the accounts stay."""
    done = await s.execute(sql(
        "UPDATE reporting.accounts SET personal = NULL, personal_at = NULL WHERE client_slug = :c "
        "AND debtor_ref = :d AND personal IS NOT NULL"), {"c": client, "d": debtor_ref})
    return int(getattr(done, "rowcount", 0) or 0)


# ------------------------------------------------------------------ a person's accounts

STANDING = """a.account_ref, a.balance, a.status, a.recalled_at,
    coalesce((SELECT max(sc.at) FROM reporting.status_changes sc WHERE sc.client_slug = a.client_slug
                AND sc.account_ref = a.account_ref AND sc.status IN ('paid', 'settled', 'written_off')),
             (SELECT max(p.paid_at) FROM reporting.payments p WHERE p.client_slug = a.client_slug
                AND p.account_ref = a.account_ref),
             a.placed_at) AS closed_at,
    (SELECT max(p.paid_at) FROM reporting.payments p WHERE p.client_slug = a.client_slug
       AND p.account_ref = a.account_ref) AS last_paid_at,
    (SELECT max(v.at) FROM reporting.reversals v WHERE v.client_slug = a.client_slug
       AND v.account_ref = a.account_ref) AS last_reversed_at"""


async def standings(s: AsyncSession, client: str, debtor_ref: uuid.UUID) -> list[Standing]:
    """Where each of the person's accounts with the client company stands (their closure, when not active, is the
    last closing status change: paid, settled or written off; else the last payment, else the placement; and
    their last payment and last reversal, which move their end when they came after it)."""
    rows = await s.execute(sql(
        f"SELECT {STANDING} FROM reporting.accounts a WHERE a.client_slug = :c AND a.debtor_ref = :d "
        "ORDER BY a.account_ref"), {"c": client, "d": debtor_ref})
    return [Standing(**r) for r in rows.mappings().all()]


async def people_with_every_account_ended(s: AsyncSession, client: str) -> dict[uuid.UUID, list[Standing]]:
    """The standings of the client company's people none of whose accounts is active and who have no erasure
    (running or done; a refused one does not count): the only ones retention may concern. The domain decides which
    of them are due."""
    rows = await s.execute(sql(
        f"""WITH people AS (
                SELECT a.debtor_ref FROM reporting.accounts a
                WHERE a.client_slug = :c AND a.debtor_ref IS NOT NULL
                  AND NOT EXISTS (SELECT 1 FROM reporting.erasures e WHERE e.client_slug = :c
                                  AND e.debtor_ref = a.debtor_ref AND e.status <> 'refused')
                GROUP BY a.debtor_ref
                HAVING bool_and(a.recalled_at IS NOT NULL OR a.status IN ('paid', 'settled', 'written_off')
                                OR a.balance <= 0))
            SELECT a.debtor_ref, {STANDING} FROM reporting.accounts a JOIN people USING (debtor_ref)
            WHERE a.client_slug = :c ORDER BY a.debtor_ref, a.account_ref"""), {"c": client})
    found: dict[uuid.UUID, list[Standing]] = {}
    for r in rows.mappings().all():
        found.setdefault(r["debtor_ref"], []).append(Standing(
            account_ref=r["account_ref"], balance=r["balance"], status=r["status"], recalled_at=r["recalled_at"],
            closed_at=r["closed_at"], last_paid_at=r["last_paid_at"],
            last_reversed_at=r["last_reversed_at"]))
    return found


# ------------------------------------------------------------------ erasures (not derived from events)

ERASURE_COLUMNS = """e.id, e.client_slug AS client, e.debtor_ref, e.account_refs, e.reason, e.note, e.status,
    e.requested_at, e.completed_at,
    ARRAY(SELECT c.service FROM reporting.erasure_confirmations c WHERE c.erasure_id = e.id
          ORDER BY c.service) AS confirmed_by"""


async def running_erasure(s: AsyncSession, client: str, debtor_ref: uuid.UUID) -> Erasure | None:
    row = (await s.execute(sql(
        f"SELECT {ERASURE_COLUMNS} FROM reporting.erasures e WHERE e.client_slug = :c AND e.debtor_ref = :d "
        "AND e.status = 'in_progress'"), {"c": client, "d": debtor_ref})).mappings().first()
    return Erasure(**row) if row else None


async def add_erasure(s: AsyncSession, *, erasure_id: uuid.UUID, client: str, debtor_ref: uuid.UUID,
                      account_refs: list[str], reason: str, note: str | None, by: uuid.UUID | None,
                      now: dt.datetime) -> bool:
    """Records an erasure in progress; False when another one for the person got there first (a race)."""
    added = await s.execute(sql(
        "INSERT INTO reporting.erasures (id, client_slug, debtor_ref, account_refs, reason, note, status, "
        "requested_at, requested_by) VALUES (:id, :c, :d, :refs, :why, :note, 'in_progress', :now, :by) "
        "ON CONFLICT (client_slug, debtor_ref) WHERE status = 'in_progress' DO NOTHING RETURNING id"),
        {"id": erasure_id, "c": client, "d": debtor_ref, "refs": account_refs, "why": reason, "note": note,
         "now": now, "by": by})
    return added.first() is not None


async def erasure(s: AsyncSession, client: str, erasure_id: uuid.UUID, *, lock: bool = False) -> Erasure | None:
    row = (await s.execute(sql(
        f"SELECT {ERASURE_COLUMNS} FROM reporting.erasures e WHERE e.client_slug = :c AND e.id = :id"
        + (" FOR UPDATE OF e" if lock else "")), {"c": client, "id": erasure_id})).mappings().first()
    return Erasure(**row) if row else None


async def erasures(s: AsyncSession, client: str, *, after: tuple[dt.datetime, uuid.UUID] | None,
                   limit: int) -> list[Erasure]:
    """Newest first, then by id; those after `after` (the last one of the previous page)."""
    after_clause = ("AND (e.requested_at < :t OR (e.requested_at = :t AND e.id > :id)) " if after else "")
    rows = await s.execute(sql(
        f"SELECT {ERASURE_COLUMNS} FROM reporting.erasures e WHERE e.client_slug = :c {after_clause}"
        "ORDER BY e.requested_at DESC, e.id LIMIT :n"),
        {"c": client, "n": limit, **({"t": after[0], "id": after[1]} if after else {})})
    return [Erasure(**r) for r in rows.mappings().all()]


async def confirm(s: AsyncSession, *, erasure_id: uuid.UUID, service: str, erased_rows: int,
                  at: dt.datetime) -> bool:
    """A service's confirmation, kept once (a repeated confirmation changes nothing: False)."""
    kept = await s.execute(sql(
        "INSERT INTO reporting.erasure_confirmations (erasure_id, service, erased_rows, confirmed_at) "
        "VALUES (:id, :svc, :n, :at) ON CONFLICT DO NOTHING RETURNING 1"),
        {"id": erasure_id, "svc": service, "n": erased_rows, "at": at})
    return kept.first() is not None


async def complete(s: AsyncSession, erasure_id: uuid.UUID, now: dt.datetime) -> None:
    await s.execute(sql(
        "UPDATE reporting.erasures SET status = 'completed', completed_at = :now WHERE id = :id "
        "AND status = 'in_progress'"), {"id": erasure_id, "now": now})


async def refuse(s: AsyncSession, erasure_id: uuid.UUID, now: dt.datetime) -> None:
    await s.execute(sql(
        "UPDATE reporting.erasures SET status = 'refused', completed_at = :now WHERE id = :id "
        "AND status = 'in_progress'"), {"id": erasure_id, "now": now})


# ------------------------------------------------------------------ the access log (not derived from events)

async def log_access(s: AsyncSession, *, client: str, debtor_ref: uuid.UUID, what: str, by_key: uuid.UUID | None,
                     by_role: str, at: dt.datetime) -> None:
    await s.execute(sql(
        "INSERT INTO reporting.access_log (client_slug, debtor_ref, what, by_key, by_role, at) "
        "VALUES (:c, :d, :w, :k, :r, :at)"),
        {"c": client, "d": debtor_ref, "w": what, "k": by_key, "r": by_role, "at": at})


async def access_log(s: AsyncSession, client: str, debtor_ref: uuid.UUID) -> list[AccessEntry]:
    rows = await s.execute(sql(
        "SELECT what, by_key, by_role, at FROM reporting.access_log WHERE client_slug = :c AND debtor_ref = :d "
        "ORDER BY at, id"), {"c": client, "d": debtor_ref})
    return [AccessEntry(**r) for r in rows.mappings().all()]


# ------------------------------------------------------------------ retention (not derived from events)

async def retention_of(s: AsyncSession, client: str) -> int | None:
    found: int | None = await s.scalar(sql(
        "SELECT days_after_closure FROM reporting.retention WHERE client_slug = :c"), {"c": client})
    return found


async def set_retention(s: AsyncSession, client: str, days_after_closure: int | None, now: dt.datetime) -> None:
    await s.execute(sql(
        "INSERT INTO reporting.retention (client_slug, days_after_closure, updated_at) VALUES (:c, :d, :now) "
        "ON CONFLICT (client_slug) DO UPDATE SET days_after_closure = excluded.days_after_closure, "
        "updated_at = excluded.updated_at"), {"c": client, "d": days_after_closure, "now": now})


async def retentions(s: AsyncSession) -> list[tuple[str, int]]:
    """Every client company with a retention configured, and its days after closure."""
    rows = await s.execute(sql(
        "SELECT client_slug, days_after_closure FROM reporting.retention WHERE days_after_closure IS NOT NULL "
        "ORDER BY client_slug"))
    return [(r[0], int(r[1])) for r in rows.all()]
