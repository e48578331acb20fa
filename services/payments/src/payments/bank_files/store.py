"""Bank files' table (schema `payments`): a statement's per-row results, kept once per content."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession

from recaudo_common.db import sql


class BankRowResult(BaseModel):
    """What became of one row of a statement (stored as JSON with the file; absent fields are left out)."""

    model_config = ConfigDict(frozen=True)
    row: int
    status: Literal["applied", "unmatched", "duplicate", "rejected"]
    reason: str | None = None
    transaction_id: str | None = None
    payment_id: str | None = None
    reference: str | None = None
    amount: str | None = None


RESULTS = TypeAdapter(list[BankRowResult])


class BankFileRefusal(BaseModel):
    """Why a file was refused whole: a stable code, the line and field at fault, and the reason in words."""

    model_config = ConfigDict(frozen=True)
    code: str
    line: int
    field: str | None
    detail: str


@dataclass(frozen=True)
class BankFile:
    """A reconciled statement: how many rows came to each status, and what became of each row."""

    id: uuid.UUID
    filename: str | None
    received_at: dt.datetime
    counts: dict[str, int]
    results: list[BankRowResult]
    format: str = "csv"
    refusal: BankFileRefusal | None = None  # refused whole: nothing of it was applied


async def bank_file(s: AsyncSession, client: str, *, file_id: uuid.UUID | None = None,
                    content_sha: str | None = None) -> BankFile | None:
    row = (await s.execute(sql(
        "SELECT id, filename, received_at, counts, CAST(results AS text) AS results, format, "
        "CAST(refusal AS text) AS refusal FROM payments.bank_files "
        "WHERE client_slug = :c AND (id = :id OR content_sha256 = :h)"),
        {"c": client, "id": file_id, "h": content_sha})).mappings().first()
    if row is None:
        return None
    return BankFile(id=row["id"], filename=row["filename"], received_at=row["received_at"],
                    counts={k: int(v) for k, v in row["counts"].items()},
                    results=RESULTS.validate_json(row["results"]), format=row["format"],
                    refusal=None if row["refusal"] is None else BankFileRefusal.model_validate_json(row["refusal"]))


# The rows of the partial index payments_accounts_digits (migration 0022), in its very words: the planner uses a
# partial index only for a query whose WHERE implies the index's, and a reworded one would scan every account.
ALL_DIGITS = "account_ref ~ '^[0-9]+$'"


async def accounts_by_digits(s: AsyncSession, client: str, digits: str) -> list[str]:
    """The client company's accounts whose reference is all digits and, without its leading zeros, is `digits`
    (given without leading zeros): two at most, since two already make it ambiguous."""
    rows = await s.execute(sql(
        f"SELECT account_ref FROM payments.accounts WHERE client_slug = :c AND {ALL_DIGITS} "
        "AND ltrim(account_ref, '0') = :d LIMIT 2"), {"c": client, "d": digits})
    return [r[0] for r in rows]


async def insert_bank_file(s: AsyncSession, *, file_id: uuid.UUID, client: str, content_sha: str,
                           filename: str | None, now: dt.datetime, counts: dict[str, int],
                           results: list[BankRowResult], file_format: str = "csv",
                           refusal: BankFileRefusal | None = None) -> None:
    await s.execute(sql(
        "INSERT INTO payments.bank_files (id, client_slug, content_sha256, filename, received_at, counts, results, "
        "format, refusal) VALUES (:id, :c, :h, :f, :now, CAST(:counts AS jsonb), CAST(:results AS jsonb), :format, "
        "CAST(:refusal AS jsonb))"),
        {"id": file_id, "c": client, "h": content_sha, "f": filename, "now": now,
         "counts": json.dumps(counts), "results": RESULTS.dump_json(results, exclude_none=True).decode(),
         "format": file_format, "refusal": None if refusal is None else refusal.model_dump_json()})


async def _unanswered_applied(s: AsyncSession, source: str, client: str, account_ref: str, amount: Decimal,
                              start: dt.datetime, end: dt.datetime, asking: uuid.UUID | None) -> uuid.UUID | None:
    """The earliest payment from `source` of this amount applied to the account, paid in [start, end), that no other
    payment (than `asking`) of the other source held in suspense as maybe that deposit answers, nor one closed as it
    (close_as_same); a line held as maybe a line of another file (line_of_another_file) does not answer for its
    deposit's payment by hand. The caller holds the account, in a statement before this one: a payment to it, which
    holds it too, either committed before this read or reads this one's after. (Held in this same statement, the
    payments read would be those committed when the statement began, not when the lock was granted.)"""
    found: uuid.UUID | None = await s.scalar(sql(
        """SELECT p.id FROM payments.payments p WHERE p.client_slug = :c AND p.account_ref = :r
               AND p.source = :src AND p.status = 'applied' AND p.amount = :m AND p.paid_at >= :a
               AND p.paid_at < :b AND NOT EXISTS (
                   SELECT 1 FROM payments.payments o WHERE o.answers = p.id AND o.status IN ('unmatched', 'duplicate')
                     AND o.source <> p.source AND o.id IS DISTINCT FROM CAST(:asking AS uuid))
           ORDER BY p.paid_at, p.id LIMIT 1"""),
        {"src": source, "c": client, "r": account_ref, "m": amount, "a": start, "b": end, "asking": asking})
    return found


async def unanswered_manual_payment(s: AsyncSession, client: str, account_ref: str, amount: Decimal,
                                    start: dt.datetime, end: dt.datetime, *,
                                    asking: uuid.UUID | None = None) -> uuid.UUID | None:
    """The payment by hand, made in [start, end), that a bank line of this amount to the account may be
    (_unanswered_applied): the caller holds the account, so one recorded while a file is read is seen here or
    reads the line after (handlers._refuse_if_banked)."""
    return await _unanswered_applied(s, "manual", client, account_ref, amount, start, end, asking)


async def line_of_another_file(s: AsyncSession, client: str, account_ref: str, amount: Decimal, start: dt.datetime,
                               end: dt.datetime, *, file_key: str) -> uuid.UUID | None:
    """The earliest bank line of this amount applied to the account, paid in [start, end), that a file other than
    the one keyed `file_key` brought (a line without the bank's id is keyed `<file_key>:<row>`; None: none). The
    caller holds the account."""
    found: uuid.UUID | None = await s.scalar(sql(
        """SELECT p.id FROM payments.payments p WHERE p.client_slug = :c AND p.account_ref = :r
               AND p.source = 'bank_file' AND p.status = 'applied' AND p.amount = :m AND p.paid_at >= :a
               AND p.paid_at < :b AND left(p.external_id, length(:f) + 1) <> :f || ':'
           ORDER BY p.paid_at, p.id LIMIT 1"""),
        {"c": client, "r": account_ref, "m": amount, "a": start, "b": end, "f": file_key})
    return found


# The key of a CSV row without the bank's id: the first 16 hex digits of its file's SHA-256, and its row.
_KEYED_BY_PLACE = re.compile(r"([0-9a-f]{16}):[0-9]+")


def file_key(external_id: str | None) -> str | None:
    """The file a bank line's key says it came from, when it is keyed by its place there (None: the bank's id)."""
    found = _KEYED_BY_PLACE.fullmatch(external_id or "")
    return found.group(1) if found else None


async def file_key_of(s: AsyncSession, payment_id: uuid.UUID) -> str | None:
    """file_key of a bank line's payment."""
    return file_key(await s.scalar(sql("SELECT external_id FROM payments.payments WHERE id = :p"), {"p": payment_id}))


async def pair(s: AsyncSession, line: uuid.UUID, recorded_by_hand: uuid.UUID) -> None:
    """A bank line held in suspense answers this payment by hand while it waits there: the next line of the same
    deposit's amount is not held for the same one (assigned, or the payment by hand reversed, it answers no more:
    a second deposit's line, assigned, leaves the payment by hand to its own line)."""
    await s.execute(sql("UPDATE payments.payments SET answers = :m WHERE id = :l"), {"l": line, "m": recorded_by_hand})


async def applied_bank_line(s: AsyncSession, client: str, account_ref: str, amount: Decimal, start: dt.datetime,
                            end: dt.datetime, *, asking: uuid.UUID | None = None) -> uuid.UUID | None:
    """The bank line, posted in [start, end), that a payment by hand of this amount to the account may be the
    deposit of (_unanswered_applied; None: none). The caller holds the account."""
    return await _unanswered_applied(s, "bank_file", client, account_ref, amount, start, end, asking)


async def hold_as_maybe_same(s: AsyncSession, payment_id: uuid.UUID, reason: str, same_as: uuid.UUID) -> None:
    """A payment leaving suspense for its account stays there instead, for an operator: it may be the same deposit
    as `same_as`, applied already."""
    await s.execute(sql("UPDATE payments.payments SET unmatched_reason = :why, answers = :m WHERE id = :p"),
                    {"p": payment_id, "why": reason, "m": same_as})


async def mark_another_deposit(s: AsyncSession, payment_id: uuid.UUID) -> None:
    """An operator said this payment by hand is another deposit than the bank lines already there."""
    await s.execute(sql("UPDATE payments.payments SET another_deposit = true WHERE id = :p"), {"p": payment_id})


async def close_as_same(s: AsyncSession, line: uuid.UUID) -> None:
    """The payment leaves the suspense queue as the other record of the deposit it answers: nothing booked."""
    await s.execute(sql("UPDATE payments.payments SET status = 'duplicate' WHERE id = :l"), {"l": line})


async def reopen_twins(s: AsyncSession, payment_id: uuid.UUID) -> list[uuid.UUID]:
    """A payment given back whole: those closed as the same deposit as it (close_as_same) wait in suspense again,
    still naming it, so the deposit they record is not lost with it. Returns them."""
    rows = await s.execute(sql(
        "UPDATE payments.payments SET status = 'unmatched' WHERE answers = :p AND status = 'duplicate' RETURNING id"),
        {"p": payment_id})
    return [r[0] for r in rows]
