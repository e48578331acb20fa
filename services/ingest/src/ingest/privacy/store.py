"""The tables an erasure or a retention pass touches in schema `ingest`: accounts' personal fields, the raw cells of
rejected rows and warnings, and the stored bytes of uploads not yet processed."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from ingest.debtors import PERSONAL_FIELDS
from ingest.domain.identifiers import Identifiers
from recaudo_common.db import sql, unnest_rows
from recaudo_common.personal_data import HeldRecord, PersonalData

ErasedWhy = Literal["request", "retention"]
# What replaces a row's raw cells: a JSON true is never a cell (cells are kept as text), so it is told apart from a
# file whose column happened to be named "erased".
ERASED = """i.raw @> '{"erased": true}'"""
# Besides the person's fields, the account's other columns of the file go too: free text of the client's
# ("Referencia personal", "Teléfono trabajo") that may name the person.
ERASED_FROM_ACCOUNTS = sorted(PERSONAL_FIELDS | {"extra"})


def erased_marker(why: ErasedWhy) -> str:
    return json.dumps({"erased": True, "why": why})


@dataclass(frozen=True)
class PersonOnAccount:
    """What an account of ingest says of its debtor (as its last file stated it); None once erased."""

    account_ref: str
    debtor_id: str | None
    full_name: str | None
    debtor_id_type: str | None
    phones: tuple[str, ...]
    email: str | None
    address: str | None

    def personal_data(self) -> PersonalData:
        """What the account says of its debtor, as an event seals it."""
        return PersonalData(full_name=self.full_name or "", id_number=self.debtor_id or "",
                            id_type=self.debtor_id_type, phones=self.phones, email=self.email, address=self.address)


@dataclass(frozen=True)
class Unannounced:
    """An account whose pseudonym was never announced downstream, and what it says of its debtor."""

    client: str
    debtor_ref: uuid.UUID
    person: PersonOnAccount


async def accounts_without_person(s: AsyncSession, *, after: tuple[str, str], limit: int
                                  ) -> list[tuple[str, PersonOnAccount]]:
    """Accounts placed before pseudonyms (#19 step B1), by (client, account_ref) after `after`, locked."""
    rows = (await s.execute(sql(
        "SELECT client_slug, account_ref, debtor_id, stated FROM ingest.accounts"
        " WHERE debtor_ref IS NULL AND debtor_id IS NOT NULL AND (client_slug, account_ref) > (:c, :a)"
        " ORDER BY client_slug, account_ref LIMIT :n FOR UPDATE SKIP LOCKED"),
        {"c": after[0], "a": after[1], "n": limit})).all()
    return [(r.client_slug, _person(r.account_ref, r.debtor_id, r.stated)) for r in rows]


async def set_debtor_refs(s: AsyncSession, client: str, refs: Mapping[str, uuid.UUID]) -> None:
    """Each account (by account_ref) gets its debtor's pseudonym; one that has one already keeps it."""
    if not refs:
        return
    source, params = unnest_rows({"account_ref": "text", "debtor_ref": "uuid"}, list(refs.items()), alias="r")
    await s.execute(sql(
        f"UPDATE ingest.accounts a SET debtor_ref = r.debtor_ref FROM {source}"
        " WHERE a.client_slug = :c AND a.account_ref = r.account_ref AND a.debtor_ref IS NULL"),
        {**params, "c": client})


async def accounts_unannounced(s: AsyncSession, *, after: tuple[str, str], limit: int) -> list[Unannounced]:
    """Accounts with a person whose pseudonym no event has announced downstream (their copies elsewhere came from
    events in clear, before #19), by (client, account_ref) after `after`, locked; another process's are skipped.
    An erased account (no id number) has nothing to announce."""
    rows = (await s.execute(sql(
        "SELECT client_slug, account_ref, debtor_ref, debtor_id, stated FROM ingest.accounts"
        " WHERE pseudonym_announced_at IS NULL AND debtor_id IS NOT NULL AND debtor_ref IS NOT NULL"
        " AND (client_slug, account_ref) > (:c, :a)"
        " ORDER BY client_slug, account_ref LIMIT :n FOR UPDATE SKIP LOCKED"),
        {"c": after[0], "a": after[1], "n": limit})).all()
    return [Unannounced(r.client_slug, r.debtor_ref, _person(r.account_ref, r.debtor_id, r.stated)) for r in rows]


async def mark_announced(s: AsyncSession, client: str, account_refs: Sequence[str], now: dt.datetime) -> None:
    await s.execute(sql(
        "UPDATE ingest.accounts SET pseudonym_announced_at = :now WHERE client_slug = :c"
        " AND account_ref = ANY(:refs) AND pseudonym_announced_at IS NULL"),
        {"c": client, "refs": list(account_refs), "now": now})


def _person(account_ref: str, debtor_id: str | None, stated: object) -> PersonOnAccount:
    said = stated if isinstance(stated, dict) else json.loads(str(stated))
    return PersonOnAccount(account_ref=account_ref, debtor_id=debtor_id, full_name=said.get("full_name"),
                           debtor_id_type=said.get("debtor_id_type"), phones=tuple(said.get("phones") or ()),
                           email=said.get("email"), address=said.get("address"))


async def person_on_accounts(s: AsyncSession, client: str, debtor_ref: uuid.UUID, account_refs: Sequence[str] = (),
                             *, lock: bool = True) -> list[PersonOnAccount]:
    """The person's accounts (by pseudonym, or named), locked until the transaction ends unless `lock` is False."""
    rows = (await s.execute(sql(
        "SELECT account_ref, debtor_id, stated FROM ingest.accounts WHERE client_slug = :c"
        " AND (debtor_ref = :ref OR account_ref = ANY(:refs)) ORDER BY account_ref"
        + (" FOR UPDATE" if lock else "")),
        {"c": client, "ref": debtor_ref, "refs": list(account_refs)})).all()
    return [_person(r.account_ref, r.debtor_id, r.stated) for r in rows]


async def erase_accounts(s: AsyncSession, client: str, account_refs: Sequence[str]) -> int:
    """Blanks the accounts' personal data; their refs, amounts, dates and pseudonym stay. How many it changed
    (0 when asked again)."""
    changed = await s.execute(sql(
        "UPDATE ingest.accounts SET debtor_id = NULL,"
        " stated = (stated - CAST(:fields AS text[])) || jsonb_build_object('extra', '{}'::jsonb)"
        " WHERE client_slug = :c AND account_ref = ANY(:refs)"
        " AND (debtor_id IS NOT NULL OR stated ?| CAST(:personal AS text[]) OR stated->'extra' <> '{}'::jsonb)"
        " RETURNING account_ref"),
        {"c": client, "refs": list(account_refs), "fields": ERASED_FROM_ACCOUNTS,
         "personal": sorted(PERSONAL_FIELDS)})
    return len(changed.all())


async def issues_naming(s: AsyncSession, client: str, person: Identifiers, names: Sequence[str]) -> list[int]:
    """The rejected rows and warnings of the client company's uploads whose raw cells name the person. The
    database finds the rows that may (a coarse search of the row's text for each identifier, the `names` in
    their likely spellings); each of their cells is then compared exactly (Identifiers.named_in)."""
    if not person:
        return []
    rows = (await s.execute(sql(
        "SELECT i.id, i.raw FROM ingest.row_issues i JOIN ingest.portfolios p ON p.id = i.portfolio_id"
        f" WHERE p.client_slug = :c AND NOT ({ERASED}) AND ("
        "   EXISTS (SELECT 1 FROM unnest(CAST(:ids AS text[])) n"
        "           WHERE strpos(upper(regexp_replace(i.raw::text, '[^0-9A-Za-z]', '', 'g')), n) > 0)"
        "   OR EXISTS (SELECT 1 FROM unnest(CAST(:phones AS text[])) n"
        "              WHERE strpos(regexp_replace(i.raw::text, '[^0-9]', '', 'g'), n) > 0)"
        "   OR EXISTS (SELECT 1 FROM unnest(CAST(:texts AS text[])) n WHERE strpos(lower(i.raw::text), lower(n)) > 0))"
        " ORDER BY i.id"),
        {"c": client, "ids": sorted(person.id_numbers), "phones": sorted(person.phone_digits),
         "texts": [*sorted(person.emails), *names]})).all()
    return [r.id for r in rows if person.named_in_any(str(v) for v in dict(r.raw).values())]


async def erase_issues(s: AsyncSession, issue_ids: Sequence[int], why: ErasedWhy) -> int:
    if not issue_ids:
        return 0
    erased = await s.execute(sql(
        f"UPDATE ingest.row_issues i SET raw = CAST(:marker AS jsonb) WHERE i.id = ANY(:ids) AND NOT ({ERASED})"
        " RETURNING i.id"), {"ids": list(issue_ids), "marker": erased_marker(why)})
    return len(erased.all())


async def upload_with_raw_cells_due(s: AsyncSession, cutoff: dt.datetime) -> uuid.UUID | None:
    """An upload finished before `cutoff` whose rejected rows still keep their raw cells (locked; others skip it)."""
    found: uuid.UUID | None = await s.scalar(sql(
        "SELECT id FROM ingest.portfolios WHERE raw_cells_expired_at IS NULL AND finished_at IS NOT NULL"
        " AND finished_at < :cutoff ORDER BY finished_at LIMIT 1 FOR UPDATE SKIP LOCKED"), {"cutoff": cutoff})
    return found


async def expire_raw_cells(s: AsyncSession, portfolio_id: uuid.UUID, *, limit: int) -> int:
    """Blanks up to `limit` of the upload's rows' raw cells; how many."""
    blanked = await s.execute(sql(
        "UPDATE ingest.row_issues SET raw = CAST(:marker AS jsonb) WHERE id IN ("
        f" SELECT i.id FROM ingest.row_issues i WHERE i.portfolio_id = :p AND NOT ({ERASED}) ORDER BY i.id"
        " LIMIT :n) RETURNING id"), {"p": portfolio_id, "n": limit, "marker": erased_marker("retention")})
    return len(blanked.all())


# What a refused upload's record shows of the file's first row (its headers, and those several fields matched): a
# file sent without its header row shows a person's data there, kept as long as raw cells are.
FIRST_ROW = ["headers", "ambiguous"]


async def mark_raw_cells_expired(s: AsyncSession, portfolio_id: uuid.UUID, now: dt.datetime) -> None:
    await s.execute(sql(
        "UPDATE ingest.portfolios SET raw_cells_expired_at = :now,"
        " error_detail = error_detail - CAST(:first_row AS text[]) WHERE id = :p"),
        {"p": portfolio_id, "now": now, "first_row": FIRST_ROW})


async def refusals_naming(s: AsyncSession, client: str, person: Identifiers) -> list[uuid.UUID]:
    """The client company's refused uploads whose record shows a first row naming the person (a file sent without
    its header row). Few: only uploads refused for their columns keep one."""
    if not person:
        return []
    rows = await s.execute(sql(
        "SELECT id, error_detail->'headers' AS headers FROM ingest.portfolios"
        " WHERE client_slug = :c AND error_detail ? 'headers'"), {"c": client})
    return [r.id for r in rows if person.named_in_any(str(h) for h in (r.headers or []))]


async def erase_first_rows(s: AsyncSession, portfolio_ids: Sequence[uuid.UUID]) -> int:
    if not portfolio_ids:
        return 0
    erased = await s.execute(sql(
        "UPDATE ingest.portfolios SET error_detail = error_detail - CAST(:first_row AS text[])"
        " WHERE id = ANY(:ids) AND error_detail ?| CAST(:first_row AS text[]) RETURNING id"),
        {"ids": list(portfolio_ids), "first_row": FIRST_ROW})
    return len(erased.all())


async def stale_uploads(s: AsyncSession, cutoff: dt.datetime, limit: int = 20) -> list[uuid.UUID]:
    """Uploads received before `cutoff` and never processed (no worker ran them), whose bytes are still stored;
    skipping any a worker holds right now (its lease, a session advisory lock)."""
    rows = await s.execute(sql(
        "SELECT id FROM ingest.portfolios WHERE status IN ('queued', 'processing') AND created_at < :cutoff"
        " AND pg_try_advisory_xact_lock(hashtext('recaudo.portfolio.' || id::text))"
        " ORDER BY created_at LIMIT :n FOR UPDATE SKIP LOCKED"), {"cutoff": cutoff, "n": limit})
    return [r[0] for r in rows]


# ------------------------------------------------------------------ an access request (what an erasure would take)

def _text(value: object) -> str:
    return ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)


async def held_on_accounts(s: AsyncSession, client: str, debtor_ref: uuid.UUID, account_refs: Sequence[str]
                           ) -> list[HeldRecord]:
    """The person's accounts as the client company's file last stated them: their fields and the file's other
    columns (what an erasure blanks)."""
    rows = await s.execute(sql(
        "SELECT account_ref, debtor_id, stated FROM ingest.accounts WHERE client_slug = :c"
        " AND (debtor_ref = :ref OR account_ref = ANY(:refs)) ORDER BY account_ref"),
        {"c": client, "ref": debtor_ref, "refs": list(account_refs)})
    held: list[HeldRecord] = []
    for r in rows:
        said = r.stated if isinstance(r.stated, dict) else json.loads(str(r.stated))
        values = {field: _text(said[field]) for field in sorted(PERSONAL_FIELDS) if said.get(field)}
        if r.debtor_id:
            values["debtor_id"] = r.debtor_id
        values |= {f"extra: {name}": _text(v) for name, v in (said.get("extra") or {}).items() if v not in (None, "")}
        if values:
            held.append(HeldRecord(kind="account", account_ref=r.account_ref, values=values))
    return held


async def held_in_issues(s: AsyncSession, issue_ids: Sequence[int]) -> list[HeldRecord]:
    """Rejected rows and warnings whose raw cells name the person: the cells, as the file had them."""
    rows = await s.execute(sql(
        "SELECT i.kind, i.row_number, i.raw, p.id AS upload, p.created_at FROM ingest.row_issues i"
        f" JOIN ingest.portfolios p ON p.id = i.portfolio_id WHERE i.id = ANY(:ids) AND NOT ({ERASED}) ORDER BY i.id"),
        {"ids": list(issue_ids)})
    return [HeldRecord(kind="rejected_row" if r.kind == "rejection" else "row_with_warning", at=r.created_at,
                       where=f"upload {r.upload}, row {r.row_number}",
                       values={name: _text(v) for name, v in dict(r.raw).items() if v not in (None, "")})
            for r in rows]


async def held_in_refusals(s: AsyncSession, portfolio_ids: Sequence[uuid.UUID]) -> list[HeldRecord]:
    """The first row an upload refused for its columns shows (a file without its header row) naming the person."""
    rows = await s.execute(sql(
        "SELECT id, created_at, error_detail->'headers' AS headers FROM ingest.portfolios WHERE id = ANY(:ids)"
        " ORDER BY created_at, id"), {"ids": list(portfolio_ids)})
    return [HeldRecord(kind="refused_upload_first_row", at=r.created_at, where=f"upload {r.id}",
                       values={f"column {n}": _text(h) for n, h in enumerate(r.headers or [], start=1)})
            for r in rows]


async def held_in_rectifications(s: AsyncSession, client: str, debtor_ref: uuid.UUID) -> list[HeldRecord]:
    """Why an operator rectified the person's contact points (free text, kept as typed) and which fields."""
    rows = await s.execute(sql(
        "SELECT rectified_at, reason, fields FROM ingest.rectifications WHERE client_slug = :c AND debtor_ref = :ref"
        " ORDER BY rectified_at, id"), {"c": client, "ref": debtor_ref})
    return [HeldRecord(kind="rectification", at=r.rectified_at,
                       values={"reason": r.reason, "fields": ", ".join(r.fields)}) for r in rows]
