"""The debtor page's identity check behind its lockout: per account page (whatever link carried it) and per
source address, counters read under a row lock and written in the same transaction as the answer, so
concurrent guesses are counted exactly and none slips past a lock (rules in domain/verification.py)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from outreach import store
from outreach.debtor_page.handlers import DebtorView
from outreach.domain.verification import (
    LINK_MAX_FAILURES,
    SOURCE_FORGETS_AFTER,
    answer_matches,
    link_wait,
    source_wait,
)
from outreach.store import TrailEntry
from recaudo_common.db import Database, sql

Outcome = Literal["verified", "wrong", "locked", "blocked"]


@dataclass(frozen=True)
class Verification:
    outcome: Outcome
    retry_at: dt.datetime | None = None  # when "locked": the earliest moment another answer is looked at


def source_key(address: str, secret: str) -> str:
    """A source address as the counters keep it: keyed-hashed, so the table holds no address."""
    return hmac.new(secret.encode(), f"page-source:{address}".encode(), hashlib.sha256).hexdigest()[:32]


async def verify(db: Database, view: DebtorView, answer: str, *, source: str, now: dt.datetime) -> Verification:
    """Checks one answer unless the link or the source must wait (or the link is blocked); a wrong answer counts
    against both, and each try is audited."""
    async with db.transaction() as s:
        link = await _locked_row(s, "page_link_guards", "client_slug = :c AND account_ref = :r",
                                 {"c": view.client, "r": view.account_ref}, now,
                                 insert="(client_slug, account_ref, failures, updated_at) VALUES (:c, :r, 0, :now)")
        if link.failures >= LINK_MAX_FAILURES:
            return Verification("blocked")
        if link.locked_until is not None and link.locked_until > now:
            return Verification("locked", link.locked_until)
        src = await _locked_row(s, "page_source_guards", "source = :k", {"k": source}, now,
                                insert="(source, failures, updated_at) VALUES (:k, 0, :now)")
        source_failures = 0 if now - src.updated_at > SOURCE_FORGETS_AFTER else src.failures
        if src.locked_until is not None and src.locked_until > now:
            return Verification("locked", src.locked_until)
        if answer_matches(view.debtor.debtor_id, answer):
            await store.trail(s, [TrailEntry(view.client, view.account_ref, now, "page_verified")])
            return Verification("verified")
        failures = link.failures + 1
        link_until = now + link_wait(failures) if link_wait(failures) else None
        await s.execute(sql("UPDATE outreach.page_link_guards SET failures = :f, locked_until = :u, updated_at = :now "
                            "WHERE client_slug = :c AND account_ref = :r"),
                        {"f": failures, "u": link_until, "now": now, "c": view.client, "r": view.account_ref})
        source_failures += 1
        source_until = now + source_wait(source_failures) if source_wait(source_failures) else None
        await s.execute(sql("UPDATE outreach.page_source_guards SET failures = :f, locked_until = :u, "
                            "updated_at = :now WHERE source = :k"),
                        {"f": source_failures, "u": source_until, "now": now, "k": source})
        await store.trail(s, [TrailEntry(view.client, view.account_ref, now, "page_verification_failed", detail={
            "failures": failures, "blocked": failures >= LINK_MAX_FAILURES})])
    return Verification("blocked" if failures >= LINK_MAX_FAILURES else "wrong")


async def reissue(s: AsyncSession, client: str, account_ref: str) -> bool:
    """An operator's new link clears the account page's lock; True when there was one to clear."""
    cleared = await s.execute(sql("DELETE FROM outreach.page_link_guards WHERE client_slug = :c AND "
                                  "account_ref = :r AND failures > 0 RETURNING 1"), {"c": client, "r": account_ref})
    return cleared.first() is not None


@dataclass(frozen=True)
class _Guard:
    failures: int
    locked_until: dt.datetime | None
    updated_at: dt.datetime


async def _locked_row(s: AsyncSession, table: str, where: str, params: dict[str, str], now: dt.datetime, *,
                      insert: str) -> _Guard:
    """The guard row, created at zero if new, locked (FOR UPDATE) until this transaction ends: concurrent tries
    on the same link or source take turns, each seeing the count the one before it left."""
    await s.execute(sql(f"INSERT INTO outreach.{table} {insert} ON CONFLICT DO NOTHING"), {**params, "now": now})
    row = (await s.execute(sql(f"SELECT failures, locked_until, updated_at FROM outreach.{table} WHERE {where} "
                               "FOR UPDATE"), params)).one()
    return _Guard(row.failures, row.locked_until, row.updated_at)
