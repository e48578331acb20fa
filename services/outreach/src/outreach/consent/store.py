"""Consent's tables: opt-outs by channel, the do-not-contact list, legal holds, and each client company's
stricter contact rules."""

from __future__ import annotations

import datetime as dt
import json
import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from outreach.domain.client_rules import RulesOverride
from outreach.store import Cancelled


async def cancel_scheduled_for_debtor(s: AsyncSession, client: str, debtor_id: str, channel: str | None,
                                      reason: str) -> list[Cancelled]:
    """Cancels the debtor's attempts not sent yet at every account of the client company (on one channel, or
    on all when `channel` is None)."""
    result = await s.execute(text(
        """UPDATE outreach.attempts a SET status = 'cancelled', cancel_reason = :why
           FROM outreach.accounts acc
           WHERE acc.client_slug = a.client_slug AND acc.account_ref = a.account_ref AND a.status = 'scheduled'
             AND a.client_slug = :c AND acc.debtor_id = :d AND (CAST(:ch AS text) IS NULL OR a.channel = :ch)
           RETURNING a.id, a.account_ref, a.channel"""),
        {"c": client, "d": debtor_id, "ch": channel, "why": reason})
    return [Cancelled(client, r.account_ref, r.id, r.channel) for r in result]


async def add_opt_out(s: AsyncSession, *, client: str, debtor_id: str, channel: str, at: dt.datetime,
                      source: str) -> bool:
    result = await s.execute(text(
        "INSERT INTO outreach.opt_outs (client_slug, debtor_id, channel, opted_out_at, source) "
        "VALUES (:c, :d, :ch, :at, :src) ON CONFLICT DO NOTHING RETURNING 1"),
        {"c": client, "d": debtor_id, "ch": channel, "at": at, "src": source})
    return result.first() is not None


async def add_do_not_contact(s: AsyncSession, *, client: str, debtor_id: str, reason: str, at: dt.datetime,
                             by: uuid.UUID) -> bool:
    result = await s.execute(text(
        "INSERT INTO outreach.do_not_contact (client_slug, debtor_id, reason, added_at, added_by) "
        "VALUES (:c, :d, :why, :at, :by) ON CONFLICT DO NOTHING RETURNING 1"),
        {"c": client, "d": debtor_id, "why": reason, "at": at, "by": by})
    return result.first() is not None


async def accounts_of_debtor(s: AsyncSession, client: str, debtor_id: str) -> list[str]:
    result = await s.execute(text("SELECT account_ref FROM outreach.accounts WHERE client_slug = :c AND "
                                  "debtor_id = :d ORDER BY account_ref"), {"c": client, "d": debtor_id})
    return [r[0] for r in result.all()]


async def set_legal_hold(s: AsyncSession, *, client: str, account_ref: str, hold: str, note: str | None,
                         at: dt.datetime, by: uuid.UUID) -> bool:
    result = await s.execute(text(
        """INSERT INTO outreach.legal_holds (id, client_slug, account_ref, hold, note, set_at, set_by)
           VALUES (:id, :c, :r, :h, :n, :at, :by)
           ON CONFLICT (client_slug, account_ref, hold) WHERE lifted_at IS NULL DO NOTHING RETURNING 1"""),
        {"id": uuid.uuid4(), "c": client, "r": account_ref, "h": hold, "n": note, "at": at, "by": by})
    return result.first() is not None


async def lift_legal_hold(s: AsyncSession, *, client: str, account_ref: str, hold: str, at: dt.datetime,
                          by: uuid.UUID) -> bool:
    result = await s.execute(text(
        "UPDATE outreach.legal_holds SET lifted_at = :at, lifted_by = :by WHERE client_slug = :c "
        "AND account_ref = :r AND hold = :h AND lifted_at IS NULL RETURNING 1"),
        {"c": client, "r": account_ref, "h": hold, "at": at, "by": by})
    return result.first() is not None


async def get_client_rules(s: AsyncSession, client: str) -> RulesOverride | None:
    """The client company's stricter rules as it saved them, or None when it has none."""
    row = (await s.execute(text("SELECT rules FROM outreach.client_rules WHERE client_slug = :c"),
                           {"c": client})).first()
    return RulesOverride.from_document(row[0]) if row else None


async def put_client_rules(s: AsyncSession, client: str, rules: RulesOverride, now: dt.datetime) -> None:
    await s.execute(text(
        "INSERT INTO outreach.client_rules (client_slug, rules, updated_at) VALUES (:c, CAST(:r AS jsonb), :now) "
        "ON CONFLICT (client_slug) DO UPDATE SET rules = excluded.rules, updated_at = excluded.updated_at"),
        {"c": client, "r": json.dumps(rules.document()), "now": now})
