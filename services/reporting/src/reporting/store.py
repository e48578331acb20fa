"""Reporting's read models and the report queries (schema `reporting`)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import fields, replace
from decimal import Decimal

from sqlalchemy import TextClause
from sqlalchemy.ext.asyncio import AsyncSession

from recaudo_common.cost_tables import CostTable
from recaudo_common.db import sql, unnest_rows
from reporting.domain.kpis import Facts
from reporting.rows import (
    AccountRow,
    AppliedPayment,
    ArrangementRow,
    ContactNews,
    ContactRow,
    Placement,
    Segmentation,
)

SCHEMA = "reporting"
# The schema the read models are in: the live one, or fresh tables a rebuild replays the topics into.
_TABLES: ContextVar[str] = ContextVar("reporting_tables", default=SCHEMA)


def _sql(query: str) -> TextClause:
    schema = _TABLES.get()
    return sql(query if schema == SCHEMA else query.replace(f"{SCHEMA}.", f"{schema}."))


@contextlib.contextmanager
def tables_in(schema: str) -> Iterator[None]:
    """Reads and writes the read models in `schema` (same tables, fresh rows) within this context."""
    token = _TABLES.set(schema)
    try:
        yield
    finally:
        _TABLES.reset(token)


# The sealed copy of an event is kept unless the person's erasure has completed (a late or replayed event):
# erasures are not derived from events, so a rebuild reads the live ones (the quoted schema is not redirected).
KEPT_COPY = ("CASE WHEN i.personal IS NULL OR EXISTS (SELECT 1 FROM \"reporting\".erasures e WHERE e.client_slug = "
             "i.client AND e.debtor_ref = i.debtor_ref AND e.status = 'completed') THEN NULL ELSE i.personal END")


def read_model_sql(query: str) -> TextClause:
    """A statement on the read models, in the tables of the current context (live, or a rebuild's)."""
    return _sql(query)


async def hold_ledger(s: AsyncSession, clients: Iterable[str]) -> None:
    """Holds these client companies' account balances until the transaction ends, in one order. Placements and the
    ledger's words (payments, reversals, write-offs) are read by two consumer groups at once (consumers.py): a word
    written while its account's placement is being inserted would find no account to update, and the placement
    no word to start from, each blind to the other's uncommitted row. Two batches that still meet in opposite
    orders deadlock, which PostgreSQL breaks and the consumer retries (a transient failure)."""
    for client in sorted(set(clients)):
        await s.execute(sql("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
                        {"k": f"{_TABLES.get()}.ledger/{client}"})


async def place_accounts(s: AsyncSession, rows: list[Placement]) -> None:
    """Places accounts (one row per account) in one round trip. A payment, reversal or write-off may have reached
    us before its placement (topics are unordered, and read by another group: hold_ledger): the ledger's latest
    word on balance and status (ledger_word) then wins over the placed balance. A placement seen before is kept as
    it was."""
    await hold_ledger(s, (r.client for r in rows))
    source, params = unnest_rows({"client": "text", "account_ref": "text", "balance": "numeric",
                                  "placed_at": "timestamptz", "product": "text", "debtor_ref": "uuid",
                                  "personal": "text"}, rows)
    await s.execute(_sql(
        f"""INSERT INTO reporting.accounts (client_slug, account_ref, placed_balance, placed_at, product, balance,
                status, debtor_ref, personal, personal_at)
            SELECT i.client, i.account_ref, i.balance, i.placed_at, i.product, coalesce(w.balance, i.balance),
                   coalesce(w.status, 'open'), i.debtor_ref, {KEPT_COPY}, i.placed_at
            FROM {source}
            LEFT JOIN reporting.ledger_words w ON w.client_slug = i.client AND w.account_ref = i.account_ref
            ON CONFLICT DO NOTHING"""), params)


SEGMENT_FIELDS = {
    "bucket": "text", "bucket_at_placement": "text", "segment": "text", "days_past_due": "int", "treatment": "text",
    "channels": "text[]", "propensity": "numeric", "cost_to_collect": "numeric", "expected_net_recovery": "numeric",
    "value_tier": "text", "strategy_version": "int", "strategy_arm": "text", "model_version": "text",
    "offer": "text", "why": "text", "bucket_low": "int", "days_past_due_as_of": "date", "aging_held": "boolean"}
assert Segmentation._fields == ("client", "account_ref", "event_id", "at", *SEGMENT_FIELDS)  # one column order


async def set_segments(s: AsyncSession, rows: list[Segmentation]) -> None:
    """Keeps segmentation's latest assignment of each account (one row per account), in one round trip; an
    older event never overwrites a newer one. Each assignment also joins the account's bucket history."""
    source, params = unnest_rows(
        {"client": "text", "account_ref": "text", "event_id": "uuid", "at": "timestamptz", **SEGMENT_FIELDS}, rows)
    await s.execute(_sql(
        f"""WITH i AS (SELECT * FROM {source}),
            history AS (
                INSERT INTO reporting.bucket_changes (event_id, client_slug, account_ref, at, bucket,
                                                      strategy_version, strategy_arm, bucket_low)
                SELECT event_id, client, account_ref, at, bucket, strategy_version, strategy_arm, bucket_low FROM i
                ON CONFLICT DO NOTHING)
            UPDATE reporting.accounts a SET current_bucket = i.bucket, segment = i.segment,
                bucket_at_placement = coalesce(a.bucket_at_placement, i.bucket_at_placement),
                days_past_due = i.days_past_due, days_past_due_as_of = i.days_past_due_as_of,
                aging_held = i.aging_held, treatment = i.treatment,
                channels = i.channels,
                propensity = i.propensity, cost_to_collect = i.cost_to_collect,
                expected_net_recovery = i.expected_net_recovery, value_tier = i.value_tier,
                strategy_version = i.strategy_version, strategy_arm = i.strategy_arm,
                model_version = i.model_version, offer = i.offer, why = i.why, segmented_at = i.at
            FROM i WHERE a.client_slug = i.client AND a.account_ref = i.account_ref
              AND (a.segmented_at IS NULL OR a.segmented_at <= i.at)"""), params)


ACCOUNT_COLUMNS = ", ".join(f"a.{f.name}" for f in fields(AccountRow) if f.name != "recovered")


async def account_view(s: AsyncSession, client: str, account_ref: str) -> AccountRow | None:
    row = (await s.execute(_sql(
        f"""SELECT {ACCOUNT_COLUMNS}, (SELECT coalesce(sum(p.amount - p.reversed_amount), 0) FROM reporting.payments p
                        WHERE p.client_slug = a.client_slug AND p.account_ref = a.account_ref) AS recovered
           FROM reporting.accounts a WHERE a.client_slug = :c AND a.account_ref = :r"""),
        {"c": client, "r": account_ref})).mappings().first()
    return AccountRow(**row) if row else None


async def set_recalled(s: AsyncSession, recalls: Sequence[tuple[str, str, dt.datetime]]) -> None:
    """When each account was first recalled, from rows of (client, account_ref, recalled_at), at most one per
    account, in one round trip."""
    source, params = unnest_rows({"client_slug": "text", "account_ref": "text", "recalled_at": "timestamptz"},
                                 recalls)
    await s.execute(_sql(
        f"""UPDATE reporting.accounts a SET recalled_at = coalesce(a.recalled_at, i.recalled_at) FROM {source}
            WHERE a.client_slug = i.client_slug AND a.account_ref = i.account_ref"""), params)


# The ledger's word on each account of a `latest` relation (client, account_ref, new_balance, status), the end of
# a statement: kept in ledger_words for a placement still to come, and on the account.
LEDGER_WORD_OF_LATEST = """words AS (INSERT INTO reporting.ledger_words (client_slug, account_ref, balance, status)
                      SELECT client, account_ref, new_balance, status FROM latest
                      ON CONFLICT (client_slug, account_ref) DO UPDATE SET balance = EXCLUDED.balance,
                                                                          status = EXCLUDED.status)
            UPDATE reporting.accounts a SET balance = l.new_balance, status = l.status
            FROM latest l WHERE a.client_slug = l.client AND a.account_ref = l.account_ref"""


async def record_payments(s: AsyncSession, payments: list[AppliedPayment]) -> None:
    """Payments applied, given in the order they came, in one statement however many (after their client
    companies' ledger locks): each payment and the account status it left, and each account's balance and status
    after its last payment here (an account's payment events arrive in order) as the ledger's word (ledger_word)."""
    if not payments:
        return
    await hold_ledger(s, (p.client for p in payments))
    source, params = unnest_rows(
        {"payment_id": "uuid", "event_id": "uuid", "client": "text", "account_ref": "text", "amount": "numeric",
         "paid_at": "timestamptz", "applied_at": "timestamptz", "new_balance": "numeric", "status": "text"},
        payments, ordinality=True)
    await s.execute(_sql(
        f"""WITH i AS (SELECT * FROM {source}),
            paid AS (INSERT INTO reporting.payments (payment_id, client_slug, account_ref, amount, paid_at,
                                                     applied_at, new_balance, account_status)
                     SELECT payment_id, client, account_ref, amount, paid_at, applied_at, new_balance, status
                     FROM i ON CONFLICT DO NOTHING),
            statuses AS (INSERT INTO reporting.status_changes (event_id, client_slug, account_ref, at, status)
                         SELECT event_id, client, account_ref, paid_at, status FROM i ORDER BY n
                         ON CONFLICT DO NOTHING),
            latest AS (SELECT DISTINCT ON (client, account_ref) client, account_ref, new_balance, status
                       FROM i ORDER BY client, account_ref, n DESC),
            {LEDGER_WORD_OF_LATEST}"""), params)


async def ledger_word(s: AsyncSession, *, client: str, account_ref: str, balance: Decimal, status: str) -> None:
    """The ledger's latest word on an account's balance and status (a payment, a reversal, a write-off: one
    account's payment events arrive in order), in the account view and kept apart for a placement still to come,
    which starts from it (the topics are unordered: a rebuild may replay payments before placements)."""
    await hold_ledger(s, (client,))
    await s.execute(_sql(
        f"""WITH latest AS (SELECT CAST(:c AS text) AS client, CAST(:r AS text) AS account_ref,
                                   CAST(:b AS numeric) AS new_balance, CAST(:st AS text) AS status),
            {LEDGER_WORD_OF_LATEST}"""), {"c": client, "r": account_ref, "b": balance, "st": status})


async def record_reversal(s: AsyncSession, *, reversal_id: uuid.UUID, payment_id: uuid.UUID, client: str,
                          account_ref: str, amount: Decimal, at: dt.datetime, new_balance: Decimal,
                          status: str) -> None:
    """A reversal, refund or chargeback: netted on its payment (the account's recovered total) and kept with its
    own instant, the period it counts in."""
    await s.execute(_sql(
        """WITH kept AS (INSERT INTO reporting.reversals (reversal_id, payment_id, client_slug, account_ref, amount, at)
                         VALUES (:id, :p, :c, :r, :a, :at) ON CONFLICT DO NOTHING RETURNING 1)
           UPDATE reporting.payments SET reversed_amount = reversed_amount + :a
           WHERE payment_id = :p AND EXISTS (SELECT 1 FROM kept)"""),
        {"id": reversal_id, "p": payment_id, "c": client, "r": account_ref, "a": amount, "at": at})
    await ledger_word(s, client=client, account_ref=account_ref, balance=new_balance, status=status)


# ------------------------------------------------------------------ KPI facts

async def notify_change(s: AsyncSession, client: str) -> None:
    """Wakes the client company's live streams when this transaction commits (PostgreSQL folds repeats)."""
    await s.execute(_sql("SELECT pg_notify('recaudo_reporting', :c)"), {"c": client})


async def record_contacts(s: AsyncSession, news: list[ContactNews]) -> None:
    """Each event's news of its contact, in order, in one round trip (an executemany). Simulated once contact.attempted
    says so (the sandbox's, never counted by the KPIs); withdrawn (an agent call never made: no attempt, no cost, in
    no report or view) for good, whatever arrives before or after, however often."""
    if not news:
        return
    await s.execute(_sql(
        """INSERT INTO reporting.contacts AS k (id, client_slug, account_ref, channel, at, attempted, cost,
               delivered, outcome, template, simulated, best_time_arm, withdrawn)
           VALUES (:id, :c, :r, :ch, :at, :att AND NOT :wd, CASE WHEN :wd THEN 0 ELSE coalesce(:cost, 0) END, :del,
                   :o, :tpl, :sim, :arm, :wd)
           ON CONFLICT (id) DO UPDATE SET template = coalesce(excluded.template, k.template),
               best_time_arm = coalesce(excluded.best_time_arm, k.best_time_arm),
               simulated = k.simulated OR excluded.simulated,
               at = CASE WHEN excluded.attempted OR excluded.outcome IS NOT NULL THEN excluded.at ELSE k.at END,
               attempted = (k.attempted OR excluded.attempted) AND NOT (k.withdrawn OR excluded.withdrawn),
               cost = CASE WHEN k.withdrawn OR excluded.withdrawn THEN 0
                           WHEN excluded.attempted THEN excluded.cost ELSE k.cost END,
               delivered = k.delivered OR excluded.delivered, outcome = coalesce(excluded.outcome, k.outcome),
               withdrawn = k.withdrawn OR excluded.withdrawn"""),
        [{"id": n.contact_id, "c": n.client, "r": n.account_ref, "ch": n.channel, "at": n.at, "att": n.attempted,
          "cost": n.cost, "del": n.delivered, "o": n.outcome, "tpl": n.template, "sim": n.simulated,
          "arm": n.best_time_arm, "wd": n.withdrawn} for n in news])


async def record_promise(s: AsyncSession, *, promise_id: uuid.UUID, client: str, account_ref: str,
                         amount: Decimal | None = None, due_date: dt.date | None = None,
                         made_at: dt.datetime | None = None, source: str | None = None, result: str | None = None,
                         decided_at: dt.datetime | None = None) -> None:
    await s.execute(_sql(
        """INSERT INTO reporting.promises AS p (promise_id, client_slug, account_ref, amount, due_date, made_at,
               source, result, decided_at)
           VALUES (:id, :c, :r, :a, :d, :m, :src, :res, :at)
           ON CONFLICT (promise_id) DO UPDATE SET amount = coalesce(excluded.amount, p.amount),
               due_date = coalesce(excluded.due_date, p.due_date), made_at = coalesce(excluded.made_at, p.made_at),
               source = coalesce(excluded.source, p.source), result = coalesce(excluded.result, p.result),
               decided_at = coalesce(excluded.decided_at, p.decided_at)"""),
        {"id": promise_id, "c": client, "r": account_ref, "a": amount, "d": due_date, "m": made_at, "src": source,
         "res": result, "at": decided_at})


async def reopen_promise(s: AsyncSession, *, promise_id: uuid.UUID) -> None:
    """A kept promise is pending again (promise.reopened): its verdict is undone."""
    await s.execute(_sql("UPDATE reporting.promises SET result = NULL, decided_at = NULL "
                         "WHERE promise_id = :id AND result = 'kept'"), {"id": promise_id})


async def record_arrangement(s: AsyncSession, *, arrangement_id: uuid.UUID, client: str, account_ref: str,
                             kind: str | None = None, total_amount: Decimal | None = None,
                             instalments: int | None = None, source: str | None = None,
                             made_at: dt.datetime | None = None, result: str | None = None,
                             decided_at: dt.datetime | None = None) -> None:
    await s.execute(_sql(
        """INSERT INTO reporting.arrangements AS a (arrangement_id, client_slug, account_ref, kind, total_amount,
               instalments, source, made_at, result, decided_at)
           VALUES (:id, :c, :r, :k, :t, :n, :src, :m, :res, :at)
           ON CONFLICT (arrangement_id) DO UPDATE SET kind = coalesce(excluded.kind, a.kind),
               total_amount = coalesce(excluded.total_amount, a.total_amount),
               instalments = coalesce(excluded.instalments, a.instalments),
               source = coalesce(excluded.source, a.source), made_at = coalesce(excluded.made_at, a.made_at),
               result = coalesce(excluded.result, a.result),
               decided_at = coalesce(excluded.decided_at, a.decided_at)"""),
        {"id": arrangement_id, "c": client, "r": account_ref, "k": kind, "t": total_amount, "n": instalments,
         "src": source, "m": made_at, "res": result, "at": decided_at})


async def account_arrangements(s: AsyncSession, client: str, account_ref: str) -> list[ArrangementRow]:
    rows = await s.execute(_sql(
        "SELECT arrangement_id, kind, total_amount, instalments, source, made_at, result, decided_at "
        "FROM reporting.arrangements WHERE client_slug = :c AND account_ref = :r ORDER BY made_at"),
        {"c": client, "r": account_ref})
    return [ArrangementRow(**r) for r in rows.mappings().all()]


async def last_contacts(s: AsyncSession, client: str, account_ref: str, limit: int = 10) -> list[ContactRow]:
    rows = await s.execute(_sql(
        "SELECT channel, at, attempted, delivered, outcome, simulated FROM reporting.contacts WHERE client_slug = :c "
        "AND account_ref = :r AND NOT withdrawn ORDER BY at DESC LIMIT :n"),
        {"c": client, "r": account_ref, "n": limit})
    return [ContactRow(**r) for r in rows.mappings().all()]


# An account's latest status at an instant: of its changes dated before it, the last one applied (the ledger's
# order, not their dates': a bank file's payment dated before one applied earlier, or two on one instant, may be the
# one that paid it in full). Changes recorded before migration 0024 (seq NULL) come first, by date.
LATEST_STATUS_FIRST = "sc.seq DESC NULLS LAST, sc.at DESC"


async def record_status(s: AsyncSession, *, event_id: uuid.UUID, client: str, account_ref: str, at: dt.datetime,
                        status: str) -> None:
    await s.execute(_sql(
        "INSERT INTO reporting.status_changes (event_id, client_slug, account_ref, at, status) "
        "VALUES (:e, :c, :r, :at, :st) ON CONFLICT DO NOTHING"),
        {"e": event_id, "c": client, "r": account_ref, "at": at, "st": status})


# ------------------------------------------------------------------ the report queries

ACCOUNT_KEYS = {"bucket": "a.bucket_at_placement", "current_bucket": "a.current_bucket", "segment": "a.segment",
                "product": "a.product", "strategy_arm": "a.strategy_arm"}
REACHED = "('right_party', 'third_party', 'promise_to_pay', 'refused')"
RIGHT_PARTY = "('right_party', 'promise_to_pay', 'refused')"


def _last_channel(at: str, inclusive: bool = False) -> str:
    """The channel of the account's last real contact within the 7 days before an instant (MISSION §8); a
    promise's own contact counts (inclusive), a payment's must come before it."""
    return (f"coalesce((SELECT k2.channel FROM reporting.contacts k2 WHERE k2.client_slug = a.client_slug "
            f"AND k2.account_ref = a.account_ref AND NOT k2.simulated AND NOT k2.withdrawn "
            f"AND k2.at {'<=' if inclusive else '<'} {at} "
            f"AND k2.at >= {at} - interval '7 days' ORDER BY k2.at DESC LIMIT 1), 'none')")


def _key(group_by: str | None, at: str | None, channel: str | None = None) -> str | None:
    """The group key of a fact that happened at `at`; None when the fact has no place in this grouping."""
    if group_by is None:
        return "'all'"
    if group_by in ACCOUNT_KEYS:
        return f"coalesce({ACCOUNT_KEYS[group_by]}, 'unassigned')"
    if at is None:
        return None
    if group_by == "day":
        return f"to_char({at} AT TIME ZONE :tz, 'YYYY-MM-DD')"
    return channel or _last_channel(at)  # channel


async def report(s: AsyncSession, *, client: str, group_by: str | None, date_from: dt.datetime | None,
                 date_to: dt.datetime, timezone: str, cost_table: CostTable | None = None) -> dict[str, Facts]:
    """Every fact of the recovery report per group key; each fact family in one aggregate query. With the client
    company's cost table, each contact made (attempted or logged with an outcome) on a channel it prices costs its
    price; otherwise, and on other channels, what its provider reported."""
    since = "(CAST(:from AS timestamptz) IS NULL OR {col} >= :from) AND {col} < :to"
    prices = None if cost_table is None else json.dumps({c: str(v) for c, v in cost_table.items()})
    params = {"c": client, "from": date_from, "to": date_to, "tz": timezone, "prices": prices}
    out: dict[str, Facts] = {}

    async def run(key: str | None, query: str) -> None:
        if key is None:
            return
        for row in (await s.execute(_sql(query.format(key=key)), params)).mappings().all():
            facts = out.get(row["key"], Facts())
            # A zero sum reads 0 whatever its column's scale, as the reports have always shown it.
            out[row["key"]] = replace(facts, **{k: v or type(getattr(facts, k))(0) for k, v in row.items()
                                                if k != "key"})

    await run(_key(group_by, "a.placed_at", "NULL") if group_by != "channel" else None, """
        SELECT {key} AS key, count(*) AS accounts_placed, coalesce(sum(a.placed_balance), 0) AS placed_balance,
               count(a.recalled_at) FILTER (WHERE a.recalled_at < :to) AS accounts_recalled
        FROM reporting.accounts a WHERE a.client_slug = :c AND a.placed_at < :to GROUP BY 1""")
    # What is left to pay now on the accounts still worked: a written-off, paid, settled or recalled account's
    # balance is not outstanding (#22).
    await run(_key(group_by, "a.placed_at", "NULL") if group_by not in ("channel", "day") else None, """
        SELECT {key} AS key, coalesce(sum(a.balance), 0) AS outstanding
        FROM reporting.accounts a WHERE a.client_slug = :c AND a.placed_at < :to AND a.recalled_at IS NULL
          AND a.status = 'open' AND a.balance > 0 GROUP BY 1""")
    # A write-off reversal owes again all that is written off and not recovered: an account written off and then
    # reversed within the period is not counted as written off in it. A reversed recovery is written off again.
    await run(_key(group_by, "w.at", "NULL") if group_by != "channel" else None, f"""
        SELECT {{key}} AS key,
               coalesce(sum(CASE w.kind WHEN 'written_off' THEN w.amount WHEN 'reversed' THEN -w.amount END), 0)
                   AS written_off,
               count(DISTINCT w.account_ref) FILTER (WHERE w.kind = 'written_off' AND NOT EXISTS (
                   SELECT 1 FROM reporting.write_offs r WHERE r.client_slug = w.client_slug
                     AND r.account_ref = w.account_ref AND r.kind = 'reversed' AND r.at >= w.at
                     AND {since.format(col='r.at')})) AS accounts_written_off,
               coalesce(sum(CASE w.kind WHEN 'recovered' THEN w.amount WHEN 'unrecovered' THEN -w.amount END), 0)
                   AS recovered_after_write_off
        FROM reporting.write_offs w
        LEFT JOIN reporting.accounts a ON a.client_slug = w.client_slug AND a.account_ref = w.account_ref
        WHERE w.client_slug = :c AND {since.format(col='w.at')} GROUP BY 1""")
    # Written off and not recovered now, whatever the period (like `outstanding`): what the write-offs took, less
    # what was owed again by their reversals and what payments recovered (a reversed recovery is written off again).
    await run(_key(group_by, "w.at", "NULL") if group_by not in ("channel", "day") else None, """
        SELECT {key} AS key,
               coalesce(sum(CASE WHEN w.kind IN ('written_off', 'unrecovered') THEN w.amount ELSE -w.amount END), 0)
                   AS written_off_balance
        FROM reporting.write_offs w
        LEFT JOIN reporting.accounts a ON a.client_slug = w.client_slug AND a.account_ref = w.account_ref
        WHERE w.client_slug = :c GROUP BY 1""")
    # Recovered: the period's payments less the period's reversals, whatever period their payments fall in, so a
    # month closed and remitted never changes afterwards; a reversal is credited to its payment's channel.
    await run(_key(group_by, "m.at", _last_channel("m.paid_at")), f"""
        SELECT {{key}} AS key, coalesce(sum(m.amount), 0) AS recovered, count(*) FILTER (WHERE m.paid) AS payments
        FROM (SELECT p.client_slug, p.account_ref, p.paid_at AS at, p.paid_at, p.amount, true AS paid
              FROM reporting.payments p WHERE p.client_slug = :c AND {since.format(col='p.paid_at')}
              UNION ALL
              SELECT v.client_slug, v.account_ref, v.at, p.paid_at, -v.amount, false
              FROM reporting.reversals v
              LEFT JOIN reporting.payments p ON p.payment_id = v.payment_id
              WHERE v.client_slug = :c AND {since.format(col='v.at')}) m
        LEFT JOIN reporting.accounts a ON a.client_slug = m.client_slug AND a.account_ref = m.account_ref
        GROUP BY 1""")
    await run(_key(group_by, "k.at", "k.channel"), f"""
        SELECT {{key}} AS key, count(*) FILTER (WHERE k.attempted AND NOT k.simulated) AS attempts,
               coalesce(sum(CASE WHEN CAST(:prices AS jsonb) ->> k.channel IS NULL THEN k.cost
                                 WHEN k.attempted OR k.outcome IS NOT NULL
                                 THEN CAST(CAST(:prices AS jsonb) ->> k.channel AS numeric) ELSE 0 END)
                        FILTER (WHERE NOT k.simulated), 0) AS contact_cost,
               count(DISTINCT k.account_ref) FILTER (WHERE NOT k.simulated
                                                     AND (k.delivered OR k.outcome IN {REACHED})) AS accounts_contacted,
               count(DISTINCT k.account_ref) FILTER (WHERE NOT k.simulated
                                                     AND k.outcome IN {RIGHT_PARTY}) AS accounts_right_party,
               count(*) FILTER (WHERE NOT k.simulated AND k.outcome IN {RIGHT_PARTY}) AS right_party_contacts,
               count(*) FILTER (WHERE NOT k.simulated AND k.outcome = 'promise_to_pay') AS right_party_promises,
               count(*) FILTER (WHERE k.attempted AND k.simulated) AS simulated_attempts
        FROM reporting.contacts k
        LEFT JOIN reporting.accounts a ON a.client_slug = k.client_slug AND a.account_ref = k.account_ref
        WHERE k.client_slug = :c AND NOT k.withdrawn AND {since.format(col='k.at')} GROUP BY 1""")
    await run(_key(group_by, "pr.made_at", _last_channel("pr.made_at", inclusive=True)), f"""
        SELECT {{key}} AS key, count(*) AS promises_made
        FROM reporting.promises pr
        LEFT JOIN reporting.accounts a ON a.client_slug = pr.client_slug AND a.account_ref = pr.account_ref
        WHERE pr.client_slug = :c AND pr.made_at IS NOT NULL AND {since.format(col='pr.made_at')} GROUP BY 1""")
    # A promise is due in the period when its due date (client's calendar) falls in it and it has been judged.
    due_day = "(CAST(pr.due_date AS timestamp) AT TIME ZONE :tz)"
    await run(_key(group_by, due_day, _last_channel("pr.made_at", inclusive=True)), f"""
        SELECT {{key}} AS key, count(*) FILTER (WHERE pr.result IN ('kept', 'broken')) AS promises_due,
               count(*) FILTER (WHERE pr.result = 'kept') AS promises_kept
        FROM reporting.promises pr
        LEFT JOIN reporting.accounts a ON a.client_slug = pr.client_slug AND a.account_ref = pr.account_ref
        WHERE pr.client_slug = :c AND pr.due_date IS NOT NULL AND {since.format(col=due_day)} GROUP BY 1""")
    # Liquidated: paid in full or settled at `to`, by a closing change inside the period: the one that closed it,
    # not a later payment on the closed account (credit, which would count it again in the next period). Newest
    # first, the closing change is the last of the leading run of closed ones.
    closed = "sc.status IN ('paid', 'settled')"
    await run(_key(group_by, "last.at"), f"""
        SELECT {{key}} AS key, count(*) AS accounts_liquidated
        FROM (SELECT DISTINCT ON (sc.account_ref) sc.account_ref, sc.at, sc.closed_now
              FROM (SELECT sc.account_ref, sc.at, sc.seq, first_value({closed}) OVER newest AS closed_now,
                           {closed} AND coalesce(lead(sc.status) OVER newest NOT IN ('paid', 'settled'), true)
                               AS closing
                    FROM reporting.status_changes sc WHERE sc.client_slug = :c AND sc.at < :to
                    WINDOW newest AS (PARTITION BY sc.account_ref ORDER BY {LATEST_STATUS_FIRST})) sc
              WHERE sc.closing ORDER BY sc.account_ref, {LATEST_STATUS_FIRST}) last
        JOIN reporting.accounts a ON a.client_slug = :c AND a.account_ref = last.account_ref
        WHERE a.placed_at < :to AND last.closed_now AND {since.format(col='last.at')}
        GROUP BY 1""")
    return out
