"""Outreach's shared tables: the audit trail, the outbox, an account's debtor as the contact law reads it, and
the attempts' queries more than one feature uses. Each feature keeps its own queries in its package's store."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from outreach.debtors import DebtorContext, collection_holds_of
from outreach.domain.collection_holds import PendingPromise
from outreach.domain.contact_law import PastContact
from recaudo_common.db import sql, unnest_rows
from recaudo_common.outbox import Outbox
from recaudo_common.redaction import mask_text

SCHEMA = "outreach"
HISTORY_DAYS = 8  # every frequency rule looks back at most a week
# Advisory lock class (two-key form, a space of its own): one debtor at a client company, while a contact with
# them is decided and counted.
DEBTOR_LOCKS = 7_211_101
outbox = Outbox(SCHEMA)


# ------------------------------------------------------------------ the audit trail

@dataclass(frozen=True)
class TrailEntry:
    """One line of an account's append-only audit trail."""

    client: str
    account_ref: str
    at: dt.datetime
    kind: str
    attempt_id: uuid.UUID | None = None
    channel: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)  # free-form JSON, what the kind of entry says
    id: int | None = None  # its place in the trail, once recorded


# The trail is append-only evidence kept after a person's erasure: it names an attempt, a channel, a pseudonym,
# never where a message went or whom it reached. A detail under one of these keys is a defect, refused.
PERSONAL_KEYS = frozenset({"recipient", "phone", "phones", "email", "full_name", "name", "debtor_id", "id_number",
                           "address", "body", "subject", "reply_from"})
# Free text that comes from outside (a provider's failure, an operator's reason) is kept with its e-mail addresses
# and long digit runs (id numbers, phones) masked.
FREE_TEXT_KEYS = frozenset({"reason"})


def scrubbed(detail: dict[str, Any]) -> dict[str, Any]:
    """A trail entry's detail as it may be kept; AssertionError for a personal key."""
    if personal := PERSONAL_KEYS & detail.keys():
        raise AssertionError(f"the audit trail keeps no personal data: {sorted(personal)}")
    return {k: mask_text(v) if k in FREE_TEXT_KEYS and isinstance(v, str) else v for k, v in detail.items()}


async def trail(s: AsyncSession, entries: Sequence[TrailEntry]) -> None:
    """Appends to the audit trail, in order and in one statement, with no personal data (scrubbed)."""
    if not entries:
        return
    source, params = unnest_rows(
        {"client": "text", "account_ref": "text", "at": "timestamptz", "kind": "text", "attempt_id": "uuid",
         "channel": "text", "detail": "jsonb"},
        [(e.client, e.account_ref, e.at, e.kind, e.attempt_id, e.channel, scrubbed(e.detail)) for e in entries],
        ordinality=True)
    await s.execute(sql(
        f"""INSERT INTO outreach.trail (client_slug, account_ref, at, kind, attempt_id, channel, detail)
            SELECT client, account_ref, at, kind, attempt_id, channel, detail FROM {source} ORDER BY n"""), params)


# ------------------------------------------------------------------ accounts and their attempts

@dataclass(frozen=True)
class Cancelled:
    """A scheduled attempt that will not go out."""

    client: str
    account_ref: str
    attempt_id: uuid.UUID
    channel: str


async def account_exists(s: AsyncSession, client: str, account_ref: str) -> bool:
    found = await s.scalar(sql("SELECT 1 FROM outreach.accounts WHERE client_slug = :c AND account_ref = :r"),
                           {"c": client, "r": account_ref})
    return found is not None


async def cancel_scheduled(s: AsyncSession, client: str, account_ref: str, reason: str, *,
                           keep_confirmations: bool = False) -> list[Cancelled]:
    """Cancels the account's attempts that have not gone out (its payment confirmations too, unless kept)."""
    return await cancel_all_scheduled(s, [(client, account_ref)], reason, keep_confirmations=keep_confirmations)


async def cancel_all_scheduled(s: AsyncSession, accounts: Sequence[tuple[str, str]], reason: str, *,
                               keep_confirmations: bool = False) -> list[Cancelled]:
    """cancel_scheduled for many accounts, for one reason, in one round trip. Each account's attempts are found by
    account alone, as planning.store.cancel_scheduled_many finds them (its note says why)."""
    if not accounts:
        return []
    source, params = unnest_rows({"client_slug": "text", "account_ref": "text"}, accounts, alias="k")
    result = await s.execute(sql(
        f"""UPDATE outreach.attempts a SET status = 'cancelled', cancel_reason = :why
            WHERE a.id = ANY(ARRAY(
                SELECT x.id FROM {source} CROSS JOIN LATERAL (
                    SELECT id, status, confirmation FROM outreach.attempts x
                    WHERE x.client_slug = k.client_slug AND x.account_ref = k.account_ref OFFSET 0) x
                WHERE x.status = 'scheduled' AND (x.confirmation IS NULL OR NOT :keep)))
              AND a.status = 'scheduled'
            RETURNING a.client_slug, a.account_ref, a.id, a.channel"""),
        {**params, "why": reason, "keep": keep_confirmations})
    return [Cancelled(row.client_slug, row.account_ref, row.id, row.channel) for row in result]


# What the debtor (of account `acc`) withdrew at the client company, on any of their accounts: planning leaves
# these channels out and the send-time check refuses them.
WITHDRAWN_COLUMNS = """EXISTS (SELECT 1 FROM outreach.do_not_contact d WHERE d.client_slug = acc.client_slug
            AND d.debtor_id = acc.debtor_id) AS do_not_contact,
    (SELECT coalesce(array_agg(o.channel), '{}') FROM outreach.opt_outs o WHERE o.client_slug = acc.client_slug
            AND o.debtor_id = acc.debtor_id) AS opted_out"""

# The legal hold account `acc` is under: its own, or its person's (a death or an insolvency on any of the debtor's
# accounts at the client company holds them all; a dispute or litigation is the account's). Two index lookups: the
# account's active holds, and the person's accounts (accounts_debtor) joined to theirs.
LEGAL_HOLD = """least(
    (SELECT min(h.hold) FROM outreach.legal_holds h WHERE h.client_slug = acc.client_slug
            AND h.account_ref = acc.account_ref AND h.lifted_at IS NULL),
    (SELECT min(h.hold) FROM outreach.accounts o JOIN outreach.legal_holds h ON h.client_slug = o.client_slug
            AND h.account_ref = o.account_ref AND h.lifted_at IS NULL AND h.hold IN ('deceased', 'insolvency')
     WHERE o.client_slug = acc.client_slug AND o.debtor_id = acc.debtor_id AND acc.debtor_id <> ''))"""

# What may hold the account's collection contacts (domain/collection_holds.py): its pending promises (holds.py) and
# the instalments' due dates of each arrangement standing on it (debtor_page/plans.py); the rule reads them at `now`.
COLLECTION_HOLDS = """
    (SELECT coalesce(json_agg(json_build_object('due_date', p.due_date, 'made_at', p.made_at)), '[]')
     FROM outreach.promises p WHERE p.client_slug = acc.client_slug AND p.account_ref = acc.account_ref
            AND p.due_date IS NOT NULL AND (p.verdict IS NULL OR p.verdict = 'reopened')) AS pending_promises,
    (SELECT coalesce(json_agg(ar.instalments), '[]') FROM outreach.arrangements ar
     WHERE ar.client_slug = acc.client_slug AND ar.account_ref = acc.account_ref AND ar.status = 'active'
            AND ar.instalments IS NOT NULL) AS standing_plans"""

# Everything the compliance engine needs about one attempt's debtor but their recent contacts, in one round trip
# per batch: a claim holds its debtors first and reads their contacts once held (decide_one_at_a_time).
HELD_DEBTOR_COLUMNS = """
    acc.debtor_id, acc.full_name, acc.phones, acc.email, acc.region, acc.address, acc.currency, acc.authorised_channels,
    coalesce(st.status, 'open') AS account_status, coalesce(st.balance, acc.balance) AS balance,
    c.name AS creditor, c.country, c.timezone, c.locale, c.default_authorised_channels, c.promise_window_days,
    r.rules AS client_rules,
    t.days_past_due, t.dpd_as_of, t.aging_held, t.expected_net_recovery,
    -- no other arrangement is offered while one stands (debtor_page/plans.py: the page shows it and refuses
    -- another), so neither a message nor the agent desk offers the treatment's settlement or plan then
    CASE WHEN NOT EXISTS (SELECT 1 FROM outreach.arrangements ar WHERE ar.client_slug = acc.client_slug
                          AND ar.account_ref = acc.account_ref AND ar.status = 'active') THEN t.offer END AS offer,
    -- never more than the client company allows now (it may have lowered its ceiling under a strategy in force)
    CASE WHEN t.offer_discount_pct > c.max_discount_pct THEN c.max_discount_pct ELSE t.offer_discount_pct END
        AS offer_discount_pct,
""" + COLLECTION_HOLDS + """,
""" + WITHDRAWN_COLUMNS + """,
    """ + LEGAL_HOLD + """ AS legal_hold"""
# And their contacts of the last HISTORY_DAYS (:days) before :at up to :until (:at but for a contact logged late,
# judged with those after it), at every account: everything, for one account.
DEBTOR_COLUMNS = HELD_DEBTOR_COLUMNS + """,
    (SELECT coalesce(json_agg(json_build_object('at', k.at, 'channel', k.channel, 'conversation', k.conversation,
                                                'account_ref', k.account_ref, 'direction', k.direction)), '[]')
     FROM outreach.contacts k WHERE k.client_slug = acc.client_slug AND k.debtor_id = acc.debtor_id
            AND k.at > CAST(:at AS timestamptz) - make_interval(days => :days)
            AND k.at <= CAST(:until AS timestamptz)) AS history
"""
DEBTOR_JOINS = """
    JOIN outreach.clients c ON c.slug = acc.client_slug
    LEFT JOIN outreach.account_status st ON st.client_slug = acc.client_slug AND st.account_ref = acc.account_ref
    LEFT JOIN outreach.client_rules r ON r.client_slug = acc.client_slug
    LEFT JOIN outreach.treatments t ON t.client_slug = acc.client_slug AND t.account_ref = acc.account_ref
"""


async def contact_context(s: AsyncSession, client: str, account_ref: str, at: dt.datetime, *,
                          until: dt.datetime | None = None) -> DebtorContext | None:
    """The account's debtor as the contact law sees it at `at`, or None when the account is not known here.
    `until`: their contacts read up to then, not only up to `at` (a contact logged after it was made)."""
    row = (await s.execute(sql(
        f"SELECT acc.client_slug, acc.account_ref, {DEBTOR_COLUMNS} FROM outreach.accounts acc {DEBTOR_JOINS} "
        "WHERE acc.client_slug = :c AND acc.account_ref = :r"),
        {"c": client, "r": account_ref, "at": at, "until": max(at, until or at), "days": HISTORY_DAYS})
    ).mappings().first()
    return DebtorContext.of(row) if row else None


# ------------------------------------------------------------------ the scheduler's gauge (sending/ has the rest)

async def due_backlog(s: AsyncSession, now: dt.datetime) -> int:
    row = (await s.execute(sql("SELECT count(*) FROM outreach.attempts WHERE status = 'scheduled' "
                               "AND scheduled_at <= :at AND channel <> 'agent'"), {"at": now})).first()
    return int(row[0]) if row else 0


async def decide_one_at_a_time(s: AsyncSession, debtors: list[DebtorContext], at: dt.datetime
                               ) -> dict[tuple[str, str], tuple[PastContact, ...]]:
    """Holds these debtors (client company, debtor) until the transaction ends, so no other decision about them
    (another lane's claim, another replica, an agent's next call) runs beside this one, and reads their contacts
    once held (the claim read them without, HELD_DEBTOR_COLUMNS): whatever such a decision counted before it let
    go. The law's daily and weekly limits count
    every contact of a debtor; two decisions that each read the history before the other wrote would both allow
    one. Locks are taken in the order of their keys, so two claims over the same debtors never wait on each
    other in a cycle."""
    people = sorted({(d.client, d.debtor_id) for d in debtors if d.debtor_id})
    if not people:
        return {}
    source, params = unnest_rows({"client_slug": "text", "debtor_id": "text"}, people, alias="p")
    await s.execute(sql(
        f"""SELECT pg_advisory_xact_lock(:locks, k) FROM (
                SELECT DISTINCT hashtext(p.client_slug || '/' || p.debtor_id) AS k FROM {source} ORDER BY k
                OFFSET 0) held"""), {**params, "locks": DEBTOR_LOCKS})
    rows = await s.execute(sql(
        f"""SELECT k.client_slug, k.debtor_id, k.at, k.channel, k.conversation, k.account_ref, k.direction
            FROM {source} JOIN outreach.contacts k ON k.client_slug = p.client_slug AND k.debtor_id = p.debtor_id
            WHERE k.at > CAST(:at AS timestamptz) - make_interval(days => :days) AND k.at <= CAST(:at AS timestamptz)
            ORDER BY k.at"""), {**params, "at": at, "days": HISTORY_DAYS})
    found: dict[tuple[str, str], tuple[PastContact, ...]] = {person: () for person in people}
    for r in rows:
        found[(r.client_slug, r.debtor_id)] += (PastContact(r.at, r.channel, bool(r.conversation), r.account_ref,
                                                            r.direction == "inbound"),)
    return found


def as_held(debtor: DebtorContext, fresh: dict[tuple[str, str], tuple[PastContact, ...]]) -> DebtorContext:
    """The debtor (read without their contacts, HELD_DEBTOR_COLUMNS) with the contacts read once they were held
    (decide_one_at_a_time); a debtor no longer known by an id number (erased) has none to count."""
    history = fresh.get((debtor.client, debtor.debtor_id))
    return debtor if not history or history == debtor.history else replace(debtor, history=history)


@dataclass(frozen=True)
class Blocks:
    """What blocks contact with an account's debtor, as read at one instant: always, and while a promise or an
    arrangement holds the account (its pending promises and its standing plans, DebtorContext's)."""

    do_not_contact: bool
    opted_out: frozenset[str]
    legal_hold: str | None
    promises: tuple[PendingPromise, ...] = ()
    plans: tuple[tuple[dt.date, ...], ...] = ()


async def blocks_now(s: AsyncSession, debtors: Sequence[DebtorContext]) -> dict[tuple[str, str], Blocks]:
    """The holds, opt-outs and do-not-contact entries of these debtors' accounts, and the promises and arrangements
    that hold their collection contacts, read again in one statement once a claim holds them
    (decide_one_at_a_time): its first read of them came before, in the statement that picked its attempts, and a
    block on another of the person's accounts may have committed since (withdrawals.hold_unsent makes a later one
    wait for the claim), as a promise made or an arrangement agreed on the account may have."""
    accounts = sorted({(d.client, d.account_ref) for d in debtors})
    if not accounts:
        return {}
    source, params = unnest_rows({"client_slug": "text", "account_ref": "text"}, accounts, alias="k")
    rows = await s.execute(sql(
        f"""SELECT acc.client_slug, acc.account_ref, {WITHDRAWN_COLUMNS}, {LEGAL_HOLD} AS legal_hold,
                   {COLLECTION_HOLDS}
            FROM {source} JOIN outreach.accounts acc ON acc.client_slug = k.client_slug
                AND acc.account_ref = k.account_ref"""), params)
    return {(r.client_slug, r.account_ref): Blocks(bool(r.do_not_contact), frozenset(r.opted_out or ()),
                                                   r.legal_hold, *collection_holds_of(r._mapping)) for r in rows}


def as_blocked_now(debtor: DebtorContext, now: dict[tuple[str, str], Blocks]) -> DebtorContext:
    """The debtor with the blocks and collection holds read again (blocks_now); as read before when their account
    was not found."""
    b = now.get((debtor.client, debtor.account_ref))
    if b is None or (b.do_not_contact, b.opted_out, b.legal_hold, b.promises, b.plans) == (
            debtor.do_not_contact, debtor.opted_out, debtor.legal_hold, debtor.promises, debtor.plans):
        return debtor
    return replace(debtor, do_not_contact=b.do_not_contact, opted_out=b.opted_out, legal_hold=b.legal_hold,
                   promises=b.promises, plans=b.plans)
