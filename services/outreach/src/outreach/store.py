"""Outreach's tables and queries (schema `outreach`)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from recaudo_common.db import unnest_rows

SCHEMA = "outreach"
HISTORY_DAYS = 8  # every frequency rule looks back at most a week


def _rows(result: Any) -> list[dict[str, Any]]:
    return [dict(r) for r in result.mappings().all()]


# ------------------------------------------------------------------ accounts, status and treatments

async def upsert_accounts(s: AsyncSession, rows: list[dict[str, Any]], now: dt.datetime) -> None:
    """upsert_account for many accounts (at most one row per account) in one round trip; each row has the
    keyword arguments of upsert_account but `now`."""
    source, params = unnest_rows(
        {"client": "text", "account_ref": "text", "debtor_id": "text", "full_name": "text", "phones": "text[]",
         "email": "text", "region": "text", "address": "text", "balance": "numeric", "currency": "text",
         "channels": "text[]"}, rows)
    await s.execute(text(
        f"""INSERT INTO outreach.accounts (client_slug, account_ref, debtor_id, full_name, phones, email, region,
                address, balance, currency, authorised_channels, updated_at)
            SELECT client, account_ref, debtor_id, full_name, phones, email, region, address, balance, currency,
                   channels, :now
            FROM {source}
            ON CONFLICT (client_slug, account_ref) DO UPDATE SET debtor_id = excluded.debtor_id,
                full_name = excluded.full_name, phones = excluded.phones, email = excluded.email,
                address = excluded.address,
                region = excluded.region, balance = excluded.balance, currency = excluded.currency,
                authorised_channels = excluded.authorised_channels, updated_at = excluded.updated_at"""),
        {**params, "now": now})


async def get_account(s: AsyncSession, client: str, account_ref: str) -> dict[str, Any] | None:
    row = (await s.execute(text(
        """SELECT acc.*, coalesce(st.status, 'open') AS status, coalesce(st.balance, acc.balance) AS current_balance
           FROM outreach.accounts acc LEFT JOIN outreach.account_status st
             ON st.client_slug = acc.client_slug AND st.account_ref = acc.account_ref
           WHERE acc.client_slug = :c AND acc.account_ref = :r"""),
        {"c": client, "r": account_ref})).mappings().first()
    return dict(row) if row else None


async def set_status(s: AsyncSession, client: str, account_ref: str, *, status: str, balance: Decimal | None,
                     as_of: dt.datetime) -> None:
    """Kept apart from the placement so a payment that arrives before its placement is not lost. The newest
    statement wins, except that a recall always does (accounts.account_status: a recall is never undone by a
    payment, even one made after it whose event arrived first)."""
    await s.execute(text(
        """INSERT INTO outreach.account_status AS st (client_slug, account_ref, status, balance, as_of)
           VALUES (:c, :r, :st, :b, :at)
           ON CONFLICT (client_slug, account_ref) DO UPDATE SET status = excluded.status,
               balance = coalesce(excluded.balance, st.balance), as_of = excluded.as_of
           WHERE st.as_of <= excluded.as_of OR excluded.status = 'recalled'"""),
        {"c": client, "r": account_ref, "st": status, "b": balance, "at": as_of})


async def status_of(s: AsyncSession, client: str, account_ref: str) -> str | None:
    """The account's last known status here (locked for the transaction), or None before any."""
    status = await s.scalar(text("SELECT status FROM outreach.account_status WHERE client_slug = :c "
                                 "AND account_ref = :r FOR UPDATE"), {"c": client, "r": account_ref})
    return None if status is None else str(status)


async def save_treatments(s: AsyncSession, rows: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """save_treatment for many accounts (at most one row per account) in one round trip; the (client,
    account_ref) whose decision was newer than the one kept."""
    source, params = unnest_rows(
        {"client": "text", "account_ref": "text", "plan_id": "uuid", "segment": "text", "treatment": "text",
         "channels": "text[]", "cadence_days": "int", "offer": "text", "offer_discount_pct": "numeric",
         "expected_net_recovery": "numeric", "propensity": "numeric", "days_past_due": "int",
         "strategy_arm": "text", "decided_at": "timestamptz"}, rows)
    result = await s.execute(text(
        f"""INSERT INTO outreach.treatments AS t (client_slug, account_ref, plan_id, segment, treatment, channels,
                cadence_days, offer, offer_discount_pct, expected_net_recovery, propensity, days_past_due,
                strategy_arm, decided_at, planned)
            SELECT client, account_ref, plan_id, segment, treatment, channels, cadence_days, offer,
                   offer_discount_pct, expected_net_recovery, propensity, days_past_due, strategy_arm, decided_at,
                   false
            FROM {source}
            ON CONFLICT (client_slug, account_ref) DO UPDATE SET plan_id = excluded.plan_id,
                segment = excluded.segment, treatment = excluded.treatment, channels = excluded.channels,
                cadence_days = excluded.cadence_days, offer = excluded.offer,
                offer_discount_pct = excluded.offer_discount_pct,
                expected_net_recovery = excluded.expected_net_recovery, propensity = excluded.propensity,
                days_past_due = excluded.days_past_due, strategy_arm = excluded.strategy_arm,
                decided_at = excluded.decided_at, planned = false
            WHERE t.decided_at <= excluded.decided_at RETURNING client_slug, account_ref"""), params)
    return {(row[0], row[1]) for row in result}


async def plan_pending(s: AsyncSession, keys: list[tuple[str, str]]
                       ) -> dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any]]]:
    """Marks planned the treatments still to plan among these accounts, where the account is known here
    (placement and segmentation may come in any order), in one round trip. Returns, by (client, account_ref),
    the treatment (plan_id, treatment, channels, cadence_days) and the account as get_account gives it."""
    if not keys:
        return {}
    source, params = unnest_rows({"client_slug": "text", "account_ref": "text"}, keys, alias="k")
    rows = (await s.execute(text(
        f"""WITH planned AS (
               UPDATE outreach.treatments t SET planned = true
               FROM {source}
               WHERE t.client_slug = k.client_slug AND t.account_ref = k.account_ref AND NOT t.planned
                 AND EXISTS (SELECT 1 FROM outreach.accounts acc
                             WHERE acc.client_slug = t.client_slug AND acc.account_ref = t.account_ref)
               RETURNING t.client_slug, t.account_ref, t.plan_id, t.treatment, t.channels, t.cadence_days)
           SELECT planned.plan_id AS t_plan_id, planned.treatment AS t_treatment, planned.channels AS t_channels,
                  planned.cadence_days AS t_cadence_days, acc.*, coalesce(st.status, 'open') AS status,
                  coalesce(st.balance, acc.balance) AS current_balance
           FROM planned JOIN outreach.accounts acc USING (client_slug, account_ref)
           LEFT JOIN outreach.account_status st USING (client_slug, account_ref)"""), params)).mappings().all()
    result: dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any]]] = {}
    for row in rows:
        account = dict(row)
        treatment = {name: account.pop(f"t_{name}") for name in ("plan_id", "treatment", "channels", "cadence_days")}
        result[(account["client_slug"], account["account_ref"])] = (treatment, account)
    return result


async def get_treatment(s: AsyncSession, client: str, account_ref: str) -> dict[str, Any] | None:
    row = (await s.execute(text("SELECT * FROM outreach.treatments WHERE client_slug = :c AND account_ref = :r"),
                           {"c": client, "r": account_ref})).mappings().first()
    return dict(row) if row else None


# ------------------------------------------------------------------ attempts

async def schedule_attempts_many(s: AsyncSession, planned: list[tuple[str, str, uuid.UUID, int, str, dt.datetime]],
                                 now: dt.datetime) -> list[dict[str, Any]]:
    """schedule_attempts for many plans in one round trip: rows of (client, account_ref, plan_id, sequence,
    channel, at)."""
    if not planned:
        return []
    source, params = unnest_rows({"client_slug": "text", "account_ref": "text", "plan_id": "uuid",
                                  "sequence": "integer", "channel": "text", "at": "timestamptz"}, planned,
                                 alias="x", ordinality=True)
    result = await s.execute(text(
        f"""INSERT INTO outreach.attempts (id, client_slug, account_ref, plan_id, channel, sequence, status,
               scheduled_at, created_at)
           SELECT gen_random_uuid(), x.client_slug, x.account_ref, x.plan_id, x.channel, x.sequence, 'scheduled',
                  x.at, :now
           FROM {source}
           ORDER BY x.n
           ON CONFLICT (plan_id, sequence) DO NOTHING
           RETURNING client_slug, account_ref, id, channel, sequence, scheduled_at"""), {**params, "now": now})
    return _rows(result)


async def cancel_scheduled_many(s: AsyncSession, cancels: list[tuple[str, str, str]]) -> list[dict[str, Any]]:
    """cancel_scheduled for many accounts in one round trip: rows of (client, account_ref, reason)."""
    if not cancels:
        return []
    source, params = unnest_rows({"client_slug": "text", "account_ref": "text", "reason": "text"}, cancels,
                                 alias="k")
    result = await s.execute(text(
        f"""UPDATE outreach.attempts a SET status = 'cancelled', cancel_reason = k.reason
            FROM {source}
            WHERE a.client_slug = k.client_slug AND a.account_ref = k.account_ref AND a.status = 'scheduled'
            RETURNING a.client_slug, a.account_ref, a.id, a.channel"""), params)
    return _rows(result)


async def cancel_scheduled(s: AsyncSession, client: str, account_ref: str, reason: str) -> list[dict[str, Any]]:
    result = await s.execute(text(
        "UPDATE outreach.attempts SET status = 'cancelled', cancel_reason = :why WHERE client_slug = :c "
        "AND account_ref = :r AND status = 'scheduled' RETURNING id, channel"),
        {"c": client, "r": account_ref, "why": reason})
    return _rows(result)


async def cancel_scheduled_for_debtor(s: AsyncSession, client: str, debtor_id: str, channel: str | None,
                                      reason: str) -> list[dict[str, Any]]:
    result = await s.execute(text(
        """UPDATE outreach.attempts a SET status = 'cancelled', cancel_reason = :why
           FROM outreach.accounts acc
           WHERE acc.client_slug = a.client_slug AND acc.account_ref = a.account_ref AND a.status = 'scheduled'
             AND a.client_slug = :c AND acc.debtor_id = :d AND (CAST(:ch AS text) IS NULL OR a.channel = :ch)
           RETURNING a.id, a.account_ref, a.channel"""),
        {"c": client, "d": debtor_id, "ch": channel, "why": reason})
    return _rows(result)


# Everything the compliance engine needs about one attempt's debtor, in one round trip per batch.
_CONTEXT = """
    acc.debtor_id, acc.full_name, acc.phones, acc.email, acc.region, acc.address, acc.currency, acc.authorised_channels,
    coalesce(st.status, 'open') AS account_status, coalesce(st.balance, acc.balance) AS balance,
    c.name AS creditor, c.country, c.timezone, c.locale, c.default_authorised_channels, c.promise_window_days,
    r.rules AS client_rules,
    t.days_past_due, t.offer, t.offer_discount_pct, t.expected_net_recovery,
    EXISTS (SELECT 1 FROM outreach.do_not_contact d WHERE d.client_slug = acc.client_slug
            AND d.debtor_id = acc.debtor_id) AS do_not_contact,
    (SELECT coalesce(array_agg(o.channel), '{}') FROM outreach.opt_outs o WHERE o.client_slug = acc.client_slug
            AND o.debtor_id = acc.debtor_id) AS opted_out,
    (SELECT min(h.hold) FROM outreach.legal_holds h WHERE h.client_slug = acc.client_slug
            AND h.account_ref = acc.account_ref AND h.lifted_at IS NULL) AS legal_hold,
    (SELECT coalesce(json_agg(json_build_object('at', k.at, 'channel', k.channel, 'conversation', k.conversation,
                                                'account_ref', k.account_ref)), '[]')
     FROM outreach.contacts k WHERE k.client_slug = acc.client_slug AND k.debtor_id = acc.debtor_id
            AND k.at > CAST(:at AS timestamptz) - make_interval(days => :days)
            AND k.at <= CAST(:at AS timestamptz)) AS history
"""
_CONTEXT_JOINS = """
    JOIN outreach.clients c ON c.slug = acc.client_slug
    LEFT JOIN outreach.account_status st ON st.client_slug = acc.client_slug AND st.account_ref = acc.account_ref
    LEFT JOIN outreach.client_rules r ON r.client_slug = acc.client_slug
    LEFT JOIN outreach.treatments t ON t.client_slug = acc.client_slug AND t.account_ref = acc.account_ref
"""


async def contact_context(s: AsyncSession, client: str, account_ref: str, at: dt.datetime) -> dict[str, Any] | None:
    row = (await s.execute(text(
        f"SELECT acc.client_slug, acc.account_ref, {_CONTEXT} FROM outreach.accounts acc {_CONTEXT_JOINS} "
        "WHERE acc.client_slug = :c AND acc.account_ref = :r"),
        {"c": client, "r": account_ref, "at": at, "days": HISTORY_DAYS})).mappings().first()
    return dict(row) if row else None


async def claim_due(s: AsyncSession, now: dt.datetime, limit: int) -> list[dict[str, Any]]:
    """Due attempts that no other scheduler replica holds (row locks until this transaction ends). Agent
    attempts wait in the agent queue instead."""
    result = await s.execute(text(
        f"""WITH due AS (
                SELECT a.id FROM outreach.attempts a
                WHERE a.status = 'scheduled' AND a.scheduled_at <= :at AND a.channel <> 'agent'
                ORDER BY a.scheduled_at LIMIT :n FOR UPDATE SKIP LOCKED)
            SELECT a.id, a.client_slug, a.account_ref, a.channel, a.sequence, a.scheduled_at, a.tries, {_CONTEXT}
            FROM due JOIN outreach.attempts a ON a.id = due.id
            JOIN outreach.accounts acc ON acc.client_slug = a.client_slug AND acc.account_ref = a.account_ref
            {_CONTEXT_JOINS}
            ORDER BY a.scheduled_at"""),
        {"at": now, "n": limit, "days": HISTORY_DAYS})
    return _rows(result)


async def due_backlog(s: AsyncSession, now: dt.datetime) -> int:
    row = (await s.execute(text("SELECT count(*) FROM outreach.attempts WHERE status = 'scheduled' "
                                "AND scheduled_at <= :at AND channel <> 'agent'"), {"at": now})).first()
    return int(row[0]) if row else 0


async def orphan_due(s: AsyncSession, now: dt.datetime, limit: int) -> list[dict[str, Any]]:
    """Due attempts whose account or client is not known here (yet); claimed so they can be moved on."""
    result = await s.execute(text(
        """SELECT a.id, a.client_slug, a.account_ref, a.channel FROM outreach.attempts a
           WHERE a.status = 'scheduled' AND a.scheduled_at <= :at AND a.channel <> 'agent'
             AND NOT EXISTS (SELECT 1 FROM outreach.accounts acc JOIN outreach.clients c ON c.slug = acc.client_slug
                             WHERE acc.client_slug = a.client_slug AND acc.account_ref = a.account_ref)
           LIMIT :n FOR UPDATE SKIP LOCKED"""), {"at": now, "n": limit})
    return _rows(result)


async def agent_candidates(s: AsyncSession, client: str, now: dt.datetime, limit: int) -> list[dict[str, Any]]:
    """Due agent attempts of a client, highest expected net recovery first, locked for this agent."""
    result = await s.execute(text(
        f"""WITH due AS (
                SELECT a.id FROM outreach.attempts a
                LEFT JOIN outreach.treatments t ON t.client_slug = a.client_slug AND t.account_ref = a.account_ref
                WHERE a.client_slug = :c AND a.status = 'scheduled' AND a.scheduled_at <= :at
                  AND a.channel = 'agent'
                ORDER BY t.expected_net_recovery DESC NULLS LAST, a.scheduled_at
                LIMIT :n FOR UPDATE OF a SKIP LOCKED)
            SELECT a.id, a.client_slug, a.account_ref, a.channel, a.sequence, a.scheduled_at, {_CONTEXT}
            FROM due JOIN outreach.attempts a ON a.id = due.id
            JOIN outreach.accounts acc ON acc.client_slug = a.client_slug AND acc.account_ref = a.account_ref
            {_CONTEXT_JOINS}
            ORDER BY t.expected_net_recovery DESC NULLS LAST, a.scheduled_at"""),
        {"c": client, "at": now, "n": limit, "days": HISTORY_DAYS})
    return _rows(result)


async def record_decision(s: AsyncSession, *, attempt_id: uuid.UUID, now: dt.datetime, local_time: str,
                          allowed: bool, reasons: list[str], next_allowed_at: dt.datetime | None) -> None:
    await s.execute(text(
        "INSERT INTO outreach.decisions (attempt_id, decided_at, local_time, allowed, reasons, next_allowed_at) "
        "VALUES (:a, :now, :lt, :ok, :rs, :nx)"),
        {"a": attempt_id, "now": now, "lt": local_time, "ok": allowed, "rs": reasons, "nx": next_allowed_at})


# Batched writes of one scheduler batch (asyncpg pipelines an executemany: one round trip, not one per row).

async def record_decisions(s: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await s.execute(text(
            "INSERT INTO outreach.decisions (attempt_id, decided_at, local_time, allowed, reasons, next_allowed_at) "
            "VALUES (:attempt_id, :decided_at, :local_time, :allowed, :reasons, :next_allowed_at)"), rows)


async def reschedule_many(s: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await s.execute(text("UPDATE outreach.attempts SET status = 'scheduled', scheduled_at = :at, "
                             "sending_since = NULL WHERE id = :id"), rows)


async def cancel_many(s: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await s.execute(text("UPDATE outreach.attempts SET status = 'cancelled', cancel_reason = :why "
                             "WHERE id = :id"), rows)


async def save_outgoing_many(s: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await s.execute(text(
            """INSERT INTO outreach.outgoing (attempt_id, recipient, subject, body)
               VALUES (:attempt_id, :recipient, :subject, :body)
               ON CONFLICT (attempt_id) DO UPDATE SET recipient = excluded.recipient, subject = excluded.subject,
                   body = excluded.body"""), rows)


async def add_attempt_contacts(s: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await s.execute(text(
            """INSERT INTO outreach.contacts (id, client_slug, debtor_id, account_ref, channel, at, source, attempt_id)
               VALUES (gen_random_uuid(), :client, :debtor_id, :account_ref, :channel, :at, 'attempt', :attempt_id)
               ON CONFLICT (attempt_id) DO NOTHING"""), rows)


async def record_sandbox_messages(s: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """The sandbox provider's own record of the messages handed to it (its "provider side"), one per attempt."""
    if rows:
        await s.execute(text(
            "INSERT INTO outreach.sandbox_messages (id, attempt_id, channel, recipient, subject, body, sent_at) "
            "VALUES (gen_random_uuid(), :attempt_id, :channel, :recipient, :subject, :body, :at) "
            "ON CONFLICT (attempt_id) DO NOTHING"), rows)


async def has_sandbox_message(s: AsyncSession, attempt_id: uuid.UUID) -> bool:
    row = (await s.execute(text("SELECT 1 FROM outreach.sandbox_messages WHERE attempt_id = :a"),
                           {"a": attempt_id})).first()
    return row is not None


async def reschedule(s: AsyncSession, attempt_id: uuid.UUID, at: dt.datetime) -> None:
    await s.execute(text("UPDATE outreach.attempts SET status = 'scheduled', scheduled_at = :at, "
                         "sending_since = NULL WHERE id = :id"), {"id": attempt_id, "at": at})


async def cancel_attempt(s: AsyncSession, attempt_id: uuid.UUID, reason: str) -> None:
    await s.execute(text("UPDATE outreach.attempts SET status = 'cancelled', cancel_reason = :why WHERE id = :id"),
                    {"id": attempt_id, "why": reason})


async def mark_assigned(s: AsyncSession, attempt_id: uuid.UUID, now: dt.datetime) -> None:
    await s.execute(text("UPDATE outreach.attempts SET status = 'assigned', sent_at = :now, provider = 'agent', "
                         "tries = tries + 1 WHERE id = :id"), {"id": attempt_id, "now": now})


async def keep_early_receipt(s: AsyncSession, provider: str, message_id: str, status: str, detail: str | None,
                             now: dt.datetime) -> None:
    await s.execute(text(
        "INSERT INTO outreach.early_receipts (provider, provider_message_id, status, detail, received_at) "
        "VALUES (:p, :m, :st, :d, :now) ON CONFLICT DO NOTHING"),
        {"p": provider, "m": message_id, "st": status, "d": detail, "now": now})


async def expire_early_receipts(s: AsyncSession, before: dt.datetime) -> int:
    """Discards early receipts received before `before` whose message id no send ever recorded."""
    result = await s.execute(text("DELETE FROM outreach.early_receipts WHERE received_at < :t"), {"t": before})
    return int(getattr(result, "rowcount", 0) or 0)


async def attempt_by_provider_id(s: AsyncSession, provider: str, message_id: str) -> dict[str, Any] | None:
    row = (await s.execute(text(
        """SELECT a.*, acc.debtor_id FROM outreach.attempts a
           JOIN outreach.accounts acc ON acc.client_slug = a.client_slug AND acc.account_ref = a.account_ref
           WHERE a.provider = :p AND a.provider_message_id = :m FOR UPDATE OF a"""),
        {"p": provider, "m": message_id})).mappings().first()
    return dict(row) if row else None


async def mark_delivered(s: AsyncSession, attempt_id: uuid.UUID, at: dt.datetime) -> bool:
    result = await s.execute(text(
        "UPDATE outreach.attempts SET status = 'delivered', delivered_at = :at WHERE id = :id "
        "AND status IN ('sending', 'sent') RETURNING 1"), {"id": attempt_id, "at": at})
    return result.first() is not None


async def mark_failed(s: AsyncSession, attempt_id: uuid.UUID, at: dt.datetime, failure: str) -> bool:
    result = await s.execute(text(
        "UPDATE outreach.attempts SET status = 'failed', failed_at = :at, failure = :f WHERE id = :id "
        "AND status IN ('sending', 'sent') RETURNING 1"), {"id": attempt_id, "at": at, "f": failure})
    return result.first() is not None


# ------------------------------------------------------------------ contacts, consent, holds

async def add_contact(s: AsyncSession, *, client: str, debtor_id: str, account_ref: str, channel: str,
                      at: dt.datetime, source: str, attempt_id: uuid.UUID | None = None, outcome: str | None = None,
                      conversation: bool = False, rule_violations: list[str] | None = None,
                      logged_by: uuid.UUID | None = None) -> uuid.UUID:
    contact_id = uuid.uuid4()
    await s.execute(text(
        """INSERT INTO outreach.contacts (id, client_slug, debtor_id, account_ref, channel, at, source, attempt_id,
               outcome, conversation, rule_violations, logged_by)
           VALUES (:id, :c, :d, :r, :ch, :at, :src, :a, :o, :conv, :rv, :by)
           ON CONFLICT (attempt_id) DO NOTHING"""),
        {"id": contact_id, "c": client, "d": debtor_id, "r": account_ref, "ch": channel, "at": at, "src": source,
         "a": attempt_id, "o": outcome, "conv": conversation, "rv": rule_violations or [], "by": logged_by})
    return contact_id


async def attach_outcome(s: AsyncSession, *, attempt_id: uuid.UUID, client: str, account_ref: str, outcome: str,
                         conversation: bool) -> bool:
    """The outcome of a call this platform handed to an agent joins that call's contact (counted once)."""
    result = await s.execute(text(
        "UPDATE outreach.contacts SET outcome = :o, conversation = :conv WHERE attempt_id = :a AND client_slug = :c "
        "AND account_ref = :r AND channel = 'agent' AND outcome IS NULL RETURNING 1"),
        {"a": attempt_id, "c": client, "r": account_ref, "o": outcome, "conv": conversation})
    return result.first() is not None


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


async def legal_holds(s: AsyncSession, client: str, account_ref: str) -> list[dict[str, Any]]:
    return _rows(await s.execute(text(
        "SELECT hold, note, set_at, lifted_at FROM outreach.legal_holds WHERE client_slug = :c AND account_ref = :r "
        "ORDER BY set_at"), {"c": client, "r": account_ref}))


async def save_reply(s: AsyncSession, *, provider: str, provider_message_id: str, attempt_id: uuid.UUID | None,
                     channel: str, body: str, opt_out: bool, at: dt.datetime) -> bool:
    result = await s.execute(text(
        """INSERT INTO outreach.replies (id, provider, provider_message_id, attempt_id, channel, body, opt_out,
               received_at) VALUES (:id, :p, :m, :a, :ch, :b, :o, :at) ON CONFLICT DO NOTHING RETURNING 1"""),
        {"id": uuid.uuid4(), "p": provider, "m": provider_message_id, "a": attempt_id, "ch": channel, "b": body,
         "o": opt_out, "at": at})
    return result.first() is not None


async def latest_attempt_to(s: AsyncSession, channel: str, recipient: str) -> dict[str, Any] | None:
    """The last message sent to this phone or address on this channel (an inbound reply answers it)."""
    row = (await s.execute(text(
        """SELECT a.id, a.client_slug, a.account_ref, acc.debtor_id FROM outreach.outgoing m
           JOIN outreach.attempts a ON a.id = m.attempt_id
           JOIN outreach.accounts acc ON acc.client_slug = a.client_slug AND acc.account_ref = a.account_ref
           WHERE m.recipient = :to AND a.channel = :ch AND a.sent_at IS NOT NULL
           ORDER BY a.sent_at DESC LIMIT 1"""), {"to": recipient, "ch": channel})).mappings().first()
    return dict(row) if row else None


# ------------------------------------------------------------------ rules and templates

async def get_client_rules(s: AsyncSession, client: str) -> dict[str, Any] | None:
    row = (await s.execute(text("SELECT rules FROM outreach.client_rules WHERE client_slug = :c"),
                           {"c": client})).first()
    return dict(row[0]) if row else None


async def put_client_rules(s: AsyncSession, client: str, rules: dict[str, Any], now: dt.datetime) -> None:
    await s.execute(text(
        "INSERT INTO outreach.client_rules (client_slug, rules, updated_at) VALUES (:c, CAST(:r AS jsonb), :now) "
        "ON CONFLICT (client_slug) DO UPDATE SET rules = excluded.rules, updated_at = excluded.updated_at"),
        {"c": client, "r": json.dumps(rules), "now": now})


async def get_template(s: AsyncSession, client: str, channel: str, locale: str) -> dict[str, Any] | None:
    row = (await s.execute(text(
        "SELECT channel, locale, subject, body, version, updated_at FROM outreach.templates "
        "WHERE client_slug = :c AND channel = :ch AND locale = :l"),
        {"c": client, "ch": channel, "l": locale})).mappings().first()
    return dict(row) if row else None


async def list_templates(s: AsyncSession, client: str) -> list[dict[str, Any]]:
    return _rows(await s.execute(text(
        "SELECT channel, locale, subject, body, version, updated_at FROM outreach.templates WHERE client_slug = :c "
        "ORDER BY channel, locale"), {"c": client}))


async def put_template(s: AsyncSession, *, client: str, channel: str, locale: str, subject: str | None, body: str,
                       now: dt.datetime) -> int:
    row = (await s.execute(text(
        """INSERT INTO outreach.templates AS t (client_slug, channel, locale, subject, body, version, updated_at)
           VALUES (:c, :ch, :l, :sub, :b, 1, :now)
           ON CONFLICT (client_slug, channel, locale) DO UPDATE SET subject = excluded.subject, body = excluded.body,
               version = t.version + 1, updated_at = excluded.updated_at RETURNING version"""),
        {"c": client, "ch": channel, "l": locale, "sub": subject, "b": body, "now": now})).first()
    assert row is not None
    return int(row[0])


async def fail_unsent(s: AsyncSession, attempt_id: uuid.UUID, at: dt.datetime, failure: str) -> bool:
    """A due attempt whose message could not be rendered: failed before any provider saw it."""
    result = await s.execute(text(
        "UPDATE outreach.attempts SET status = 'failed', failed_at = :at, failure = :f WHERE id = :id "
        "AND status = 'scheduled' RETURNING 1"), {"id": attempt_id, "at": at, "f": failure})
    return result.first() is not None


# ------------------------------------------------------------------ the audit trail

async def trail(s: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Appends to the audit trail, in order and in one statement: each row {client, account_ref, at, kind,
    attempt_id?, channel?, detail?}."""
    if not rows:
        return
    source, params = unnest_rows(
        {"client": "text", "account_ref": "text", "at": "timestamptz", "kind": "text", "attempt_id": "uuid",
         "channel": "text", "detail": "jsonb"},
        [(r["client"], r["account_ref"], r["at"], r["kind"], r.get("attempt_id"), r.get("channel"),
          r.get("detail") or {}) for r in rows], ordinality=True)
    await s.execute(text(
        f"""INSERT INTO outreach.trail (client_slug, account_ref, at, kind, attempt_id, channel, detail)
            SELECT client, account_ref, at, kind, attempt_id, channel, detail FROM {source} ORDER BY n"""), params)


async def account_trail(s: AsyncSession, client: str, account_ref: str) -> list[dict[str, Any]]:
    return _rows(await s.execute(text(
        "SELECT id, at, kind, attempt_id, channel, detail FROM outreach.trail WHERE client_slug = :c "
        "AND account_ref = :r ORDER BY id"), {"c": client, "r": account_ref}))


async def contact_history(s: AsyncSession, client: str, account_ref: str) -> list[dict[str, Any]]:
    """Every attempt of an account with the decisions behind it, oldest first."""
    return _rows(await s.execute(text(
        """SELECT a.id, a.channel, a.status, a.scheduled_at, a.sent_at, a.delivered_at, a.failed_at, a.failure,
                  a.cancel_reason, a.created_at, a.provider, a.template, a.encoding, a.segments,
                  coalesce(json_agg(json_build_object('decided_at', d.decided_at, 'allowed', d.allowed,
                      'reasons', d.reasons, 'next_allowed_at', d.next_allowed_at, 'local_time', d.local_time)
                      ORDER BY d.id) FILTER (WHERE d.id IS NOT NULL), '[]') AS decisions
           FROM outreach.attempts a LEFT JOIN outreach.decisions d ON d.attempt_id = a.id
           WHERE a.client_slug = :c AND a.account_ref = :r
           GROUP BY a.id ORDER BY a.created_at, a.sequence"""), {"c": client, "r": account_ref}))


async def logged_contacts(s: AsyncSession, client: str, account_ref: str) -> list[dict[str, Any]]:
    return _rows(await s.execute(text(
        "SELECT id, channel, at, outcome, rule_violations FROM outreach.contacts WHERE client_slug = :c "
        "AND account_ref = :r AND source = 'logged' ORDER BY at"), {"c": client, "r": account_ref}))


async def sandbox_messages(s: AsyncSession, client: str, account_ref: str) -> list[dict[str, Any]]:
    return _rows(await s.execute(text(
        """SELECT m.channel, m.recipient, m.subject, m.body, m.sent_at FROM outreach.sandbox_messages m
           JOIN outreach.attempts a ON a.id = m.attempt_id WHERE a.client_slug = :c AND a.account_ref = :r
           ORDER BY m.sent_at"""), {"c": client, "r": account_ref}))
