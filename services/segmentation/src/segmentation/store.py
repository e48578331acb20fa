"""Segmentation's tables and queries (schema `segmentation`).

Hot statements take a whole batch at once and return what the handler needs next, so a batch of events costs
a few round trips, not a few per event.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Sequence
from decimal import Decimal

from pydantic import TypeAdapter
from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from recaudo_common.cost_tables import get_cost_table
from recaudo_common.db import sql, unnest_rows
from recaudo_common.outbox import Cause, cause_headers
from segmentation.domain.boosting import CARD
from segmentation.domain.buckets import Bucket
from segmentation.domain.propensity import model_from_json
from segmentation.rows import (
    Account,
    AssignmentRow,
    BucketSet,
    ClientSetup,
    LatestPayment,
    Outcome,
    Scoring,
    SegmentCount,
    StatedAccount,
    StoredAccount,
    StrategyVersion,
)
from segmentation.schemas import StrategyIn

SCHEMA = "segmentation"


_ACCOUNT_COLUMNS = tuple(f.name for f in dataclasses.fields(Account))
_ACCOUNT = ", ".join(_ACCOUNT_COLUMNS)


SCORING = TypeAdapter(Scoring)


def _account(row: RowMapping) -> Account:
    values = {name: row[name] for name in _ACCOUNT_COLUMNS}
    values["scoring"] = SCORING.validate_json(row["scoring"]) if row["scoring"] is not None else None
    return Account(**values)


def _account_or_none(row: RowMapping | None) -> Account | None:
    return _account(row) if row is not None else None


_ASSIGNMENT_COLUMNS = {
    "client_slug": "text", "account_ref": "text", "trigger": "text", "days_past_due": "int", "bucket": "text",
    "segment": "text", "treatment": "text", "propensity": "numeric", "cost_to_collect": "numeric",
    "inputs": "text", "why": "text", "placement_bucket": "text"}  # inputs: JSON text (AssignmentInputs.document)
_ASSIGN = """WITH input AS (SELECT * FROM {source}),
       account AS (
           UPDATE segmentation.accounts a SET bucket = i.bucket,
               bucket_at_placement = coalesce(a.bucket_at_placement, i.placement_bucket), segment = i.segment,
               treatment = i.treatment, propensity = i.propensity, cost_to_collect = i.cost_to_collect,
               updated_at = :now
           FROM input i WHERE a.client_slug = i.client_slug AND a.account_ref = i.account_ref
           RETURNING a.client_slug, a.account_ref, a.bucket_at_placement),
       history AS (
           INSERT INTO segmentation.assignments (client_slug, account_ref, assigned_at, trigger, days_past_due,
               bucket, segment, treatment, propensity, cost_to_collect, inputs, why)
           SELECT client_slug, account_ref, :now, trigger, days_past_due, bucket, segment, treatment, propensity,
               cost_to_collect, CAST(inputs AS jsonb), why FROM input ORDER BY n)
       SELECT client_slug, account_ref, bucket_at_placement FROM account"""

_STATED_COLUMNS = {"client_slug": "text", "account_ref": "text", "balance": "numeric", "days_past_due": "int",
                   "as_of": "date", "contactable": "boolean", "product": "text"}
_UPSERT_MANY = """WITH placed AS (
           INSERT INTO segmentation.accounts (client_slug, account_ref, balance, days_past_due_at_as_of, as_of,
               contactable, updated_at, days_past_due_at_placement, product)
           SELECT client_slug, account_ref, balance, days_past_due, as_of, contactable, :now, days_past_due, product
           FROM {source}
           -- the balance is the ledger's (payments owns it): a restated one reaches it as payment.adjusted, so a
           -- restatement handled after that event must not put the client company's figure back
           ON CONFLICT (client_slug, account_ref) DO UPDATE SET
               days_past_due_at_as_of = excluded.days_past_due_at_as_of, as_of = excluded.as_of,
               contactable = excluded.contactable, updated_at = excluded.updated_at,
               product = coalesce(excluded.product, segmentation.accounts.product), scored_at = NULL,
               -- a plan holds aging from when it began, but never from before the days the client now states:
               -- they are as of the new date, and aging resumes from them when the plan ends
               held_since = CASE WHEN segmentation.accounts.held_since IS NULL THEN NULL
                                 ELSE greatest(segmentation.accounts.held_since, excluded.as_of) END
           RETURNING {account})
       -- the ledger's last word while the account was not here (ledger_words, in the ledger's order, reversals
       -- included; migration 0026 made one of the latest payment's outcome kept before that table), unless it was
       -- dropped after the retention (unplaced_words): then the placement is as the file states it
       SELECT placed.*, w.new_balance AS paid_new_balance, w.account_status AS paid_account_status
       FROM placed LEFT JOIN segmentation.ledger_words w
           ON w.client_slug = placed.client_slug AND w.account_ref = placed.account_ref"""


async def upsert_accounts(s: AsyncSession, accounts: list[StatedAccount], now: dt.datetime
                          ) -> dict[tuple[str, str], StoredAccount]:
    """Inserts or updates accounts as stated by the client company (at most one row per account), in one
    round trip; by (client, account_ref), the account and its latest payment outcome, if any."""
    source, params = unnest_rows(_STATED_COLUMNS, [
        (a.client, a.account_ref, a.balance, a.days_past_due, a.as_of, a.contactable, a.product) for a in accounts])
    rows = (await s.execute(sql(_UPSERT_MANY.format(source=source, account=_ACCOUNT)),
                            {**params, "now": now})).mappings().all()
    result: dict[tuple[str, str], StoredAccount] = {}
    for row in rows:
        paid = LatestPayment(row["paid_new_balance"], row["paid_account_status"]) \
            if row["paid_account_status"] is not None else None
        result[(row["client_slug"], row["account_ref"])] = StoredAccount(_account(row), paid)
    return result


async def keep_ledger_words(s: AsyncSession, words: Sequence[tuple[str, str, Decimal, str]], now: dt.datetime
                            ) -> None:
    """Keeps the ledger's word (client, account_ref, new balance, ledger status) on accounts not placed here yet, at
    most one per account, each replacing the one before it: the placement applies the last (upsert_accounts)."""
    if not words:
        return
    source, params = unnest_rows({"client_slug": "text", "account_ref": "text", "new_balance": "numeric",
                                  "account_status": "text"}, list(words))
    await s.execute(sql(
        "INSERT INTO segmentation.ledger_words (client_slug, account_ref, new_balance, account_status, said_at) "
        f"SELECT client_slug, account_ref, new_balance, account_status, :now FROM {source} "
        "ON CONFLICT (client_slug, account_ref) DO UPDATE SET new_balance = excluded.new_balance, "
        "account_status = excluded.account_status, said_at = excluded.said_at"), {**params, "now": now})


async def forget_ledger_words(s: AsyncSession, accounts: Sequence[tuple[str, str]]) -> None:
    """The placement applied them: from now on the ledger's events move the account itself."""
    if not accounts:
        return
    source, params = unnest_rows({"client_slug": "text", "account_ref": "text"}, list(accounts))
    await s.execute(sql(
        f"DELETE FROM segmentation.ledger_words w USING {source} "
        "WHERE w.client_slug = i.client_slug AND w.account_ref = i.account_ref"), params)


async def set_balance_status(s: AsyncSession, client: str, account_ref: str, *, balance: Decimal | None = None,
                             status: str | None = None, now: dt.datetime) -> Account | None:
    """Updates and returns the account (locked for the transaction), or None if it was never placed."""
    return (await set_balances_statuses(s, [(client, account_ref, balance, status)], now)).get((client, account_ref))


async def set_balances_statuses(s: AsyncSession, changes: Sequence[tuple[str, str, Decimal | None, str | None]],
                                now: dt.datetime) -> dict[tuple[str, str], Account]:
    """set_balance_status for many rows of (client, account_ref, balance, status), at most one per account, in one
    round trip; the accounts updated by (client, account_ref) (those never placed are not among them). Rows are
    locked in key order, so two runs of this statement wait for each other rather than deadlock; other statements
    lock accounts in their own order, and a deadlock rolls the batch back to be applied one event at a time."""
    if not changes:
        return {}
    source, params = unnest_rows({"client_slug": "text", "account_ref": "text", "balance": "numeric",
                                  "status": "text"}, sorted(changes, key=lambda c: (c[0], c[1])), ordinality=True)
    rows = (await s.execute(sql(
        f"""WITH input AS (SELECT u.*, CAST(timezone(coalesce((SELECT c.timezone FROM segmentation.clients c
                                                                WHERE c.slug = u.client_slug), 'UTC'),
                                                      CAST(:now AS timestamptz)) AS date) AS today
                          FROM (SELECT * FROM {source}) u),
               locked AS (SELECT a.client_slug, a.account_ref FROM segmentation.accounts a
                          JOIN input i ON a.client_slug = i.client_slug AND a.account_ref = i.account_ref
                          ORDER BY i.n FOR UPDATE OF a)
           UPDATE segmentation.accounts a SET balance = coalesce(i.balance, a.balance),
               status = coalesce(i.status, a.status), updated_at = :now,
               -- the client company's day it closed: its days past due stand still from it (domain.buckets.aged_to)
               closed_on = CASE WHEN coalesce(i.status, a.status) = 'open' THEN NULL
                                WHEN a.status = 'open' THEN i.today ELSE a.closed_on END,
               -- reopened (a reversal, a write-off's reversal): they go on from the days they stood still at, as
               -- aged_to counted them while closed, not from those plus the days closed (a plan still holding them
               -- from before it closed keeps holding, and its end moves the date by the days it held)
               as_of = CASE WHEN coalesce(i.status, a.status) = 'open' AND a.status <> 'open'
                                 AND a.closed_on IS NOT NULL
                            THEN a.as_of + greatest(least(i.today, coalesce(a.held_since, i.today))
                                                    - greatest(a.closed_on, a.as_of), 0)
                            ELSE a.as_of END
           FROM input i, locked l WHERE a.client_slug = i.client_slug AND a.account_ref = i.account_ref
             AND l.client_slug = i.client_slug AND l.account_ref = i.account_ref
           RETURNING {", ".join(f"a.{c}" for c in _ACCOUNT_COLUMNS)}"""), {**params, "now": now})).mappings().all()
    return {(row["client_slug"], row["account_ref"]): _account(row) for row in rows}


async def record_assignments(s: AsyncSession, *, now: dt.datetime, assignments: list[AssignmentRow]
                             ) -> dict[tuple[str, str], str]:
    """Stores the assignments on their accounts (at most one per account) and their history rows, in one
    round trip; returns each account's bucket at placement (the first ever), by (client, account_ref)."""
    if not assignments:
        return {}
    source, params = unnest_rows(_ASSIGNMENT_COLUMNS, [
        (a.client, a.account_ref, a.trigger, a.days_past_due, a.bucket, a.segment, a.treatment, a.propensity,
         a.cost_to_collect, a.inputs.document(), a.why, a.bucket_at_placement) for a in assignments],
        ordinality=True)
    rows = await s.execute(sql(_ASSIGN.format(source=source)), {**params, "now": now})
    return {(row[0], row[1]): str(row[2]) for row in rows}


async def unsegmented_accounts(s: AsyncSession, client: str) -> list[Account]:
    rows = (await s.execute(sql(
        f"SELECT {_ACCOUNT} FROM segmentation.accounts WHERE client_slug = :c AND bucket IS NULL "
        "ORDER BY account_ref FOR UPDATE"), {"c": client})).mappings().all()
    return [_account(r) for r in rows]


# JSONB columns are read as their JSON text and parsed into typed values here, once.
_BUCKETS = TypeAdapter(tuple[Bucket, ...])
_COSTS = TypeAdapter(dict[str, Decimal])


async def get_buckets(s: AsyncSession, client: str) -> BucketSet | None:
    row = (await s.execute(sql(
        "SELECT version, CAST(buckets AS text) AS buckets FROM segmentation.bucket_sets WHERE client_slug = :c"),
        {"c": client})).mappings().first()
    return BucketSet(row["version"], _BUCKETS.validate_json(row["buckets"])) if row else None


async def put_buckets(s: AsyncSession, client: str, buckets: Sequence[Bucket], now: dt.datetime) -> int:
    version = await s.scalar(sql(
        """INSERT INTO segmentation.bucket_sets (client_slug, version, buckets, updated_at)
           VALUES (:c, 1, CAST(:b AS jsonb), :now)
           ON CONFLICT (client_slug) DO UPDATE SET version = segmentation.bucket_sets.version + 1,
               buckets = excluded.buckets, updated_at = excluded.updated_at
           RETURNING version"""), {"c": client, "b": _BUCKETS.dump_json(tuple(buckets)).decode(), "now": now})
    return int(version)


async def accounts_changing_bucket(s: AsyncSession, *, client: str, day: dt.date, buckets: Sequence[Bucket],
                                   after: str, limit: int) -> list[Account]:
    """Open accounts whose bucket on `day` differs from the one assigned, in one set-based query, locked."""
    columns = ", ".join(f"a.{name}" for name in _ACCOUNT_COLUMNS)
    rows = (await s.execute(sql(
        f"""SELECT {columns} FROM segmentation.accounts a
           JOIN jsonb_to_recordset(CAST(:b AS jsonb)) AS b(label text, low int, high int)
             ON a.days_past_due_at_as_of + (CAST(:day AS date) - a.as_of) BETWEEN b.low AND b.high
           -- domain.buckets.aging_held: only an open account without a plan ages
           WHERE a.client_slug = :c AND a.status = 'open' AND a.held_since IS NULL AND a.account_ref > :after
             AND a.bucket IS DISTINCT FROM b.label
           ORDER BY a.account_ref LIMIT :n FOR UPDATE OF a"""),
        {"c": client, "b": _BUCKETS.dump_json(tuple(buckets)).decode(), "day": day, "after": after, "n": limit}
    )).mappings().all()
    return [_account(r) for r in rows]


async def start_aging_run(s: AsyncSession, client: str, day: dt.date, now: dt.datetime) -> None:
    await s.execute(sql(
        "INSERT INTO segmentation.aging_runs (client_slug, day, started_at) VALUES (:c, :d, :now) "
        "ON CONFLICT DO NOTHING"), {"c": client, "d": day, "now": now})


async def record_aging_chunk(s: AsyncSession, client: str, day: dt.date, moved: int, *, now: dt.datetime,
                             last: bool) -> None:
    """Counts a committed chunk; the last one marks the run finished (a crashed run stays unfinished)."""
    await s.execute(sql(
        "UPDATE segmentation.aging_runs SET accounts_moved = accounts_moved + :m, "
        "finished_at = CASE WHEN :last THEN CAST(:now AS timestamptz) ELSE finished_at END "
        "WHERE client_slug = :c AND day = :d"), {"c": client, "d": day, "m": moved, "now": now, "last": last})


async def aging_done(s: AsyncSession, client: str, day: dt.date) -> bool:
    return bool(await s.scalar(sql(
        "SELECT finished_at IS NOT NULL FROM segmentation.aging_runs WHERE client_slug = :c AND day = :d"),
        {"c": client, "d": day}))


async def client_slugs(s: AsyncSession) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in await s.execute(sql("SELECT slug, timezone FROM segmentation.clients"))]


async def reopen_aging(s: AsyncSession, client: str, day: dt.date) -> None:
    """New buckets: today's aging must run again (the scheduler picks it up)."""
    await s.execute(sql("DELETE FROM segmentation.aging_runs WHERE client_slug = :c AND day = :d"),
                    {"c": client, "d": day})


async def segment_summary(s: AsyncSession, client: str) -> list[SegmentCount]:
    rows = (await s.execute(sql(
        """SELECT coalesce(bucket, 'unassigned') AS bucket, coalesce(segment, 'unassigned') AS segment,
                  coalesce(treatment, 'unassigned') AS treatment, status, count(*) AS accounts,
                  sum(balance) AS balance
           FROM segmentation.accounts WHERE client_slug = :c GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"""),
        {"c": client})).mappings().all()
    return [SegmentCount(**r) for r in rows]


# The model in use: the one promoted last (the highest promotion number, migration 0021; among those promoted
# before promotions were numbered, all 0, the latest trained).
MODEL_IN_USE = "client_slug = :c AND promoted ORDER BY promotion DESC NULLS LAST, trained_at DESC LIMIT 1"
_SETTINGS = sql(
    f"""SELECT (SELECT CAST(buckets AS text) FROM segmentation.bucket_sets WHERE client_slug = :c) AS buckets,
              (SELECT CAST(body AS text) FROM segmentation.strategies WHERE client_slug = :c
               ORDER BY version DESC LIMIT 1) AS strategy,
              (SELECT max(version) FROM segmentation.strategies WHERE client_slug = :c) AS strategy_version,
              (SELECT CAST(costs AS text) FROM segmentation.channel_costs WHERE client_slug = :c) AS costs,
              (SELECT CAST(body AS text) FROM segmentation.models WHERE {MODEL_IN_USE}) AS model,
              (SELECT kind FROM segmentation.models WHERE {MODEL_IN_USE}) AS model_kind""")


async def lock_setup(s: AsyncSession, client: str) -> None:
    """Serialises changes to a client company's buckets and strategy until the transaction ends: each is checked
    against the other as stored, so two concurrent changes must not both pass against what the other replaces."""
    await s.execute(sql("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"recaudo.segmentation.setup.{client}"})


async def load_client_setup(s: AsyncSession, client: str) -> ClientSetup:
    """Buckets, the current strategy, the channel costs (its own and the client company's cost table) and the
    latest propensity model of a client company, in two round trips."""
    row = (await s.execute(_SETTINGS, {"c": client})).mappings().one()
    cost_table = await get_cost_table(s, SCHEMA, client)
    return ClientSetup(
        buckets=_BUCKETS.validate_json(row["buckets"]) if row["buckets"] is not None else None,
        strategy=StrategyVersion(row["strategy_version"], StrategyIn.model_validate_json(row["strategy"]))
        if row["strategy"] is not None else None,
        costs=_COSTS.validate_json(row["costs"]) if row["costs"] is not None else {}, cost_table=cost_table,
        model=None if row["model"] is None else model_from_json(row["model"])
        if row["model_kind"] == "logistic_regression" else CARD.validate_json(row["model"]))


async def add_strategy(s: AsyncSession, client: str, document: StrategyIn, now: dt.datetime, *,
                       created_by: str | None, origin: str, origin_version: int | None = None) -> int:
    """Keeps the next version of the client company's strategy (versions are never changed afterwards; see
    strategy_versions_store for reading them back)."""
    version = await s.scalar(sql(
        """INSERT INTO segmentation.strategies (client_slug, version, body, created_at, created_by, origin,
               origin_version)
           SELECT :c, coalesce(max(version), 0) + 1, CAST(:b AS jsonb), :now, :by, :origin, :from
           FROM segmentation.strategies WHERE client_slug = :c RETURNING version"""),
        {"c": client, "b": document.model_dump_json(), "now": now, "by": created_by, "origin": origin,
         "from": origin_version})
    return int(version)


async def put_costs(s: AsyncSession, client: str, costs: dict[str, Decimal], now: dt.datetime) -> None:
    await s.execute(sql(
        "INSERT INTO segmentation.channel_costs (client_slug, costs, updated_at) VALUES (:c, CAST(:k AS jsonb), :now) "
        "ON CONFLICT (client_slug) DO UPDATE SET costs = excluded.costs, updated_at = excluded.updated_at"),
        {"c": client, "k": json.dumps({channel: str(cost) for channel, cost in costs.items()}), "now": now})


async def request_resegmentation(s: AsyncSession, client: str, reason: str, now: dt.datetime) -> None:
    """Queues a re-segmentation with the cause it is asked under (the worker's events carry it on)."""
    await s.execute(sql(
        "INSERT INTO segmentation.resegment_requests (client_slug, reason, requested_at, cause) "
        "VALUES (:c, :r, :now, CAST(:cause AS jsonb))"),
        {"c": client, "r": reason, "now": now, "cause": json.dumps(cause_headers())})


async def pending_resegmentations(s: AsyncSession) -> list[tuple[int, str, Cause | None]]:
    rows = await s.execute(sql(
        "SELECT id, client_slug, cause FROM segmentation.resegment_requests WHERE done_at IS NULL ORDER BY id"))
    return [(r[0], r[1], Cause.from_headers(r[2])) for r in rows]


async def finish_resegmentation(s: AsyncSession, request_id: int, now: dt.datetime) -> None:
    await s.execute(sql("UPDATE segmentation.resegment_requests SET done_at = :now WHERE id = :id"),
                    {"id": request_id, "now": now})


async def open_accounts_after(s: AsyncSession, client: str, after: str, limit: int) -> list[Account]:
    rows = (await s.execute(sql(
        f"SELECT {_ACCOUNT} FROM segmentation.accounts WHERE client_slug = :c AND status = 'open' "
        "AND account_ref > :after ORDER BY account_ref LIMIT :n FOR UPDATE"),
        {"c": client, "after": after, "n": limit})).mappings().all()
    return [_account(r) for r in rows]


async def record_outcomes(s: AsyncSession, outcomes: Sequence[Outcome]) -> None:
    """Keeps payments' outcomes (what each left to pay, the account's status after it), in one round trip."""
    if not outcomes:
        return
    source, params = unnest_rows(
        {"client_slug": "text", "account_ref": "text", "paid_at": "timestamptz", "amount": "numeric",
         "new_balance": "numeric", "account_status": "text"},
        [(o.client, o.account_ref, o.paid_at, o.amount, o.new_balance, o.account_status) for o in outcomes],
        ordinality=True)
    await s.execute(sql(
        "INSERT INTO segmentation.outcomes (client_slug, account_ref, paid_at, amount, new_balance, account_status) "
        f"SELECT client_slug, account_ref, paid_at, amount, new_balance, account_status FROM {source} ORDER BY n"),
        params)


async def latest_model_at(s: AsyncSession, client: str) -> dt.datetime | None:
    """When the client company's latest model was trained, promoted or not (a retrain that lost still counts:
    the next is due a week after it)."""
    value = await s.scalar(sql("SELECT max(trained_at) FROM segmentation.models WHERE client_slug = :c"),
                           {"c": client})
    return value if isinstance(value, dt.datetime) else None


async def has_outcomes(s: AsyncSession, client: str) -> bool:
    """Whether any payment outcome was ever observed for the client company (one index probe)."""
    return bool(await s.scalar(sql("SELECT EXISTS (SELECT 1 FROM segmentation.outcomes WHERE client_slug = :c)"),
                               {"c": client}))


async def hold_aging(s: AsyncSession, client: str, account_ref: str, day: dt.date) -> Account | None:
    """Days past due stand still from `day`, but never from before the day the client company's latest statement
    of them is for (upsert_accounts says the same when the statement comes second)."""
    return _account_or_none((await s.execute(sql(
        "UPDATE segmentation.accounts SET held_since = coalesce(held_since, greatest(CAST(:d AS date), as_of)) "
        "WHERE client_slug = :c "
        f"AND account_ref = :r RETURNING {_ACCOUNT}"), {"c": client, "r": account_ref, "d": day})).mappings().first())


async def release_aging(s: AsyncSession, client: str, account_ref: str, day: dt.date) -> Account | None:
    """Days past due resume where they paused: the stated date moves forward by the days held (none when the plan
    ended before the day the client company's latest statement is for: aging goes on from that statement)."""
    return _account_or_none((await s.execute(sql(
        "UPDATE segmentation.accounts SET as_of = as_of + greatest(CAST(:d AS date) - held_since, 0), "
        "held_since = NULL "
        f"WHERE client_slug = :c AND account_ref = :r AND held_since IS NOT NULL RETURNING {_ACCOUNT}"),
        {"c": client, "r": account_ref, "d": day})).mappings().first())


async def set_legal_hold(s: AsyncSession, client: str, account_ref: str, hold: str | None) -> Account | None:
    return _account_or_none((await s.execute(sql(
        "UPDATE segmentation.accounts SET legal_hold = :h WHERE client_slug = :c AND account_ref = :r "
        f"RETURNING {_ACCOUNT}"), {"c": client, "r": account_ref, "h": hold})).mappings().first())


async def lock_account(s: AsyncSession, client: str, account_ref: str) -> Account | None:
    return _account_or_none((await s.execute(sql(
        f"SELECT {_ACCOUNT} FROM segmentation.accounts WHERE client_slug = :c AND account_ref = :r FOR UPDATE"),
        {"c": client, "r": account_ref})).mappings().first())
