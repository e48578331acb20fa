"""Planning's tables: the accounts' contact data and status as the other services state them, each account's
latest treatment, and the dated attempts a treatment becomes."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from outreach.domain import cadence
from outreach.personal import Contact, postal_address
from outreach.store import WITHDRAWN_COLUMNS, Cancelled
from recaudo_common.db import sql, unnest_rows


@dataclass(frozen=True)
class StatedAccount:
    """An account's contact data as a placement or a restatement gives it (blank for a person erased)."""

    client: str
    account_ref: str
    debtor_ref: uuid.UUID | None
    contact: Contact
    city: str | None
    region: str | None
    balance: Decimal
    currency: str
    channels: tuple[str, ...]


@dataclass(frozen=True)
class Treatment:
    """Segmentation's latest decision for an account (the plan it is carried out by is its event's id)."""

    client: str
    account_ref: str
    plan_id: uuid.UUID
    segment: str
    treatment: str
    channels: tuple[str, ...]
    cadence_days: int | None
    offer: str | None
    offer_discount_pct: Decimal | None
    expected_net_recovery: Decimal | None
    propensity: Decimal | None
    days_past_due: int | None
    strategy_arm: str | None
    decided_at: dt.datetime
    correlation_id: uuid.UUID | None = None  # its event's: the attempts' sends keep it (sending.events.cause_of)
    dpd_as_of: dt.date | None = None  # the day days_past_due are for (account.segmented v2), and whether they
    aging_held: bool | None = None  # stand still from it: what is shown ages them (accounts.days_past_due_on)


# A kept plan's attempts to come, in SQL (ToCome).
TO_COME = "a.status IN ('scheduled', 'sending')"


@dataclass(frozen=True)
class ToCome:
    """A kept plan's attempt still to come: scheduled, or going out now (a sender claimed it: `sending`), which
    counts as one of the plan's touches and is the sender's to settle, never cancelled by planning."""

    attempt_id: uuid.UUID
    channel: str
    at: dt.datetime


@dataclass(frozen=True)
class PlanToMake:
    """A treatment not planned yet whose account is known here, with what planning needs of the account."""

    client: str
    account_ref: str
    plan_id: uuid.UUID
    treatment: str
    channels: tuple[str, ...]
    cadence_days: int | None
    account_status: str
    phones: tuple[str, ...]
    email: str | None
    address: str | None
    # Where the debtor is, for best time's slot: the treatment's segment, the client company's country, zone and
    # stricter rules (a JSON document), the account's region.
    segment: str = ""
    country: str | None = None
    client_zone: str | None = None
    region: str | None = None
    client_rules: object = None
    # The plan keeps the rhythm (cadence.first_touch): the last message that went out and the last payment.
    last_touch_at: dt.datetime | None = None
    last_paid_at: dt.datetime | None = None
    # A plan kept by a decision that gave the same treatment again (save_treatments): its attempts still to come,
    # in order, and the last sequence it numbered; a new plan has none.
    to_come: tuple[ToCome, ...] = ()
    last_sequence: int = 0
    # What the debtor (or an operator) withdrew at this client company, on any of the debtor's accounts: the
    # channels opted out of, and whether the debtor is on the do-not-contact list (every channel).
    opted_out: tuple[str, ...] = ()
    do_not_contact: bool = False
    correlation_id: uuid.UUID | None = None  # the treatment's: its attempts' sends keep it (sending.events.cause_of)


@dataclass(frozen=True)
class Scheduled:
    """An attempt just scheduled."""

    client: str
    account_ref: str
    attempt_id: uuid.UUID
    channel: str
    sequence: int
    scheduled_at: dt.datetime
    why: str | None = None


async def upsert_accounts(s: AsyncSession, accounts: list[StatedAccount], now: dt.datetime) -> None:
    """Many accounts' contact data (at most one per account) in one round trip."""
    source, params = unnest_rows(
        {"client": "text", "account_ref": "text", "debtor_ref": "uuid", "debtor_id": "text", "full_name": "text",
         "phones": "text[]", "email": "text", "city": "text", "region": "text", "address": "text",
         "balance": "numeric", "currency": "text", "channels": "text[]"},
        [(a.client, a.account_ref, a.debtor_ref, a.contact.debtor_id, a.contact.full_name, list(a.contact.phones),
          a.contact.email, a.city, a.region, postal_address(a.contact.address, a.city, a.region), a.balance,
          a.currency, list(a.channels)) for a in accounts])
    await s.execute(sql(
        f"""INSERT INTO outreach.accounts (client_slug, account_ref, debtor_ref, debtor_id, full_name, phones, email,
                city, region, address, balance, currency, authorised_channels, updated_at)
            SELECT client, account_ref, debtor_ref, debtor_id, full_name,
                   -- a phone found not to be the debtor's stays off too, in the file's order (the first is used)
                   ARRAY(SELECT p FROM unnest(i.phones) WITH ORDINALITY AS f(p, n)
                         WHERE NOT EXISTS (SELECT 1 FROM outreach.invalid_contact_points x
                                           WHERE x.client_slug = i.client AND x.channel IN ('sms', 'whatsapp', 'voice')
                                             AND x.point = f.p)
                         ORDER BY f.n),
                   -- an address a mail server refused for good stays off, whatever file brings it again
                   CASE WHEN EXISTS (SELECT 1 FROM outreach.invalid_contact_points x WHERE x.client_slug = i.client
                                     AND x.channel = 'email' AND x.point = lower(i.email)) THEN NULL ELSE email END,
                   city, region, address, balance, currency, channels, :now
            FROM {source}
            ON CONFLICT (client_slug, account_ref) DO UPDATE SET debtor_id = excluded.debtor_id,
                debtor_ref = coalesce(excluded.debtor_ref, outreach.accounts.debtor_ref),
                full_name = excluded.full_name, phones = excluded.phones, email = excluded.email,
                address = excluded.address, city = excluded.city,
                region = excluded.region, balance = excluded.balance, currency = excluded.currency,
                authorised_channels = excluded.authorised_channels, updated_at = excluded.updated_at"""),
        {**params, "now": now})


async def rectify_contact(s: AsyncSession, client: str, account_ref: str, contact: Contact,
                          fields: frozenset[str]) -> bool:
    """The account's contact points named in `fields` (phones, email, address) as `contact` corrects them, the
    others as they were; False when the account is not known here."""
    result = await s.execute(sql(
        """UPDATE outreach.accounts SET
               phones = CASE WHEN :phones_changed THEN CAST(:phones AS text[]) ELSE phones END,
               email = CASE WHEN :email_changed THEN CAST(:email AS text) ELSE email END,
               address = CASE WHEN :address_changed
                              THEN nullif(concat_ws(', ', nullif(CAST(:address AS text), ''), nullif(city, ''),
                                                    nullif(region, '')), '')
                              ELSE address END
           WHERE client_slug = :c AND account_ref = :r RETURNING 1"""),
        {"c": client, "r": account_ref, "phones": list(contact.phones), "email": contact.email,
         "address": contact.address, "phones_changed": "phones" in fields, "email_changed": "email" in fields,
         "address_changed": "address" in fields})
    return result.first() is not None


@dataclass(frozen=True)
class StatusChange:
    """An account's status (and balance, when the event says it) as an event stated it at `as_of`."""

    client: str
    account_ref: str
    status: str
    balance: Decimal | None
    as_of: dt.datetime


async def set_statuses(s: AsyncSession, changes: Sequence[StatusChange]) -> None:
    """Kept apart from the placement so a payment that arrives before its placement is not lost. The newest
    statement wins, except that a recall always does and stays (accounts.account_status: a recall is never undone,
    by a payment or a settlement paid after it, even one whose event arrived first). At most one change per account;
    one round trip."""
    if not changes:
        return
    source, params = unnest_rows(
        {"client_slug": "text", "account_ref": "text", "status": "text", "balance": "numeric", "as_of": "timestamptz"},
        [(c.client, c.account_ref, c.status, c.balance, c.as_of) for c in changes])
    await s.execute(sql(
        f"""INSERT INTO outreach.account_status AS st (client_slug, account_ref, status, balance, as_of)
            SELECT client_slug, account_ref, status, balance, as_of FROM {source} ORDER BY client_slug, account_ref
            ON CONFLICT (client_slug, account_ref) DO UPDATE
                SET status = CASE WHEN st.status = 'recalled' THEN st.status ELSE excluded.status END,
                    balance = coalesce(excluded.balance, st.balance), as_of = excluded.as_of
            WHERE st.as_of <= excluded.as_of OR excluded.status = 'recalled'"""), params)


async def paid(s: AsyncSession, payments: Sequence[tuple[str, str, dt.datetime]]) -> None:
    """Remembers each account's latest payment, from rows of (client, account_ref, paid_at), in one round trip (an
    older one arriving late changes nothing)."""
    if not payments:
        return
    source, params = unnest_rows({"client_slug": "text", "account_ref": "text", "paid_at": "timestamptz"}, payments)
    await s.execute(sql(
        f"""INSERT INTO outreach.last_payments AS lp (client_slug, account_ref, paid_at)
            SELECT client_slug, account_ref, max(paid_at) FROM {source} GROUP BY client_slug, account_ref
            ORDER BY client_slug, account_ref
            ON CONFLICT (client_slug, account_ref) DO UPDATE SET paid_at = greatest(lp.paid_at, excluded.paid_at)"""),
        params)


async def defer_scheduled(s: AsyncSession, payments: Sequence[tuple[str, str, dt.datetime]]) -> list[Scheduled]:
    """For rows of (client, account_ref, paid_at), at most one per account: each account's attempts not sent yet,
    moved all by the same whole number of days (their spacing and their hour, which best time chose, kept) so that
    the first comes no sooner than one spacing of their treatment after the payment (cadence.spacing: no cadence,
    or 0, is the default); the ones moved, in one round trip. Each account's attempts are found by account alone,
    as cancel_scheduled_many finds them (its note says why)."""
    if not payments:
        return []
    source, params = unnest_rows({"client_slug": "text", "account_ref": "text", "paid_at": "timestamptz"}, payments,
                                 alias="k")
    result = await s.execute(sql(
        f"""WITH due AS (
               SELECT x.id, x.scheduled_at,
                      min(x.scheduled_at) OVER (PARTITION BY k.client_slug, k.account_ref) AS first_at,
                      k.paid_at + make_interval(days => coalesce(nullif(t.cadence_days, 0), :default_days))
                          AS quiet_until
               FROM {source} CROSS JOIN LATERAL (
                   SELECT id, scheduled_at, plan_id, status, confirmation, sequence FROM outreach.attempts a
                   WHERE a.client_slug = k.client_slug AND a.account_ref = k.account_ref OFFSET 0) x
               LEFT JOIN outreach.treatments t ON t.client_slug = k.client_slug AND t.account_ref = k.account_ref
                    AND t.plan_id = x.plan_id
               WHERE x.status = 'scheduled'
                 AND x.confirmation IS NULL  -- a confirmation of a payment is not collection: it goes now
                 AND x.sequence < :extra)  -- nor the agent's callback the debtor asked for
           UPDATE outreach.attempts a SET scheduled_at = a.scheduled_at + make_interval(
               days => CAST(ceil(extract(epoch FROM due.quiet_until - due.first_at) / 86400) AS integer))
           FROM due WHERE a.id = due.id AND due.first_at < due.quiet_until
           RETURNING a.client_slug, a.account_ref, a.id, a.channel, a.sequence, a.scheduled_at, a.why"""),
        {**params, "default_days": cadence.DEFAULT_CADENCE_DAYS, "extra": cadence.EXTRA_SEQUENCES_FROM})
    return [Scheduled(r.client_slug, r.account_ref, r.id, r.channel, r.sequence, r.scheduled_at, r.why)
            for r in result]


async def statuses_of(s: AsyncSession, accounts: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """These accounts' last known statuses here (locked for the transaction, in key order), those that have one."""
    if not accounts:
        return {}
    source, params = unnest_rows({"client_slug": "text", "account_ref": "text"}, accounts, alias="k")
    rows = await s.execute(sql(
        f"""SELECT st.client_slug, st.account_ref, st.status FROM outreach.account_status st
            JOIN {source} ON st.client_slug = k.client_slug AND st.account_ref = k.account_ref
            ORDER BY st.client_slug, st.account_ref FOR UPDATE OF st"""), params)
    return {(r.client_slug, r.account_ref): str(r.status) for r in rows}


# A decision that gives the account the treatment it has (same segment, treatment, channels and cadence) keeps
# the plan that carries it out: its attempts to come stay as they are (a new plan would restart the debtor's
# sequence and cancel and write them again on every payment, aging run or strategy change).
SAME_PLAN = """t.segment = excluded.segment AND t.treatment = excluded.treatment AND t.channels = excluded.channels
               AND t.cadence_days IS NOT DISTINCT FROM excluded.cadence_days"""


@dataclass(frozen=True)
class SavedTreatment:
    """A decision kept: the plan that carries it out, whether it is the account's first treatment here (then
    no attempt of an earlier plan can be waiting to be replaced), and whether it was marked planned as it was kept
    (its account is known here: plan_pending(marked=True) reads it to plan)."""

    plan_id: uuid.UUID
    first: bool
    planned: bool = False


async def save_treatments(s: AsyncSession, treatments: list[Treatment]) -> dict[tuple[str, str], SavedTreatment]:
    """Many accounts' treatments (at most one per account) in one round trip; for each (client, account_ref) whose
    decision was newer than the one kept, the plan that now carries it out: the decision's own (`plan_id`: a new
    plan), or the kept one's when the treatment is the same (SAME_PLAN). Either is left to plan (plan_pending):
    marked planned already where the account is known here, as plan_pending would mark it, so that the row is not
    written twice in a row (the second time whole, for one flag: #24). A row inserted rather than updated has no
    xmax (the idiom the webhooks' stores use too)."""
    source, params = unnest_rows(
        {"client": "text", "account_ref": "text", "plan_id": "uuid", "segment": "text", "treatment": "text",
         "channels": "text[]", "cadence_days": "int", "offer": "text", "offer_discount_pct": "numeric",
         "expected_net_recovery": "numeric", "propensity": "numeric", "days_past_due": "int",
         "strategy_arm": "text", "decided_at": "timestamptz", "correlation_id": "uuid", "dpd_as_of": "date",
         "aging_held": "boolean"},
        [(t.client, t.account_ref, t.plan_id, t.segment, t.treatment, list(t.channels), t.cadence_days, t.offer,
          t.offer_discount_pct, t.expected_net_recovery, t.propensity, t.days_past_due, t.strategy_arm, t.decided_at,
          t.correlation_id, t.dpd_as_of, t.aging_held) for t in treatments])
    result = await s.execute(sql(
        f"""INSERT INTO outreach.treatments AS t (client_slug, account_ref, plan_id, segment, treatment, channels,
                cadence_days, offer, offer_discount_pct, expected_net_recovery, propensity, days_past_due,
                strategy_arm, decided_at, planned, correlation_id, dpd_as_of, aging_held)
            SELECT client, account_ref, plan_id, segment, treatment, channels, cadence_days, offer,
                   offer_discount_pct, expected_net_recovery, propensity, days_past_due, strategy_arm, decided_at,
                   -- by key (OFFSET 0: else the planner may hash the whole table for every batch to ask it)
                   EXISTS (SELECT 1 FROM outreach.accounts acc
                           WHERE acc.client_slug = i.client AND acc.account_ref = i.account_ref OFFSET 0),
                   correlation_id, dpd_as_of, aging_held
            FROM {source}
            ON CONFLICT (client_slug, account_ref) DO UPDATE SET
                plan_id = CASE WHEN {SAME_PLAN} THEN t.plan_id ELSE excluded.plan_id END,
                correlation_id = CASE WHEN {SAME_PLAN} THEN t.correlation_id ELSE excluded.correlation_id END,
                segment = excluded.segment, treatment = excluded.treatment, channels = excluded.channels,
                cadence_days = excluded.cadence_days, offer = excluded.offer,
                offer_discount_pct = excluded.offer_discount_pct,
                expected_net_recovery = excluded.expected_net_recovery, propensity = excluded.propensity,
                days_past_due = excluded.days_past_due, dpd_as_of = excluded.dpd_as_of,
                aging_held = excluded.aging_held, strategy_arm = excluded.strategy_arm,
                decided_at = excluded.decided_at, planned = excluded.planned
            WHERE t.decided_at <= excluded.decided_at
            RETURNING client_slug, account_ref, plan_id, (t.xmax = 0) AS first, planned"""), params)
    return {(row.client_slug, row.account_ref): SavedTreatment(row.plan_id, row.first, row.planned)
            for row in result}


_MARK = """UPDATE outreach.treatments t SET planned = true
               FROM {source}
               WHERE t.client_slug = k.client_slug AND t.account_ref = k.account_ref AND NOT t.planned
                 AND EXISTS (SELECT 1 FROM outreach.accounts acc
                             WHERE acc.client_slug = t.client_slug AND acc.account_ref = t.account_ref)
               RETURNING t.client_slug, t.account_ref, t.plan_id, t.treatment, t.channels, t.cadence_days,
                         t.segment, t.correlation_id"""
_MARKED = """SELECT t.client_slug, t.account_ref, t.plan_id, t.treatment, t.channels, t.cadence_days, t.segment,
                      t.correlation_id
               FROM {source} JOIN outreach.treatments t ON t.client_slug = k.client_slug
                                                      AND t.account_ref = k.account_ref
               WHERE t.planned"""


async def plan_pending(s: AsyncSession, keys: list[tuple[str, str]], *, marked: bool = False) -> list[PlanToMake]:
    """Marks planned the treatments still to plan among these accounts, where the account is known here
    (placement and segmentation may come in any order), in one round trip, and returns them; `marked`: these
    accounts' treatments were marked planned as they were kept (save_treatments, in this transaction), and are
    read to plan."""
    if not keys:
        return []
    source, params = unnest_rows({"client_slug": "text", "account_ref": "text"}, keys, alias="k")
    rows = (await s.execute(sql(
        f"""WITH planned AS ({(_MARKED if marked else _MARK).format(source=source)})
           SELECT planned.plan_id AS t_plan_id, planned.treatment AS t_treatment, planned.channels AS t_channels,
                  planned.cadence_days AS t_cadence_days, planned.segment AS t_segment,
                  planned.correlation_id AS t_correlation_id,
                  -- only what planning reads: each column more is decoded for every account of the batch
                  acc.client_slug, acc.account_ref, acc.phones, acc.email, acc.address, acc.region,
                  coalesce(st.status, 'open') AS status,
                  c.country AS client_country, c.timezone AS client_zone, r.rules AS client_rules,
                  (SELECT max(a.sent_at) FROM outreach.attempts a
                   WHERE a.client_slug = acc.client_slug AND a.account_ref = acc.account_ref
                     AND a.status IN ('sent', 'delivered', 'replied', 'unknown')) AS last_touch_at,
                  lp.paid_at AS last_paid_at, kept.ids, kept.channels AS to_come_channels, kept.ats,
                  kept.last_sequence, {WITHDRAWN_COLUMNS}
           FROM planned JOIN outreach.accounts acc USING (client_slug, account_ref)
           -- a kept plan's cadence attempts (a new plan has none yet): by the (plan_id, sequence) key
           CROSS JOIN LATERAL (
               SELECT array_agg(a.id ORDER BY a.sequence) FILTER (WHERE {TO_COME}) AS ids,
                      array_agg(a.channel ORDER BY a.sequence) FILTER (WHERE {TO_COME}) AS channels,
                      array_agg(a.scheduled_at ORDER BY a.sequence) FILTER (WHERE {TO_COME}) AS ats,
                      coalesce(max(a.sequence), 0) AS last_sequence
               FROM outreach.attempts a WHERE a.plan_id = planned.plan_id AND a.sequence < :extra) kept
           LEFT JOIN outreach.account_status st USING (client_slug, account_ref)
           LEFT JOIN outreach.last_payments lp USING (client_slug, account_ref)
           LEFT JOIN outreach.clients c ON c.slug = acc.client_slug
           LEFT JOIN outreach.client_rules r ON r.client_slug = acc.client_slug"""),
        {**params, "extra": cadence.EXTRA_SEQUENCES_FROM})).all()
    return [PlanToMake(r.client_slug, r.account_ref, r.t_plan_id, r.t_treatment, tuple(r.t_channels or ()),
                       r.t_cadence_days, r.status, tuple(r.phones or ()), r.email, r.address, r.t_segment,
                       r.client_country, None if r.client_zone is None else str(r.client_zone), r.region,
                       r.client_rules, r.last_touch_at, r.last_paid_at,
                       tuple(map(ToCome, r.ids or (), r.to_come_channels or (), r.ats or ())), r.last_sequence,
                       tuple(r.opted_out), r.do_not_contact, r.t_correlation_id)
            for r in rows]


async def cancel_attempts(s: AsyncSession, cancels: list[tuple[uuid.UUID, str]]) -> list[Cancelled]:
    """These scheduled attempts (rows of attempt id and reason) cancelled, in one round trip; one a sender claimed
    meanwhile is left to it."""
    if not cancels:
        return []
    source, params = unnest_rows({"id": "uuid", "reason": "text"}, cancels, alias="k")
    result = await s.execute(sql(
        f"""UPDATE outreach.attempts a SET status = 'cancelled', cancel_reason = k.reason FROM {source}
            WHERE a.id = k.id AND a.status = 'scheduled'
            RETURNING a.client_slug, a.account_ref, a.id, a.channel"""), params)
    return [Cancelled(r.client_slug, r.account_ref, r.id, r.channel) for r in result]


async def cancel_scheduled_many(s: AsyncSession, cancels: list[tuple[str, str, str]], *,
                                not_pursued: frozenset[tuple[str, str]] = frozenset()) -> list[Cancelled]:
    """cancel_scheduled for many accounts, one round trip per distinct reason: rows of (client, account_ref,
    reason).

    Each account's attempts are found by account alone (the lateral probe, fenced by OFFSET 0 so that the planner
    can neither turn it into a join nor push the status test into it), then updated by id. A plain join of the
    accounts with outreach.attempts left it to the planner's statistics, and these lag a table that grows by a
    portfolio's attempts in minutes (or hold nothing yet of a new client company): believing the client company's
    scheduled attempts a handful, it read all of them once per account of the batch, through the senders' index
    on scheduled attempts (0.4-0.8 s a batch of 1,000, two thirds of the pipeline's PostgreSQL time, #24). By
    account alone only outreach.attempts' (client_slug, account_ref) index fits."""
    by_reason: dict[str, list[tuple[str, str]]] = {}
    for client, account_ref, reason in cancels:
        by_reason.setdefault(reason, []).append((client, account_ref))
    cancelled: list[Cancelled] = []
    for reason, keys in by_reason.items():
        source, params = unnest_rows({"client_slug": "text", "account_ref": "text", "not_pursued": "boolean"},
                                     [(c, r, (c, r) in not_pursued) for c, r in keys], alias="k")
        result = await s.execute(sql(
            f"""UPDATE outreach.attempts a SET status = 'cancelled', cancel_reason = :reason
                WHERE a.id = ANY(ARRAY(
                    SELECT x.id FROM {source} CROSS JOIN LATERAL (
                        SELECT id, status, confirmation, sequence FROM outreach.attempts x
                        WHERE x.client_slug = k.client_slug AND x.account_ref = k.account_ref OFFSET 0) x
                    WHERE x.status = 'scheduled' AND x.confirmation IS NULL
                      -- the agent's callback a debtor asked for is theirs, not the treatment's: it stays, unless
                      -- the account is no longer to be worked at all (do_not_pursue: `not_pursued`)
                      AND (x.sequence < :extra OR k.not_pursued)))
                  -- checked again on the row as it is when updated: a sender may have claimed it meanwhile
                  AND a.status = 'scheduled'
                  AND a.confirmation IS NULL  -- a new treatment replaces collection messages, not confirmations
                RETURNING a.client_slug, a.account_ref, a.id, a.channel"""),
            {**params, "reason": reason, "extra": cadence.EXTRA_SEQUENCES_FROM})
        cancelled += [Cancelled(r.client_slug, r.account_ref, r.id, r.channel) for r in result]
    return cancelled
