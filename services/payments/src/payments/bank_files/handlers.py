"""Reconciling a bank file (a CSV statement, or an Asobancaria 2001 recaudo file): each payment applied at most once
(by the bank's transaction id, or the row's place in this very file), and the same file sent again answers its first
results and applies nothing. A line that may be a deposit an operator already recorded by hand waits in suspense.
An Asobancaria file whose control totals disagree, or that is malformed, is refused whole and kept with the reason,
to be read again at GET .../payments/files/{id}."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import uuid
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from payments import store as ledger
from payments.bank_files import store
from payments.bank_files.store import BankFile, BankFileRefusal, BankRowResult
from payments.domain.asobancaria import FORMAT as ASOBANCARIA
from payments.domain.asobancaria import AsobancariaRefused, looks_like_asobancaria, read_asobancaria
from payments.domain.bank_files import (
    ALREADY_BANKED,
    IN_EARLIER_FILE,
    POSSIBLE_DUPLICATE,
    BankRow,
    RejectedRow,
    bank_columns,
    check_bank_row,
    dated_after_today,
    recorded_by_hand_between,
)
from payments.handlers import apply_payment, hold_in_suspense
from payments.integrity import recorded_once
from payments.schemas import PaymentOut, SameDepositOut
from recaudo_common.client_copy import ClientCopy, get_client
from recaudo_common.clock import local_instant, local_today
from recaudo_common.db import Database
from recaudo_common.domain_errors import Conflict, Invalid, NotFound
from recaudo_common.files import FileFormatError, csv_rows, sniff
from recaudo_common.ids import time_ordered_id

STATUSES = ("applied", "unmatched", "duplicate", "rejected")
FORMATS = ("csv", ASOBANCARIA)
AMBIGUOUS = "ambiguous_account_ref"  # the suspense reason of a zero-filled reference that several accounts match


async def reconcile_bank_file(db: Database, *, client: str, content: bytes, filename: str | None,
                              locale: str | None, now: dt.datetime, file_format: str | None = None
                              ) -> tuple[BankFile, bool]:
    """Applies a bank file's payments, each at most once; returns the stored per-row results and whether this
    call created them (the same file again returns the first results and applies nothing). `file_format` None:
    an Asobancaria 2001 file is known by its first line, anything else is read as a CSV statement. A file refused
    whole is raised as `Invalid` naming where its record is, after that record is stored."""
    content_sha = hashlib.sha256(content).hexdigest()
    try:
        found, created = await recorded_once(lambda: _reconcile_bank_file(
            db, client=client, content=content, content_sha=content_sha, filename=filename, locale=locale,
            file_format=file_format, now=now))
    except FileFormatError as exc:
        raise Invalid(exc.code, exc.detail, title="Unreadable bank file") from exc
    if found.refusal is not None:
        raise refused(client, found.id, found.refusal)
    return found, created


def refused(client: str, file_id: uuid.UUID, refusal: BankFileRefusal) -> Invalid:
    return Invalid(refusal.code, refusal.detail, title="Bank file refused",
                   errors=[{"line": refusal.line, "field": refusal.field, "msg": refusal.detail}],
                   instance=f"/v1/clients/{client}/payments/files/{file_id}")


async def bank_file_of(db: Database, *, client: str, file_id: uuid.UUID) -> BankFile:
    async with db.transaction() as s:
        found = await store.bank_file(s, client, file_id=file_id)
    if found is None:
        raise NotFound("bank file")
    return found


RECORD_PEEK = 256  # more than a record and its line ending: a longer first line is no Asobancaria header


def format_of(content: bytes) -> str:
    first_line = content[:RECORD_PEEK].split(b"\n", 1)[0]
    return ASOBANCARIA if looks_like_asobancaria(first_line) else "csv"


async def _reconcile_bank_file(db: Database, *, client: str, content: bytes, content_sha: str, filename: str | None,
                               locale: str | None, file_format: str | None, now: dt.datetime
                               ) -> tuple[BankFile, bool]:
    async with db.transaction() as s:
        existing = await store.bank_file(s, client, content_sha=content_sha)
        if existing is not None:
            return existing, False
        copy = await get_client(s, ledger.SCHEMA, client)
        if copy is None:
            raise NotFound(f"client company {client!r}")
        kind = file_format or format_of(content)
        refusal: BankFileRefusal | None = None
        if kind == ASOBANCARIA:
            results, refusal = await _apply_asobancaria(s, copy=copy, content=content, now=now)
        else:
            results = await _apply_csv(s, copy=copy, content=content, content_sha=content_sha, filename=filename,
                                       locale=locale, now=now)
        counts = {status: sum(1 for r in results if r.status == status) for status in STATUSES}
        file_id = uuid.uuid4()
        await store.insert_bank_file(s, file_id=file_id, client=client, content_sha=content_sha, filename=filename,
                                     now=now, counts=counts, results=results, file_format=kind, refusal=refusal)
        saved = await store.bank_file(s, client, file_id=file_id)
    assert saved is not None
    return saved, True


async def _apply_asobancaria(s: AsyncSession, *, copy: ClientCopy, content: bytes, now: dt.datetime
                             ) -> tuple[list[BankRowResult], BankFileRefusal | None]:
    """Reads the whole file first (one line at a time, totals checked) and applies nothing unless all of it is
    sound; then applies each detail. A refusal leaves no results: nothing of the file was applied."""
    try:
        for _ in read_asobancaria(io.BytesIO(content), timezone=copy.timezone):
            pass
    except AsobancariaRefused as exc:
        return [], BankFileRefusal(code=exc.code, line=exc.line, field=exc.field, detail=exc.detail)
    return [await _apply_line(s, copy=copy, line=line, fallback_id=None, now=now)
            for line in read_asobancaria(io.BytesIO(content), timezone=copy.timezone)], None


async def _apply_csv(s: AsyncSession, *, copy: ClientCopy, content: bytes, content_sha: str, filename: str | None,
                     locale: str | None, now: dt.datetime) -> list[BankRowResult]:
    sniffed = sniff(content[:65536], filename=filename, encoding=None, delimiter=None)
    if sniffed.kind != "csv":
        raise Invalid("unsupported_format", "send the statement as CSV", title="Unsupported bank file")
    header, rows = csv_rows(iter([content]), sniffed)
    columns, missing = bank_columns(header)
    if missing:
        raise Invalid("missing_required_columns", f"no column for {', '.join(missing)}; headers seen: {header}",
                      title="Unreadable bank file")
    results: list[BankRowResult] = []
    for number, cells in rows:
        text_cells = [c if isinstance(c, str) else str(c) for c in cells]
        row, problem = check_bank_row(text_cells, columns, number, locale or copy.locale, copy.timezone,
                                      copy.currency)
        line: BankRow | RejectedRow = row if row is not None else RejectedRow(number, problem or "rejected")
        results.append(await _apply_line(s, copy=copy, line=line, fallback_id=f"{content_sha[:16]}:{number}",
                                         now=now))
    return results


async def _recorded_by_hand(s: AsyncSession, copy: ClientCopy, account_ref: str, amount: Decimal,
                            posted_at: dt.datetime) -> uuid.UUID | None:
    """The deposit an operator already recorded that a line of this amount to this account may be: one of this
    amount recorded for the account in the days before its posting (domain/bank_files.POSTED_WITHIN_DAYS) that no
    line waiting in suspense answers yet (None: none). Asked of every line, the account held (_hold_account): a
    look-up read once for the file would miss a payment recorded by hand while the file is read."""
    start, end = recorded_by_hand_between(local_today(copy.timezone, posted_at), copy.timezone)
    return await store.unanswered_manual_payment(s, copy.slug, account_ref, amount, start, end)


async def _hold_account(s: AsyncSession, client: str, account_ref: str) -> bool:
    """Holds the account a line names before asking what was recorded by hand to it, waiting for a placement of it
    in flight (which may apply a payment by hand waiting in suspense for it); False: there is no such account."""
    if await ledger.lock_account(s, client, account_ref) is not None:
        return True
    await ledger.lock_placement(s, client, account_ref)
    return await ledger.lock_account(s, client, account_ref) is not None


async def _apply_line(s: AsyncSession, *, copy: ClientCopy, line: BankRow | RejectedRow, fallback_id: str | None,
                      now: dt.datetime) -> BankRowResult:
    """One payment line applied at most once (a line without the bank's id: by `fallback_id`, its place in this
    file); an unknown reference goes to the suspense queue, as every payment whose account is not found.

    A reference whose zero-fill the file's reader dropped (an all-digit Asobancaria one) names the account whose
    all-digit reference is equal once both lose their leading zeros: 12345 is account 0012345 when that is the
    client company's only such account. When two are (12345 and 0012345), the bank's zeros cannot tell which one
    it meant: the payment is guessed onto neither and waits in suspense (AMBIGUOUS) until an operator assigns it.
    A CSV statement's reference is matched as the bank wrote it: its reader dropped nothing."""
    if isinstance(line, RejectedRow):
        return BankRowResult(row=line.row, status="rejected", reason=line.reason)
    if dated_after_today(line.paid_at, copy.timezone, now):
        # No payment made yet: rejected on its own, as an unreadable line is (the rest of the file applies).
        return BankRowResult(row=line.row, status="rejected", reason="paid_at_in_future",
                             transaction_id=line.transaction_id, reference=line.reference, amount=str(line.amount))
    client = copy.slug
    gateway = f"bank_file:{client}"
    external_id = line.transaction_id or fallback_id
    earlier = await ledger.gateway_payment(s, gateway, external_id) if external_id is not None else None
    if earlier is not None:
        if (earlier.amount, earlier.paid_at) == (line.amount, line.paid_at):
            return BankRowResult(row=line.row, status="duplicate", transaction_id=external_id)
        # The bank's id was booked before for another amount or day (another bank's or day's receipt of the same
        # number, or a corrected line): not the same payment, and not one to guess about. Refused, shown on the file.
        return BankRowResult(row=line.row, status="rejected", reason="transaction_id_reused",
                             transaction_id=external_id, reference=line.reference, amount=str(line.amount))
    account_ref = line.reference
    if line.zero_filled:
        found = await store.accounts_by_digits(s, client, line.reference)
        if len(found) > 1:
            # The payment names no account, so a placement re-matching suspense (rematch_suspense) guesses none.
            payment_id = time_ordered_id()
            await hold_in_suspense(s, payment_id=payment_id, client=client, amount=line.amount,
                                   currency=copy.currency, paid_at=line.paid_at, source="bank_file",
                                   method=line.method, reference=line.reference, reason=AMBIGUOUS, now=now,
                                   gateway=gateway, external_id=external_id)
            return BankRowResult(row=line.row, status="unmatched", payment_id=str(payment_id),
                                 reference=line.reference, amount=str(line.amount), reason=AMBIGUOUS)
        # None found: the reference as it came, so that a placement of it in flight is waited for (apply_payment).
        account_ref = found[0] if found else line.reference
    known = await _hold_account(s, client, account_ref)
    if known and (recorded := await _recorded_by_hand(s, copy, account_ref, line.amount, line.paid_at)) is not None:
        # The same deposit, recorded by hand when the debtor sent the slip, or a second one: not for the ledger to
        # guess. It waits in suspense for an operator (assign it, or reverse the payment recorded by hand and assign
        # this one, the bank's record); applied, the debtor would have paid it twice.
        return await _hold_as_maybe(s, copy, line, account_ref, external_id, POSSIBLE_DUPLICATE, recorded, now=now)
    if known and line.transaction_id is None and (key := store.file_key(fallback_id)) is not None and \
            (seen := await _in_another_file(s, copy, account_ref, line, file_key=key)):
        # Keyed by its place in its file, a line is the same in the same bytes only: the statement saved again (other
        # line endings, quoting) or a later one repeating its days would apply it again. The same deposit, or a
        # second one of the same amount that day: an operator's to tell (close it as the same, or assign it).
        return await _hold_as_maybe(s, copy, line, account_ref, external_id, IN_EARLIER_FILE, seen, now=now)
    applied = await apply_payment(s, client=client, account_ref=account_ref, debtor_id=None, amount=line.amount,
                                  currency=copy.currency, paid_at=line.paid_at, source="bank_file",
                                  method=line.method, reference=line.reference, now=now, gateway=gateway,
                                  external_id=external_id)
    return BankRowResult(row=line.row, status=applied.status, payment_id=str(applied.id), reference=line.reference,
                         amount=str(line.amount), reason=applied.reason)


async def _in_another_file(s: AsyncSession, copy: ClientCopy, account_ref: str, line: BankRow, *,
                           file_key: str) -> uuid.UUID | None:
    """The line of another file applied to the account that this one, without the bank's id, may be: the same
    amount, paid the same day."""
    day = local_today(copy.timezone, line.paid_at)
    return await store.line_of_another_file(s, copy.slug, account_ref, line.amount, local_instant(day, copy.timezone),
                                            local_instant(day + dt.timedelta(days=1), copy.timezone),
                                            file_key=file_key)


async def _hold_as_maybe(s: AsyncSession, copy: ClientCopy, line: BankRow, account_ref: str, external_id: str | None,
                         reason: str, same_as: uuid.UUID, *, now: dt.datetime) -> BankRowResult:
    """The line waits in suspense (`reason`) as maybe the same deposit as `same_as`, for an operator."""
    payment_id = time_ordered_id()
    await hold_in_suspense(s, payment_id=payment_id, client=copy.slug, amount=line.amount, currency=copy.currency,
                           paid_at=line.paid_at, source="bank_file", method=line.method, reference=account_ref,
                           reason=reason, now=now, gateway=f"bank_file:{copy.slug}", external_id=external_id)
    await store.pair(s, payment_id, same_as)
    return BankRowResult(row=line.row, status="unmatched", payment_id=str(payment_id), reference=line.reference,
                         amount=str(line.amount), reason=reason)


async def close_as_same_deposit(db: Database, *, client: str, payment_id: uuid.UUID) -> SameDepositOut:
    """An operator says a payment held as maybe a deposit already applied (a bank line that may be a payment
    recorded by hand or a line another file brought, or a payment by hand a line may have brought) is that very
    deposit: it leaves the queue and nothing is booked (assigning it would book the deposit twice, and reversing the
    other first would break an arrangement it kept); a payment by hand's Idempotency-Key then answers `duplicate`.
    Refused 404 for a payment not found, 409 not_possible_duplicate for anything but such a payment waiting, 409
    recorded_payment_not_applied once the one it answers was reversed (assign it then)."""
    async with db.transaction() as s:
        held = await ledger.lock_payment(s, client, payment_id)
        if held is None:
            raise NotFound("payment")
        if held.status != "unmatched" or held.answers is None:
            raise Conflict("not_possible_duplicate", "only a payment waiting as maybe a deposit already applied (a "
                                                     "bank line, or a payment recorded by hand) can be closed as it")
        recorded = await ledger.lock_payment(s, client, held.answers)
        if recorded is None or recorded.status != "applied":
            raise Conflict("recorded_payment_not_applied", "the payment it may be is not applied (reversed?): "
                                                           "assign this one to the account instead")
        await store.close_as_same(s, payment_id)
        closed = PaymentOut(id=payment_id, status="duplicate", amount=held.amount, currency=held.currency,
                            reason=ALREADY_BANKED if held.source == "manual" else POSSIBLE_DUPLICATE)
        await ledger.follow_idempotent_response(s, payment_id, closed.model_dump_json(exclude_none=True))
    return SameDepositOut(id=payment_id, status="duplicate", same_as=held.answers)
