"""The contact history's queries: an account's attempts with every decision taken on them, the contacts agents
logged, its legal holds, and its audit trail."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from outreach.store import TrailEntry
from recaudo_common.db import sql


@dataclass(frozen=True)
class Decision:
    decided_at: dt.datetime
    allowed: bool
    reasons: list[str]
    next_allowed_at: dt.datetime | None
    local_time: str


@dataclass(frozen=True)
class AttemptRecord:
    id: uuid.UUID
    channel: str
    status: str
    scheduled_at: dt.datetime
    sent_at: dt.datetime | None
    delivered_at: dt.datetime | None
    failed_at: dt.datetime | None
    failure: str | None
    cancel_reason: str | None
    created_at: dt.datetime
    provider: str | None
    template: str | None
    encoding: str | None
    segments: int | None
    decisions: list[Decision]
    why: str | None = None  # why planning put it at its time (best time's slot), when not the first allowed
    assigned_to: str | None = None  # an agent call: who was handed it ("user <e-mail>" or "key <id>")
    assigned_at: dt.datetime | None = None


@dataclass(frozen=True)
class LoggedContact:
    id: uuid.UUID
    channel: str
    at: dt.datetime
    outcome: str | None
    rule_violations: list[str]
    direction: str = "outbound"  # who started it: the agency (outbound) or the debtor (inbound)


@dataclass(frozen=True)
class LegalHold:
    hold: str
    note: str | None
    set_at: dt.datetime
    lifted_at: dt.datetime | None


def _instant(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


async def attempts(s: AsyncSession, client: str, account_ref: str) -> list[AttemptRecord]:
    """Every attempt of an account with the decisions behind it, oldest first."""
    result = await s.execute(sql(
        """SELECT a.id, a.channel, a.status, a.scheduled_at, a.sent_at, a.delivered_at, a.failed_at, a.failure,
                  a.cancel_reason, a.created_at, a.provider, a.template, a.encoding, a.segments, a.why,
                  a.assigned_to, a.assigned_at,
                  coalesce(json_agg(json_build_object('decided_at', d.decided_at, 'allowed', d.allowed,
                      'reasons', d.reasons, 'next_allowed_at', d.next_allowed_at, 'local_time', d.local_time)
                      ORDER BY d.id) FILTER (WHERE d.id IS NOT NULL), '[]') AS decisions
           FROM outreach.attempts a LEFT JOIN outreach.decisions d ON d.attempt_id = a.id
           WHERE a.client_slug = :c AND a.account_ref = :r
           GROUP BY a.id ORDER BY a.created_at, a.sequence"""), {"c": client, "r": account_ref})
    found = []
    for r in result:
        decisions = json.loads(r.decisions) if isinstance(r.decisions, str) else r.decisions
        found.append(AttemptRecord(
            r.id, r.channel, r.status, r.scheduled_at, r.sent_at, r.delivered_at, r.failed_at, r.failure,
            r.cancel_reason, r.created_at, r.provider, r.template, r.encoding, r.segments,
            [Decision(dt.datetime.fromisoformat(d["decided_at"]), d["allowed"], list(d["reasons"] or []),
                      _instant(d["next_allowed_at"]), d["local_time"]) for d in decisions], r.why,
            r.assigned_to, r.assigned_at))
    return found


async def logged_contacts(s: AsyncSession, client: str, account_ref: str) -> list[LoggedContact]:
    result = await s.execute(sql(
        "SELECT id, channel, at, outcome, rule_violations, direction FROM outreach.contacts WHERE client_slug = :c "
        "AND account_ref = :r AND source = 'logged' ORDER BY at"), {"c": client, "r": account_ref})
    return [LoggedContact(r.id, r.channel, r.at, r.outcome, list(r.rule_violations or []), r.direction)
            for r in result]


async def legal_holds(s: AsyncSession, client: str, account_ref: str) -> list[LegalHold]:
    result = await s.execute(sql(
        "SELECT hold, note, set_at, lifted_at FROM outreach.legal_holds WHERE client_slug = :c AND account_ref = :r "
        "ORDER BY set_at"), {"c": client, "r": account_ref})
    return [LegalHold(r.hold, r.note, r.set_at, r.lifted_at) for r in result]


async def account_trail(s: AsyncSession, client: str, account_ref: str) -> list[TrailEntry]:
    result = await s.execute(sql(
        "SELECT id, at, kind, attempt_id, channel, detail FROM outreach.trail WHERE client_slug = :c "
        "AND account_ref = :r ORDER BY id"), {"c": client, "r": account_ref})
    return [TrailEntry(client, account_ref, r.at, r.kind, r.attempt_id, r.channel,
                       json.loads(r.detail) if isinstance(r.detail, str) else dict(r.detail or {}), r.id)
            for r in result]


async def client_locale(s: AsyncSession, client: str) -> str | None:
    """The client company's locale (its exports' language and number style), None before it is known here."""
    return (await s.execute(sql("SELECT locale FROM outreach.clients WHERE slug = :c"), {"c": client})).scalar()
