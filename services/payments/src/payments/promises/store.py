"""Promises' and arrangements' tables and queries (schema `payments`)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from payments.store import broken_settlement_condition
from recaudo_common.db import sql


@dataclass(frozen=True)
class PendingPromise:
    """A promise still to be judged; an instalment's `amount` is what the plan asked for up to it."""

    promise_id: uuid.UUID
    client_slug: str
    account_ref: str
    due_date: dt.date
    made_at: dt.datetime
    timezone: str
    arrangement_id: uuid.UUID | None
    amount: Decimal


@dataclass(frozen=True)
class ActiveArrangement:
    """The arrangement an account is under now (at most one), with its last instalment's due date and the client
    company's time zone, which together say when it must have been paid."""

    id: uuid.UUID
    kind: str
    total_amount: Decimal
    made_at: dt.datetime
    last_due: dt.date
    timezone: str


@dataclass(frozen=True)
class InstalmentVerdicts:
    """How an arrangement's instalments stand: how many were missed and kept, of how many, and the last one's
    verdict (instalments are judged on what the plan asked up to them, so the last kept is the whole plan paid)."""

    broken: int
    kept: int
    total: int
    last: str


@dataclass(frozen=True)
class ScheduledInstalment:
    due_date: dt.date
    amount: Decimal


async def insert_promise(s: AsyncSession, *, promise_id: uuid.UUID, client: str, account_ref: str, amount: Decimal,
                         due_date: dt.date, made_at: dt.datetime, source: str,
                         arrangement_id: uuid.UUID | None = None) -> None:
    await s.execute(sql(
        "INSERT INTO payments.promises (promise_id, client_slug, account_ref, amount, due_date, made_at, source, "
        "arrangement_id) VALUES (:p, :c, :r, :a, :d, :m, :s, :ar) ON CONFLICT DO NOTHING"),
        {"p": promise_id, "c": client, "r": account_ref, "a": amount, "d": due_date, "m": made_at, "s": source,
         "ar": arrangement_id})


async def pending_promises(s: AsyncSession, *, client: str | None = None, account_ref: str | None = None,
                           limit: int = 1000) -> list[PendingPromise]:
    """Pending promises (locked, skipping those another evaluator holds) with the client company's time zone."""
    rows = (await s.execute(sql(
        """SELECT p.promise_id, p.client_slug, p.account_ref, p.due_date, p.made_at, c.timezone, p.arrangement_id,
                  -- an instalment is judged on what the plan asked for up to it, counted from the plan's start
                  coalesce((SELECT sum(q.amount) FROM payments.promises q WHERE q.arrangement_id = p.arrangement_id
                            AND q.due_date <= p.due_date), p.amount) AS amount
           FROM payments.promises p JOIN payments.clients c ON c.slug = p.client_slug
           WHERE p.status = 'pending' AND (CAST(:c AS text) IS NULL OR p.client_slug = :c)
             AND (CAST(:r AS text) IS NULL OR p.account_ref = :r)
           ORDER BY p.due_date LIMIT :n FOR UPDATE OF p SKIP LOCKED"""),
        {"c": client, "r": account_ref, "n": limit})).mappings().all()
    return [PendingPromise(**r) for r in rows]


# A payment made before a commitment's deadline (:b) and made, received or booked to the account (:c, :r; a suspense
# assignment) since it was made (:a): one toward it. A bank file states only the day of a payment (stamped at noon),
# so one made at the bank after an afternoon's promise counts, and so does a payment the platform learns of, or an
# operator assigns from suspense, only after it was made.
TOWARD = ("p.paid_at < :b AND (p.paid_at >= :a OR p.received_at >= :a OR EXISTS ("
          "SELECT 1 FROM payments.ledger_entries e WHERE e.client_slug = :c AND e.account_ref = :r "
          "AND e.payment_id = p.id AND e.kind = 'payment' AND e.booked_at >= :a))")


async def paid_between(s: AsyncSession, client: str, account_ref: str, start: dt.datetime, end: dt.datetime
                       ) -> Decimal:
    """What was paid to the account toward a commitment made at `start` and due by `end`, net of reversals."""
    value = await s.scalar(sql(
        "SELECT coalesce(sum(p.amount - p.reversed_amount), 0) FROM payments.payments p WHERE p.client_slug = :c "
        f"AND p.account_ref = :r AND p.status = 'applied' AND {TOWARD}"),
        {"c": client, "r": account_ref, "a": start, "b": end})
    return Decimal(value)


def _paid_toward_booked_since(since: str) -> str:
    """What was paid toward the commitment (TOWARD) and booked at or after `since`, net of reversals."""
    return ("SELECT coalesce(sum(p.amount - p.reversed_amount), 0) FROM payments.payments p WHERE p.client_slug = :c "
            f"AND p.account_ref = :r AND p.status = 'applied' AND {TOWARD} AND EXISTS ("
            "SELECT 1 FROM payments.ledger_entries e WHERE e.payment_id = p.id AND e.kind = 'payment' "
            f"AND e.booked_at >= {since})")


async def paid_since_made(s: AsyncSession, client: str, account_ref: str, start: dt.datetime, end: dt.datetime
                          ) -> Decimal:
    """Of what was paid toward a commitment made at `start` and due by `end` (paid_between), what was booked since it
    was made, net of reversals: what the balance it was made on did not already count (a payment dated a few
    minutes ahead and booked before counts toward it, but was paid off that balance already)."""
    value = await s.scalar(sql(_paid_toward_booked_since(":a")),
                           {"c": client, "r": account_ref, "a": start, "b": end})
    return Decimal(value)


async def owed_at_deadline(s: AsyncSession, client: str, account_ref: str, start: dt.datetime, end: dt.datetime
                           ) -> Decimal:
    """What the account would have owed at `end` had every payment toward a commitment made at `start` and due by
    `end` been known by then: its ledger as booked before `end`, less what such payments booked since paid (net of
    reversals). What came after (later payments, restatements) is not in it."""
    value = await s.scalar(sql(
        "SELECT (SELECT coalesce(sum(e.amount), 0) FROM payments.ledger_entries e WHERE e.client_slug = :c "
        "        AND e.account_ref = :r AND e.booked_at < :b) "
        f"     - ({_paid_toward_booked_since(':b')})"),
        {"c": client, "r": account_ref, "a": start, "b": end})
    return Decimal(value)


async def counted_toward(s: AsyncSession, client: str, account_ref: str, payment_id: uuid.UUID, start: dt.datetime,
                         end: dt.datetime) -> bool:
    """Whether this payment of the account (applied, or reversed since) was one toward a commitment made at `start`,
    due by `end`."""
    return bool(await s.scalar(sql(
        f"SELECT EXISTS (SELECT 1 FROM payments.payments p WHERE p.id = :p AND p.account_ref = :r AND {TOWARD})"),
        {"p": payment_id, "c": client, "r": account_ref, "a": start, "b": end}))


async def kept_promises(s: AsyncSession, client: str, account_ref: str) -> list[PendingPromise]:
    """The account's promises kept that are no arrangement's instalment (those are judged with their arrangement),
    locked, with the client company's time zone: a payment taken back may leave one unpaid."""
    rows = (await s.execute(sql(
        """SELECT p.promise_id, p.client_slug, p.account_ref, p.due_date, p.made_at, c.timezone, p.arrangement_id,
                  p.amount
           FROM payments.promises p JOIN payments.clients c ON c.slug = p.client_slug
           WHERE p.client_slug = :c AND p.account_ref = :r AND p.status = 'kept' AND p.arrangement_id IS NULL
           ORDER BY p.due_date, p.promise_id FOR UPDATE OF p"""),
        {"c": client, "r": account_ref})).mappings().all()
    return [PendingPromise(**r) for r in rows]


async def reopen_promise(s: AsyncSession, promise_id: uuid.UUID) -> None:
    """A promise kept is pending again (its verdict not known any more)."""
    await s.execute(sql("UPDATE payments.promises SET status = 'pending', decided_at = NULL WHERE promise_id = :p"),
                    {"p": promise_id})


async def decide_promise(s: AsyncSession, promise_id: uuid.UUID, status: str, now: dt.datetime) -> None:
    await s.execute(sql("UPDATE payments.promises SET status = :st, decided_at = :now WHERE promise_id = :p"),
                    {"p": promise_id, "st": status, "now": now})


async def insert_arrangement(s: AsyncSession, *, arrangement_id: uuid.UUID, client: str, account_ref: str, kind: str,
                             total: Decimal, instalments: list[ScheduledInstalment], made_at: dt.datetime,
                             source: str) -> None:
    schedule = [{"due_date": i.due_date.isoformat(), "amount": str(i.amount)} for i in instalments]
    await s.execute(sql(
        "INSERT INTO payments.arrangements (id, client_slug, account_ref, kind, total_amount, instalments, made_at, "
        "source) VALUES (:id, :c, :r, :k, :t, CAST(:i AS jsonb), :m, :s)"),
        {"id": arrangement_id, "c": client, "r": account_ref, "k": kind, "t": total, "i": json.dumps(schedule),
         "m": made_at, "s": source})


async def active_arrangement(s: AsyncSession, client: str, account_ref: str) -> ActiveArrangement | None:
    row = (await s.execute(sql(
        """SELECT a.id, a.kind, a.total_amount, a.made_at, c.timezone,
                  (SELECT max(p.due_date) FROM payments.promises p WHERE p.arrangement_id = a.id) AS last_due
           FROM payments.arrangements a JOIN payments.clients c ON c.slug = a.client_slug
           WHERE a.client_slug = :c AND a.account_ref = :r AND a.status = 'active' FOR UPDATE OF a"""),
        {"c": client, "r": account_ref})).mappings().first()
    return ActiveArrangement(**row) if row else None


async def decide_arrangement(s: AsyncSession, arrangement_id: uuid.UUID, status: str, now: dt.datetime, *,
                             broken: bool = False) -> bool:
    """Decides an active arrangement (`broken`: or a broken settlement, BROKEN_SETTLEMENT); False when it was already
    decided (nothing to announce again)."""
    row = await s.execute(sql(
        "UPDATE payments.arrangements a SET status = :st, decided_at = :now WHERE id = :id "
        f"AND (status = 'active' OR (:broken AND {BROKEN_SETTLEMENT})) RETURNING id"),
        {"id": arrangement_id, "st": status, "now": now, "broken": broken})
    return row.first() is not None


BROKEN_SETTLEMENT = broken_settlement_condition("a")


@dataclass(frozen=True)
class BrokenSettlement(ActiveArrangement):
    """A broken settlement, with the discount it forgave when it was kept before a reversal undid it (which its
    undoing owed again); None for one broken at its deadline, which never forgave anything."""

    forgiven: Decimal | None


async def broken_settlement(s: AsyncSession, client: str, account_ref: str) -> BrokenSettlement | None:
    """The account's latest arrangement when it is a broken settlement (none made since), locked."""
    row = (await s.execute(sql(
        f"""SELECT a.id, a.kind, a.total_amount, a.made_at, c.timezone, {BROKEN_SETTLEMENT} AS broken, a.forgiven,
                  (SELECT max(p.due_date) FROM payments.promises p WHERE p.arrangement_id = a.id) AS last_due
           FROM payments.arrangements a JOIN payments.clients c ON c.slug = a.client_slug
           WHERE a.client_slug = :c AND a.account_ref = :r ORDER BY a.made_at DESC LIMIT 1 FOR UPDATE OF a"""),
        {"c": client, "r": account_ref})).mappings().first()
    if row is None or not row["broken"]:
        return None
    return BrokenSettlement(**{k: v for k, v in row.items() if k != "broken"})


async def keep_broken_promises(s: AsyncSession, arrangement_id: uuid.UUID, now: dt.datetime) -> list[uuid.UUID]:
    """A settlement found paid in time after its deadline broke it: its instalment judged broken is kept after all.
    Returns the promises so decided."""
    rows = await s.execute(sql(
        "UPDATE payments.promises SET status = 'kept', decided_at = :now WHERE arrangement_id = :a "
        "AND status = 'broken' RETURNING promise_id"), {"a": arrangement_id, "now": now})
    return [r[0] for r in rows]


async def instalment_verdicts(s: AsyncSession, arrangement_id: uuid.UUID) -> InstalmentVerdicts:
    """How an arrangement's instalment promises stand."""
    row = (await s.execute(sql(
        "SELECT count(*) FILTER (WHERE status = 'broken'), count(*) FILTER (WHERE status = 'kept'), count(*), "
        "       (array_agg(status ORDER BY due_date DESC, made_at DESC, promise_id DESC))[1] "
        "FROM payments.promises WHERE arrangement_id = :a"), {"a": arrangement_id})).one()
    return InstalmentVerdicts(int(row[0]), int(row[1]), int(row[2]), str(row[3]))


async def cancel_pending_promises(s: AsyncSession, arrangement_id: uuid.UUID, now: dt.datetime) -> None:
    await s.execute(sql("UPDATE payments.promises SET status = 'cancelled', decided_at = :now "
                        "WHERE arrangement_id = :a AND status = 'pending'"), {"a": arrangement_id, "now": now})


@dataclass(frozen=True)
class ArrangementRow:
    """An arrangement of an account, whatever its status."""

    id: uuid.UUID
    kind: str
    status: str
    source: str
    total_amount: Decimal
    made_at: dt.datetime
    decided_at: dt.datetime | None


@dataclass(frozen=True)
class InstalmentPromise:
    """One instalment of an arrangement: the promise it became."""

    promise_id: uuid.UUID
    due_date: dt.date
    amount: Decimal
    status: str


async def account_arrangements(s: AsyncSession, client: str, account_ref: str, limit: int = 50
                               ) -> list[tuple[ArrangementRow, list[InstalmentPromise]]]:
    """The account's arrangements, the latest first, each with its instalments in date order."""
    rows = (await s.execute(sql(
        "SELECT id, kind, status, source, total_amount, made_at, decided_at FROM payments.arrangements "
        "WHERE client_slug = :c AND account_ref = :r ORDER BY made_at DESC, id LIMIT :n"),
        {"c": client, "r": account_ref, "n": limit})).mappings().all()
    arrangements = [ArrangementRow(**r) for r in rows]
    promises = (await s.execute(sql(
        "SELECT arrangement_id, promise_id, due_date, amount, status FROM payments.promises "
        "WHERE arrangement_id = ANY(:ids) ORDER BY due_date, made_at, promise_id"),
        {"ids": [a.id for a in arrangements]})).mappings().all()
    return [(a, [InstalmentPromise(p["promise_id"], p["due_date"], p["amount"], p["status"])
                 for p in promises if p["arrangement_id"] == a.id]) for a in arrangements]


@dataclass(frozen=True)
class KeptArrangement(ActiveArrangement):
    """The account's last arrangement kept, with what its instalments asked (in due order) and what its settlement
    forgave (0 for a plan)."""

    forgiven: Decimal
    amounts: list[Decimal]


async def last_kept_arrangement(s: AsyncSession, client: str, account_ref: str) -> KeptArrangement | None:
    row = (await s.execute(sql(
        """SELECT a.id, a.kind, a.total_amount, a.made_at, c.timezone, coalesce(a.forgiven, 0) AS forgiven,
                  (SELECT max(p.due_date) FROM payments.promises p WHERE p.arrangement_id = a.id) AS last_due,
                  (SELECT array_agg(p.amount ORDER BY p.due_date, p.promise_id) FROM payments.promises p
                   WHERE p.arrangement_id = a.id) AS amounts
           FROM payments.arrangements a JOIN payments.clients c ON c.slug = a.client_slug
           WHERE a.client_slug = :c AND a.account_ref = :r AND a.status = 'kept'
           ORDER BY a.decided_at DESC LIMIT 1 FOR UPDATE OF a"""),
        {"c": client, "r": account_ref})).mappings().first()
    if row is None:
        return None
    return KeptArrangement(**{**row, "forgiven": Decimal(row["forgiven"]), "amounts": list(row["amounts"] or [])})


async def record_forgiven(s: AsyncSession, arrangement_id: uuid.UUID, forgiven: Decimal) -> None:
    await s.execute(sql("UPDATE payments.arrangements SET forgiven = :f WHERE id = :id"),
                    {"id": arrangement_id, "f": forgiven})


async def undo_kept(s: AsyncSession, arrangement_id: uuid.UUID, now: dt.datetime) -> bool:
    """A kept arrangement found unpaid after all is broken; False when it was not kept (nothing to announce)."""
    row = await s.execute(sql(
        "UPDATE payments.arrangements SET status = 'broken', decided_at = :now WHERE id = :id AND status = 'kept' "
        "RETURNING id"), {"id": arrangement_id, "now": now})
    return row.first() is not None
