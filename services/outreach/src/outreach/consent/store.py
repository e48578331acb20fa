"""Consent's tables: opt-outs by channel, the do-not-contact list, legal holds, each client company's stricter
contact rules, and the append-only consent evidence."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy.ext.asyncio import AsyncSession

from outreach.domain.client_rules import RulesOverride
from outreach.domain.consent import ChannelConsent, ConsentChange, Source, What
from outreach.store import Cancelled
from recaudo_common.db import sql, unnest_rows


async def cancel_scheduled_for_debtor(s: AsyncSession, client: str, debtor_id: str, channel: str | None,
                                      reason: str) -> list[Cancelled]:
    """Cancels the debtor's attempts not sent yet at every account of the client company (on one channel, or
    on all when `channel` is None)."""
    result = await s.execute(sql(
        """UPDATE outreach.attempts a SET status = 'cancelled', cancel_reason = :why
           FROM outreach.accounts acc
           WHERE acc.client_slug = a.client_slug AND acc.account_ref = a.account_ref AND a.status = 'scheduled'
             AND a.client_slug = :c AND acc.debtor_id = :d AND (CAST(:ch AS text) IS NULL OR a.channel = :ch)
           RETURNING a.id, a.account_ref, a.channel"""),
        {"c": client, "d": debtor_id, "ch": channel, "why": reason})
    return [Cancelled(client, r.account_ref, r.id, r.channel) for r in result]


async def add_opt_out(s: AsyncSession, *, client: str, debtor_id: str, channel: str, at: dt.datetime,
                      source: str) -> bool:
    result = await s.execute(sql(
        "INSERT INTO outreach.opt_outs (client_slug, debtor_id, channel, opted_out_at, source) "
        "VALUES (:c, :d, :ch, :at, :src) ON CONFLICT DO NOTHING RETURNING 1"),
        {"c": client, "d": debtor_id, "ch": channel, "at": at, "src": source})
    return result.first() is not None


async def add_do_not_contact(s: AsyncSession, *, client: str, debtor_id: str, reason: str, at: dt.datetime,
                             by: uuid.UUID) -> bool:
    result = await s.execute(sql(
        "INSERT INTO outreach.do_not_contact (client_slug, debtor_id, reason, added_at, added_by) "
        "VALUES (:c, :d, :why, :at, :by) ON CONFLICT DO NOTHING RETURNING 1"),
        {"c": client, "d": debtor_id, "why": reason, "at": at, "by": by})
    return result.first() is not None


async def accounts_of_debtor(s: AsyncSession, client: str, debtor_id: str) -> list[str]:
    result = await s.execute(sql("SELECT account_ref FROM outreach.accounts WHERE client_slug = :c AND "
                                 "debtor_id = :d ORDER BY account_ref"), {"c": client, "d": debtor_id})
    return [r[0] for r in result.all()]


async def accounts_of_person(s: AsyncSession, client: str, account_ref: str) -> list[str]:
    """The accounts at the client company of the person the account is (itself alone when it names nobody)."""
    result = await s.execute(sql(
        "SELECT o.account_ref FROM outreach.accounts acc JOIN outreach.accounts o ON o.client_slug = acc.client_slug "
        "AND (o.account_ref = acc.account_ref OR (acc.debtor_id <> '' AND o.debtor_id = acc.debtor_id)) "
        "WHERE acc.client_slug = :c AND acc.account_ref = :r ORDER BY o.account_ref"), {"c": client, "r": account_ref})
    return [r[0] for r in result.all()]


async def set_legal_hold(s: AsyncSession, *, client: str, account_ref: str, hold: str, note: str | None,
                         at: dt.datetime, by: uuid.UUID | None) -> bool:
    result = await s.execute(sql(
        """INSERT INTO outreach.legal_holds (id, client_slug, account_ref, hold, note, set_at, set_by)
           VALUES (:id, :c, :r, :h, :n, :at, :by)
           ON CONFLICT (client_slug, account_ref, hold) WHERE lifted_at IS NULL DO NOTHING RETURNING 1"""),
        {"id": uuid.uuid4(), "c": client, "r": account_ref, "h": hold, "n": note, "at": at, "by": by})
    return result.first() is not None


async def lift_legal_hold(s: AsyncSession, *, client: str, account_ref: str, hold: str, at: dt.datetime,
                          by: uuid.UUID) -> bool:
    result = await s.execute(sql(
        "UPDATE outreach.legal_holds SET lifted_at = :at, lifted_by = :by WHERE client_slug = :c "
        "AND account_ref = :r AND hold = :h AND lifted_at IS NULL RETURNING 1"),
        {"c": client, "r": account_ref, "h": hold, "at": at, "by": by})
    return result.first() is not None


async def get_client_rules(s: AsyncSession, client: str) -> RulesOverride | None:
    """The client company's stricter rules as it saved them, or None when it has none."""
    row = (await s.execute(sql("SELECT rules FROM outreach.client_rules WHERE client_slug = :c"),
                           {"c": client})).first()
    return RulesOverride.from_document(row[0]) if row else None


async def lock_client_rules(s: AsyncSession, client: str) -> None:
    """Holds the client company's rules (saved or not yet) until the transaction ends."""
    await s.execute(sql("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"recaudo.outreach.rules.{client}"})


async def put_client_rules(s: AsyncSession, client: str, rules: RulesOverride, now: dt.datetime) -> None:
    await s.execute(sql(
        "INSERT INTO outreach.client_rules (client_slug, rules, updated_at) VALUES (:c, CAST(:r AS jsonb), :now) "
        "ON CONFLICT (client_slug) DO UPDATE SET rules = excluded.rules, updated_at = excluded.updated_at"),
        {"c": client, "r": json.dumps(rules.document()), "now": now})


# ------------------------------------------------------------------ consent evidence (append-only)

@dataclass(frozen=True)
class RecordedConsent:
    """One piece of consent evidence as recorded, with its place in the record."""

    id: int
    change: ConsentChange
    recorded_at: dt.datetime


async def consent_states(s: AsyncSession, keys: Sequence[tuple[str, str]]
                         ) -> dict[tuple[str, str], dict[str, ChannelConsent]]:
    """Each of these accounts' channels' latest evidence, in one statement."""
    if not keys:
        return {}
    source, params = unnest_rows({"client": "text", "account_ref": "text"}, list(dict.fromkeys(keys)))
    result = await s.execute(sql(
        f"""SELECT DISTINCT ON (e.client_slug, e.account_ref, e.channel)
                   e.client_slug, e.account_ref, e.channel, e.what, e.source, e.recorded_at
            FROM {source} JOIN outreach.consent_evidence e
                 ON e.client_slug = i.client AND e.account_ref = i.account_ref
            ORDER BY e.client_slug, e.account_ref, e.channel, e.id DESC"""), params)
    states: dict[tuple[str, str], dict[str, ChannelConsent]] = {}
    for r in result:
        states.setdefault((r.client_slug, r.account_ref), {})[r.channel] = ChannelConsent(
            cast(What, r.what), cast(Source, r.source), r.recorded_at)
    return states


async def debtor_withdrawals(s: AsyncSession, keys: Sequence[tuple[str, str]]
                             ) -> dict[tuple[str, str], dict[str, ConsentChange]]:
    """For each of these accounts whose debtor has opted out or is on the do-not-contact list at the client
    company, the latest withdrawal by the debtor or an operator on any of the debtor's accounts, by channel."""
    if not keys:
        return {}
    source, params = unnest_rows({"client": "text", "account_ref": "text"}, list(dict.fromkeys(keys)))
    result = await s.execute(sql(
        f"""SELECT i.client, i.account_ref, w.channel, w.source, w.evidence, w.text_version
            FROM {source}
            JOIN outreach.accounts a ON a.client_slug = i.client AND a.account_ref = i.account_ref
            CROSS JOIN LATERAL (
                SELECT DISTINCT ON (e.channel) e.channel, e.source, e.evidence, e.text_version
                FROM outreach.accounts o JOIN outreach.consent_evidence e
                     ON e.client_slug = o.client_slug AND e.account_ref = o.account_ref
                WHERE o.client_slug = a.client_slug AND o.debtor_id = a.debtor_id AND e.what = 'withdrawn'
                  AND e.source <> 'client_file'
                ORDER BY e.channel, e.id DESC) w
            WHERE EXISTS (SELECT 1 FROM outreach.opt_outs x WHERE x.client_slug = a.client_slug
                          AND x.debtor_id = a.debtor_id)
               OR EXISTS (SELECT 1 FROM outreach.do_not_contact d WHERE d.client_slug = a.client_slug
                          AND d.debtor_id = a.debtor_id)"""), params)
    withdrawals: dict[tuple[str, str], dict[str, ConsentChange]] = {}
    for r in result:
        withdrawals.setdefault((r.client, r.account_ref), {})[r.channel] = ConsentChange(
            r.channel, "withdrawn", cast(Source, r.source), r.evidence, r.text_version)
    return withdrawals


async def record_consent(s: AsyncSession, changes: Sequence[tuple[str, str, ConsentChange]], at: dt.datetime
                         ) -> None:
    """Appends (client, account_ref, change) evidence, in order and in one statement."""
    if not changes:
        return
    source, params = unnest_rows(
        {"client": "text", "account_ref": "text", "channel": "text", "what": "text", "source": "text",
         "evidence": "uuid", "text_version": "text"},
        [(client, ref, c.channel, c.what, c.source, c.evidence, c.text_version) for client, ref, c in changes],
        ordinality=True)
    await s.execute(sql(
        f"""INSERT INTO outreach.consent_evidence (client_slug, account_ref, channel, what, source, recorded_at,
                evidence, text_version)
            SELECT client, account_ref, channel, what, source, CAST(:at AS timestamptz), evidence, text_version
            FROM {source}
            ORDER BY n"""), {**params, "at": at})


async def consent_evidence(s: AsyncSession, client: str, account_ref: str) -> list[RecordedConsent]:
    """The account's consent evidence in the order it was recorded."""
    result = await s.execute(sql(
        "SELECT id, channel, what, source, recorded_at, evidence, text_version FROM outreach.consent_evidence "
        "WHERE client_slug = :c AND account_ref = :r ORDER BY id"), {"c": client, "r": account_ref})
    return [RecordedConsent(r.id, ConsentChange(r.channel, cast(What, r.what), cast(Source, r.source), r.evidence,
                                                r.text_version), r.recorded_at) for r in result]
