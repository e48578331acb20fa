"""Payments' tables and queries (schema `payments`)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
import zlib
from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from payments.records import (
    Account,
    IdempotencyClaim,
    OpenCommitments,
    Payment,
    Placement,
    Reversal,
)
from payments.schemas import UnmatchedPaymentOut
from recaudo_common.db import sql, unnest_rows
from recaudo_common.money import CENT

SCHEMA = "payments"


async def open_accounts(s: AsyncSession, rows: list[Placement], now: dt.datetime) -> None:
    """Opens placed accounts (one row per account) with their placement in the ledger, in one round trip. An
    account already open is left as it is."""
    source, params = unnest_rows(
        {"client_slug": "text", "account_ref": "text", "debtor_ref": "uuid", "debtor_id": "text", "currency": "text",
         "balance": "numeric", "event_id": "uuid"},
        [(r.client, r.account_ref, r.debtor_ref, r.debtor_id, r.currency, r.placed, r.event_id) for r in rows],
        ordinality=True)
    await s.execute(sql(
        f"""WITH input AS (SELECT * FROM {source}),
           opened AS (
               INSERT INTO payments.accounts (client_slug, account_ref, debtor_ref, debtor_id, currency, balance,
                   updated_at)
               SELECT client_slug, account_ref, debtor_ref, debtor_id, currency, balance, :now FROM input ORDER BY n
               ON CONFLICT DO NOTHING RETURNING client_slug, account_ref)
           INSERT INTO payments.ledger_entries (client_slug, account_ref, kind, amount, payment_id, event_id,
               booked_at)
           SELECT i.client_slug, i.account_ref, 'placement', i.balance, NULL, i.event_id, :now
           FROM input i JOIN opened USING (client_slug, account_ref) ORDER BY i.n"""), {**params, "now": now})


# Placements and payments naming a not-yet-opened account meet on one of these advisory locks (by the account's
# hash): a placement holds its accounts' locks shared, a payment that finds no account takes its lock exclusive and
# looks again. Either the payment sees the account, or the placement sees the payment in suspense; never neither.
PLACEMENT_LOCKS = 64
_PLACEMENT_LOCK_SPACE = 7_211_017


def placement_lock_of(client: str, account_ref: str) -> int:
    return zlib.crc32(f"{client}/{account_ref}".encode()) % PLACEMENT_LOCKS


async def share_placement_locks(s: AsyncSession, accounts: list[tuple[str, str]]) -> None:
    """Held until commit by a transaction that opens these accounts (shared: placements never wait for each other)."""
    keys = sorted({placement_lock_of(c, r) for c, r in accounts})
    await s.execute(sql(
        "SELECT pg_advisory_xact_lock_shared(:space, k) FROM unnest(CAST(:keys AS int[])) WITH ORDINALITY AS u(k, n)"),
        {"space": _PLACEMENT_LOCK_SPACE, "keys": keys})


async def lock_placement(s: AsyncSession, client: str, account_ref: str) -> None:
    """Waits for any transaction opening this account to commit, and keeps new ones out until this one does."""
    await s.execute(sql("SELECT pg_advisory_xact_lock(:space, :k)"),
                    {"space": _PLACEMENT_LOCK_SPACE, "k": placement_lock_of(client, account_ref)})


async def add_entry(s: AsyncSession, *, client: str, account_ref: str, kind: str, amount: Decimal,
                    now: dt.datetime, payment_id: uuid.UUID | None = None, event_id: uuid.UUID | None = None) -> None:
    await s.execute(sql(
        "INSERT INTO payments.ledger_entries (client_slug, account_ref, kind, amount, payment_id, event_id, "
        "booked_at) VALUES (:c, :r, :k, :a, :p, :e, :now)"),
        {"c": client, "r": account_ref, "k": kind, "a": amount, "p": payment_id, "e": event_id, "now": now})


async def add_adjustments(s: AsyncSession, adjustments: Sequence[tuple[str, str, Decimal, uuid.UUID]],
                          now: dt.datetime) -> None:
    """The ledger's adjustments of restated balances, from rows of (client, account_ref, amount, event_id), in one
    round trip."""
    if not adjustments:
        return
    source, params = unnest_rows({"client_slug": "text", "account_ref": "text", "amount": "numeric",
                                  "event_id": "uuid"}, adjustments, ordinality=True)
    await s.execute(sql(
        f"""INSERT INTO payments.ledger_entries (client_slug, account_ref, kind, amount, payment_id, event_id,
                booked_at)
            SELECT client_slug, account_ref, 'adjustment', amount, NULL, event_id, :now FROM {source} ORDER BY n"""),
        {**params, "now": now})


ACCOUNT_COLUMNS = "client_slug, account_ref, debtor_ref, debtor_id, currency, balance, status, recalled, written_off"


async def lock_account(s: AsyncSession, client: str, account_ref: str) -> Account | None:
    row = (await s.execute(sql(
        f"SELECT {ACCOUNT_COLUMNS} FROM payments.accounts WHERE client_slug = :c AND account_ref = :r FOR UPDATE"),
        {"c": client, "r": account_ref})).mappings().first()
    return Account(**row) if row else None


async def lock_accounts(s: AsyncSession, accounts: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Account]:
    """lock_account for many (distinct accounts), in key order, in one round trip; the accounts open here by
    (client, account_ref). A deadlock with a transaction locking them in another order rolls the batch back."""
    source, params = unnest_rows({"client_slug": "text", "account_ref": "text"}, accounts, alias="k")
    rows = (await s.execute(sql(
        f"""SELECT {", ".join(f"a.{c}" for c in ACCOUNT_COLUMNS.split(", "))} FROM payments.accounts a
            JOIN {source} ON a.client_slug = k.client_slug AND a.account_ref = k.account_ref
            ORDER BY a.client_slug, a.account_ref FOR UPDATE OF a"""), params)).mappings().all()
    return {(r["client_slug"], r["account_ref"]): Account(**r) for r in rows}


def broken_settlement_condition(alias: str) -> str:
    """SQL: the arrangement `alias` is a broken settlement: broken at its deadline with what was known paid by then
    short of it, or kept and then undone because money toward it was taken back (promises/handlers.judge_again;
    only such a one has what it forgave). A payment made by its deadline, known only since, may reach it (again)
    (promises/handlers.settle_if_reached)."""
    return f"{alias}.kind = 'settlement' AND {alias}.status = 'broken'"


# What a locked account (`a`) has open that a payment may decide, each looked up by an index: read with the lock,
# so most payments, to accounts with neither, skip looking for them.
_OPEN_COMMITMENTS = (
    "EXISTS (SELECT 1 FROM payments.arrangements g WHERE g.client_slug = a.client_slug "
    f"        AND g.account_ref = a.account_ref AND (g.status = 'active' OR ({broken_settlement_condition('g')} "
    "        AND NOT EXISTS (SELECT 1 FROM payments.arrangements h WHERE h.client_slug = g.client_slug "
    "                        AND h.account_ref = g.account_ref AND h.made_at > g.made_at)))) "
    "AS open_arrangement, "
    "EXISTS (SELECT 1 FROM payments.promises p WHERE p.client_slug = a.client_slug "
    "        AND p.account_ref = a.account_ref AND p.status = 'pending') AS open_promises")


def _to_pay(row: RowMapping) -> tuple[Account, OpenCommitments]:
    account = Account(**{k: v for k, v in row.items() if not k.startswith("open_")})
    return account, OpenCommitments(arrangement=row["open_arrangement"], promises=row["open_promises"])


async def lock_account_to_pay(s: AsyncSession, client: str, account_ref: str
                              ) -> tuple[Account, OpenCommitments] | None:
    """The account locked for a payment, with what it has open that the payment may decide, in one round trip."""
    row = (await s.execute(sql(
        f"SELECT {ACCOUNT_COLUMNS}, {_OPEN_COMMITMENTS} FROM payments.accounts a "
        "WHERE a.client_slug = :c AND a.account_ref = :r FOR UPDATE"),
        {"c": client, "r": account_ref})).mappings().first()
    return None if row is None else _to_pay(row)


async def lock_accounts_to_pay(s: AsyncSession, accounts: Sequence[tuple[str, str]]
                               ) -> dict[tuple[str, str], tuple[Account, OpenCommitments]]:
    """lock_account_to_pay for many (distinct) accounts, in key order (as lock_accounts, so two batches never
    wait on each other in a circle), by (client, account_ref); the accounts not open are absent."""
    if not accounts:
        return {}
    source, params = unnest_rows({"client_slug": "text", "account_ref": "text"}, accounts, alias="k")
    rows = (await s.execute(sql(
        f"""SELECT {", ".join(f"a.{c}" for c in ACCOUNT_COLUMNS.split(", "))}, {_OPEN_COMMITMENTS}
            FROM payments.accounts a
            JOIN {source} ON a.client_slug = k.client_slug AND a.account_ref = k.account_ref
            ORDER BY a.client_slug, a.account_ref FOR UPDATE OF a"""), params)).mappings().all()
    return {(r["client_slug"], r["account_ref"]): _to_pay(r) for r in rows}


async def ledger_balances(s: AsyncSession, accounts: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Decimal]:
    """What the ledger says each of these (distinct) accounts owes (the sum of its entries), in one round trip."""
    source, params = unnest_rows({"client_slug": "text", "account_ref": "text"}, accounts, alias="k")
    rows = await s.execute(sql(
        f"""SELECT k.client_slug, k.account_ref, coalesce(sum(e.amount), 0) AS balance FROM {source}
            LEFT JOIN payments.ledger_entries e ON e.client_slug = k.client_slug AND e.account_ref = k.account_ref
            GROUP BY k.client_slug, k.account_ref"""), params)
    return {(r.client_slug, r.account_ref): Decimal(r.balance) for r in rows}


async def recovered_by(s: AsyncSession, payment_id: uuid.UUID) -> Decimal:
    """Written-off money this payment recovered, net of what its reversals wrote off again (#22), under the account's
    write-off that still stands: a write-off reversal since put what was written off back on the balance, so what
    the payment recovered before it is no written-off money any more (a reversal of it is owed again, not written
    off with no write-off behind it). Entries are ordered by their id: the account is locked while they are booked."""
    value = await s.scalar(sql(
        "SELECT coalesce(sum(e.amount), 0) FROM payments.ledger_entries e WHERE e.payment_id = :p "
        "AND e.kind IN ('write_off_recovery', 'write_off') AND e.id > coalesce(("
        "  SELECT max(w.id) FROM payments.ledger_entries w WHERE w.client_slug = e.client_slug "
        "  AND w.account_ref = e.account_ref AND w.kind = 'write_off_reversal'), 0)"), {"p": payment_id})
    return Decimal(value)


async def set_account(s: AsyncSession, client: str, account_ref: str, *, balance: Decimal, status: str,
                      now: dt.datetime, written_off: Decimal | None = None) -> None:
    """The account's balance and status (and, given, the written-off money it has not recovered)."""
    await s.execute(sql(
        "UPDATE payments.accounts SET balance = :b, status = :st, updated_at = :now, "
        "written_off = coalesce(:w, written_off) WHERE client_slug = :c AND account_ref = :r"),
        {"c": client, "r": account_ref, "b": balance, "st": status, "now": now, "w": written_off})


async def set_balances(s: AsyncSession, balances: Sequence[tuple[str, str, Decimal, str]], now: dt.datetime) -> None:
    """set_account for many rows of (client, account_ref, balance, status), at most one per account, their
    written-off money kept, in one round trip."""
    if not balances:
        return
    source, params = unnest_rows({"client_slug": "text", "account_ref": "text", "balance": "numeric",
                                  "status": "text"}, balances)
    await s.execute(sql(
        f"""UPDATE payments.accounts a SET balance = i.balance, status = i.status, updated_at = :now FROM {source}
            WHERE a.client_slug = i.client_slug AND a.account_ref = i.account_ref"""), {**params, "now": now})


async def restate_debtors(s: AsyncSession, debtors: Sequence[tuple[str, str, uuid.UUID | None, str | None]]) -> None:
    """Each account's debtor as its latest statement says, from rows of (client, account_ref, debtor_ref, debtor_id),
    in one round trip. A pseudonym replaces the id number an account placed before #19 kept in clear (from then on
    it is found through the vault); an old event without one leaves it."""
    if not debtors:
        return
    source, params = unnest_rows({"client_slug": "text", "account_ref": "text", "debtor_ref": "uuid",
                                  "debtor_id": "text"}, debtors)
    await s.execute(sql(
        f"""UPDATE payments.accounts a SET debtor_ref = coalesce(i.debtor_ref, a.debtor_ref),
                debtor_id = CASE WHEN i.debtor_ref IS NULL THEN coalesce(i.debtor_id, a.debtor_id) END
            FROM {source} WHERE a.client_slug = i.client_slug AND a.account_ref = i.account_ref"""), params)


async def mark_recalled(s: AsyncSession, accounts: Sequence[tuple[str, str]], now: dt.datetime) -> None:
    """The client company withdrew these accounts (a recall file's, in one round trip)."""
    source, params = unnest_rows({"client_slug": "text", "account_ref": "text"}, accounts)
    await s.execute(sql(
        f"""UPDATE payments.accounts a SET recalled = true, updated_at = :now FROM {source}
            WHERE a.client_slug = i.client_slug AND a.account_ref = i.account_ref"""), {**params, "now": now})


async def open_accounts_of_debtor(s: AsyncSession, client: str, debtor_ref: uuid.UUID | None,
                                  legacy_id_number: str) -> list[str]:
    """The person's open accounts: by their pseudonym, or, for an account placed before #19 and not restated
    since (no pseudonym yet), by the id number it still keeps."""
    rows = await s.execute(sql(
        "SELECT account_ref FROM payments.accounts WHERE client_slug = :c AND status = 'open' AND NOT recalled "
        "AND (debtor_ref = :ref OR (debtor_ref IS NULL AND debtor_id = :d)) ORDER BY account_ref"),
        {"c": client, "ref": debtor_ref, "d": legacy_id_number})
    return [r[0] for r in rows]


async def claim_idempotency_key(s: AsyncSession, client: str, key: str, request_sha: str,
                                now: dt.datetime) -> IdempotencyClaim | None:
    """None when this request owns the key now; else the earlier request's hash and response.
    A concurrent duplicate blocks on the insert until the first one commits, then sees its answer."""
    inserted = await s.execute(sql(
        "INSERT INTO payments.idempotency_keys (client_slug, key, request_sha256, created_at) "
        "VALUES (:c, :k, :h, :now) ON CONFLICT DO NOTHING RETURNING key"),
        {"c": client, "k": key, "h": request_sha, "now": now})
    if inserted.first() is not None:
        return None
    row = (await s.execute(sql(
        "SELECT request_sha256, CAST(response AS text) AS response FROM payments.idempotency_keys "
        "WHERE client_slug = :c AND key = :k"), {"c": client, "k": key})).mappings().first()
    assert row is not None
    return IdempotencyClaim(**row)


async def store_idempotent_response(s: AsyncSession, client: str, key: str, response: str, *,
                                    follows: uuid.UUID | None) -> None:
    """The answer (JSON) a key gives from now on. A key that created a payment follows it (`follows`, see
    follow_idempotent_response); a reversal's key keeps the answer it was given."""
    await s.execute(sql(
        "UPDATE payments.idempotency_keys SET response = CAST(:r AS jsonb), payment_id = :p "
        "WHERE client_slug = :c AND key = :k"),
        {"c": client, "k": key, "r": response, "p": follows})


async def follow_idempotent_response(s: AsyncSession, payment_id: uuid.UUID, response: str) -> None:
    """A payment left suspense: the Idempotency-Key that created it now answers (JSON) with what it became."""
    await s.execute(sql(
        "UPDATE payments.idempotency_keys SET response = CAST(:r AS jsonb) WHERE payment_id = :p"),
        {"p": payment_id, "r": response})


def stored_amount(amount: Decimal) -> Decimal:
    """An amount as payments.payments keeps it: to the cent with two decimals (30000 as 30000.00, as numeric(16, 2)
    wrote it), or, for a gateway's payment in fractions of a cent held in suspense, exactly as the gateway said."""
    in_cents = amount.quantize(CENT)
    return in_cents if in_cents == amount else amount


async def insert_payment(s: AsyncSession, *, payment_id: uuid.UUID, client: str, account_ref: str | None,
                         amount: Decimal, currency: str, paid_at: dt.datetime, source: str, method: str | None,
                         reference: str | None, debtor_id: str | None, status: str,
                         unmatched_reason: str | None, now: dt.datetime, gateway: str | None = None,
                         external_id: str | None = None, claimed_account_ref: str | None = None,
                         content_sha256: str | None = None, payer_ref: uuid.UUID | None = None) -> None:
    await s.execute(sql(
        "INSERT INTO payments.payments (id, client_slug, account_ref, amount, currency, paid_at, source, method, "
        "reference, debtor_id, status, unmatched_reason, received_at, gateway, external_id, claimed_account_ref, "
        "content_sha256, payer_ref) "
        "VALUES (:id, :c, :r, :a, :cur, :p, :src, :m, :ref, :d, :st, :ur, :now, :g, :x, :ca, :h, :payer)"),
        {"id": payment_id, "c": client, "r": account_ref, "a": stored_amount(amount), "cur": currency, "p": paid_at,
         "src": source, "m": method, "ref": reference, "d": debtor_id, "st": status, "ur": unmatched_reason,
         "now": now, "g": gateway, "x": external_id, "ca": claimed_account_ref, "h": content_sha256,
         "payer": payer_ref})


async def list_unmatched(s: AsyncSession, client: str, *, after: tuple[dt.datetime, uuid.UUID] | None,
                         limit: int) -> list[UnmatchedPaymentOut]:
    """The suspense queue with what the payer and the gateway said: the gateway, its own payment id, the account
    and the reference named (read straight into what the API answers). A PayU payment is booked under its signed
    reference (transaction_id is unsigned); the id shown is its transaction_id, what PayU's dashboard finds it by."""
    rows = (await s.execute(sql(
        "SELECT p.id, p.amount - p.reversed_amount AS amount, p.currency, p.paid_at, p.source, p.method, p.gateway, "
        "COALESCE(st.approved_attempt, p.external_id) AS gateway_payment_id, "
        "p.claimed_account_ref AS account_ref_given, p.reference, p.debtor_id AS debtor_id_given, "
        "p.unmatched_reason AS reason, p.received_at "
        "FROM payments.payments p LEFT JOIN payments.gateway_payment_states st "
        "ON st.gateway = p.gateway AND st.gateway_payment_id = p.external_id "
        "WHERE p.client_slug = :c AND p.status = 'unmatched' "
        f"{'AND (p.received_at, p.id) > (:t, :id) ' if after else ''}ORDER BY p.received_at, p.id LIMIT :n"),
        {"c": client, "n": limit, **({"t": after[0], "id": after[1]} if after else {})})).mappings().all()
    return [UnmatchedPaymentOut.model_validate(dict(r)) for r in rows]


PAYMENT_COLUMNS = ("id, client_slug, account_ref, claimed_account_ref, amount, reversed_amount, currency, paid_at, "
                   "source, method, status, content_sha256, another_deposit, answers")
_P_PAYMENT_COLUMNS = ", ".join(f"p.{column}" for column in PAYMENT_COLUMNS.split(", "))


async def lock_suspense_claiming(s: AsyncSession, claims: list[tuple[str, str, str, str | None]]
                                 ) -> list[tuple[Payment, str]]:
    """Suspense payments that named one of these accounts, oldest first, locked, each with the account it names.
    A claim is (client, what a payment names, the account, the only method such a payment may have: None for
    any); a payment two claims name comes twice. One held as maybe the same deposit as another payment (`answers`)
    waits for an operator whatever is placed."""
    if not claims:
        return []
    source, params = unnest_rows({"client_slug": "text", "claimed": "text", "account_ref": "text", "method": "text"},
                                 claims)
    rows = (await s.execute(sql(
        f"""SELECT {_P_PAYMENT_COLUMNS}, i.account_ref AS named
            FROM payments.payments p JOIN {source} ON p.client_slug = i.client_slug
                AND p.claimed_account_ref = i.claimed AND (i.method IS NULL OR p.method = i.method)
            WHERE p.status = 'unmatched' AND p.answers IS NULL
            ORDER BY p.received_at, p.paid_at, p.id FOR UPDATE OF p"""),
        params)).mappings().all()
    return [(Payment(**{k: v for k, v in r.items() if k != "named"}), r["named"]) for r in rows]


async def gateway_payment(s: AsyncSession, gateway: str, external_id: str) -> Payment | None:
    row = (await s.execute(sql(
        f"SELECT {PAYMENT_COLUMNS} FROM payments.payments WHERE gateway = :g AND external_id = :x"),
        {"g": gateway, "x": external_id})).mappings().first()
    return Payment(**row) if row else None


async def gateway_reversal(s: AsyncSession, gateway: str, external_id: str) -> Reversal | None:
    row = (await s.execute(sql(
        "SELECT id, payment_id, kind, amount, content_sha256 FROM payments.reversals "
        "WHERE gateway = :g AND external_id = :x"), {"g": gateway, "x": external_id})).mappings().first()
    return Reversal(**row) if row else None


async def lock_payment(s: AsyncSession, client: str, payment_id: uuid.UUID) -> Payment | None:
    row = (await s.execute(sql(
        f"SELECT {PAYMENT_COLUMNS} FROM payments.payments WHERE client_slug = :c AND id = :id FOR UPDATE"),
        {"c": client, "id": payment_id})).mappings().first()
    return Payment(**row) if row else None


async def apply_suspense_payment(s: AsyncSession, payment_id: uuid.UUID, account_ref: str) -> None:
    """A suspense payment leaves it for its account: the id number its payer gave, which an operator needed to
    read while it waited, is not kept (the person it found, payer_ref, is)."""
    await s.execute(sql(
        "UPDATE payments.payments SET status = 'applied', account_ref = :r, debtor_id = NULL WHERE id = :id"),
        {"id": payment_id, "r": account_ref})


async def add_reversed(s: AsyncSession, payment_id: uuid.UUID, amount: Decimal) -> Decimal:
    """Adds a reversal to the payment's reversed total (the table's CHECK keeps it within the amount); the
    payment is `reversed` once nothing remains. Returns the new total."""
    total = await s.scalar(sql(
        "UPDATE payments.payments SET reversed_amount = reversed_amount + :a, "
        "status = CASE WHEN reversed_amount + :a = amount THEN 'reversed' ELSE status END "
        "WHERE id = :id RETURNING reversed_amount"), {"id": payment_id, "a": amount})
    return Decimal(total)


async def insert_reversal(s: AsyncSession, *, reversal_id: uuid.UUID, payment_id: uuid.UUID, client: str, kind: str,
                          amount: Decimal, gateway: str | None, external_id: str | None, reason: str | None,
                          now: dt.datetime, content_sha256: str | None = None) -> None:
    await s.execute(sql(
        "INSERT INTO payments.reversals (id, payment_id, client_slug, kind, amount, gateway, external_id, reason, "
        "reversed_at, content_sha256) VALUES (:id, :p, :c, :k, :a, :g, :x, :r, :now, :h)"),
        {"id": reversal_id, "p": payment_id, "c": client, "k": kind, "a": amount, "g": gateway, "x": external_id,
         "r": reason, "now": now, "h": content_sha256})


@dataclasses.dataclass(frozen=True)
class SuspenseCount:
    slug: str
    name: str
    waiting: int


async def suspense_counts(s: AsyncSession, *, scope: tuple[str, ...] | None, limit: int) -> list[SuspenseCount]:
    """Client companies by name (those in `scope`, or all) with how many payments wait in each one's suspense
    queue: what the console offers an operator to choose from."""
    rows = await s.execute(sql(
        "SELECT c.slug, c.name, (SELECT count(*) FROM payments.payments p WHERE p.client_slug = c.slug "
        "AND p.status = 'unmatched') FROM payments.clients c "
        f"{'WHERE c.slug = ANY(:scope) ' if scope is not None else ''}ORDER BY c.name, c.slug LIMIT :n"),
        {"n": limit, **({"scope": list(scope)} if scope is not None else {})})
    return [SuspenseCount(r[0], r[1], int(r[2])) for r in rows]


@dataclasses.dataclass(frozen=True)
class AccountPayment:
    """A payment applied to an account, as the account's list shows it."""

    id: uuid.UUID
    received_at: dt.datetime
    amount: Decimal
    reversed_amount: Decimal
    currency: str
    source: str
    reference: str | None
    paid_at: dt.datetime
    method: str | None
    status: str


async def account_payments(s: AsyncSession, client: str, account_ref: str, *, limit: int,
                           before: tuple[dt.datetime, uuid.UUID] | None = None) -> list[AccountPayment]:
    """An account's payments applied to it (whole or partly reversed, or reversed), newest first (by receipt, then
    id), those after `before` (the last one of the previous page): what the account's page lists and what the
    console offers an operator to reverse."""
    rows = await s.execute(sql(
        "SELECT id, received_at, amount, reversed_amount, currency, source, reference, paid_at, method, status"
        " FROM payments.payments WHERE client_slug = :c AND account_ref = :a AND status IN ('applied', 'reversed')"
        " AND (CAST(:t AS timestamptz) IS NULL OR (received_at, id) < (:t, :i))"
        " ORDER BY received_at DESC, id DESC LIMIT :n"),
        {"c": client, "a": account_ref, "n": limit, "t": before[0] if before else None,
         "i": before[1] if before else None})
    return [AccountPayment(*r) for r in rows]
