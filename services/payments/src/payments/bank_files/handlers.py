"""Reconciling a bank statement: each row's payment applied at most once (by the bank's transaction id, or the
row's place in this very file), and the same file sent again answers its first results and applies nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from payments import store as ledger
from payments.bank_files import store
from payments.bank_files.store import BankFile, BankRowResult
from payments.domain.bank_files import bank_columns, check_bank_row
from payments.handlers import apply_payment
from payments.integrity import recorded_once
from recaudo_common.client_copy import ClientCopy, get_client
from recaudo_common.clock import local_instant
from recaudo_common.db import Database
from recaudo_common.domain_errors import Invalid, NotFound
from recaudo_common.files import FileFormatError, csv_rows, sniff

STATUSES = ("applied", "unmatched", "duplicate", "rejected")


async def reconcile_bank_file(db: Database, *, client: str, content: bytes, filename: str | None,
                              locale: str | None, now: dt.datetime) -> tuple[BankFile, bool]:
    """Applies a bank statement's payments, each at most once; returns the stored per-row results and whether
    this call created them (the same file again returns the first results and applies nothing)."""
    content_sha = hashlib.sha256(content).hexdigest()
    try:
        return await recorded_once(lambda: _reconcile_bank_file(
            db, client=client, content=content, content_sha=content_sha, filename=filename, locale=locale, now=now))
    except FileFormatError as exc:
        raise Invalid(exc.code, exc.detail, title="Unreadable bank file") from exc


async def bank_file_of(db: Database, *, client: str, file_id: uuid.UUID) -> BankFile:
    async with db.transaction() as s:
        found = await store.bank_file(s, client, file_id=file_id)
    if found is None:
        raise NotFound("bank file")
    return found


async def _reconcile_bank_file(db: Database, *, client: str, content: bytes, content_sha: str, filename: str | None,
                               locale: str | None, now: dt.datetime) -> tuple[BankFile, bool]:
    async with db.transaction() as s:
        existing = await store.bank_file(s, client, content_sha=content_sha)
        if existing is not None:
            return existing, False
        copy = await get_client(s, ledger.SCHEMA, client)
        if copy is None:
            raise NotFound(f"client company {client!r}")
        results = await _apply_rows(s, copy=copy, content=content, content_sha=content_sha, filename=filename,
                                    locale=locale, now=now)
        counts = {status: sum(1 for r in results if r.status == status) for status in STATUSES}
        file_id = uuid.uuid4()
        await store.insert_bank_file(s, file_id=file_id, client=client, content_sha=content_sha, filename=filename,
                                     now=now, counts=counts, results=results)
        saved = await store.bank_file(s, client, file_id=file_id)
    assert saved is not None
    return saved, True


async def _apply_rows(s: AsyncSession, *, copy: ClientCopy, content: bytes, content_sha: str, filename: str | None,
                      locale: str | None, now: dt.datetime) -> list[BankRowResult]:
    sniffed = sniff(content[:65536], filename=filename, encoding=None, delimiter=None)
    if sniffed.kind != "csv":
        raise Invalid("unsupported_format", "send the statement as CSV", title="Unsupported bank file")
    header, rows = csv_rows(iter([content]), sniffed)
    columns, missing = bank_columns(header)
    if missing:
        raise Invalid("missing_required_columns", f"no column for {', '.join(missing)}; headers seen: {header}",
                      title="Unreadable bank file")
    client = copy.slug
    gateway = f"bank_file:{client}"
    results: list[BankRowResult] = []
    for number, cells in rows:
        text_cells = [c if isinstance(c, str) else str(c) for c in cells]
        row, problem = check_bank_row(text_cells, columns, number, locale or copy.locale)
        if row is None:
            results.append(BankRowResult(row=number, status="rejected", reason=problem))
            continue
        external_id = row.transaction_id or f"{content_sha[:16]}:{number}"
        if await ledger.gateway_payment(s, gateway, external_id) is not None:
            results.append(BankRowResult(row=number, status="duplicate", transaction_id=external_id))
            continue
        paid_at = local_instant(row.paid_on, copy.timezone, dt.time(12))
        applied = await apply_payment(s, client=client, account_ref=row.reference, debtor_id=None,
                                      amount=row.amount, currency=copy.currency, paid_at=paid_at,
                                      source="bank_file", method="bank_transfer", reference=row.reference, now=now,
                                      gateway=gateway, external_id=external_id)
        results.append(BankRowResult(row=number, status=applied.status, payment_id=str(applied.id),
                                     reference=row.reference, amount=str(row.amount), reason=applied.reason))
    return results
