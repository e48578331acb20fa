"""Writing an account off: the domain's rule, a `write_off` ledger entry, the account's new balance and status,
the write-off's row and payment.written_off, in one transaction; an operator's is once per Idempotency-Key."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from payments import store
from payments.domain.fingerprints import fingerprint
from payments.domain.write_offs import WriteOffRefusedError, reverse_write_off, write_off
from payments.handlers import answered_before, refuse_if_not_in_minor_units
from payments.promises import store as promises
from payments.write_offs import store as write_offs
from payments.write_offs.schemas import WriteOffIn, WriteOffOut, WriteOffReversalOut
from recaudo_common.db import Database
from recaudo_common.domain_errors import Conflict, Invalid, NotFound
from recaudo_common.events import PaymentWriteOffReversed, PaymentWrittenOff, WriteOffReason, WriteOffSource
from recaudo_common.outbox import Outbox
from recaudo_common.personal_data.keyring import MasterKey

outbox = Outbox(store.SCHEMA)


async def write_off_by_operator(db: Database, *, keys: Sequence[MasterKey], client: str, account_ref: str,
                                idempotency_key: str, request: WriteOffIn, now: dt.datetime) -> WriteOffOut:
    """Sent again with the same key and body it answers what it answered and writes off nothing more; the same
    key with another body (or another command: the keys are payments' one namespace per client company) is a
    conflict. A refused write-off stores nothing."""
    amount = None if request.amount is None else str(request.amount.quantize(Decimal("0.01")))  # 5 and 5.00 alike
    asked = fingerprint(keys, {"command": "write_off", "account_ref": account_ref, "reason": request.reason,
                               "note": request.note, "amount": amount})
    async with db.transaction() as s:
        earlier = await answered_before(s, client=client, idempotency_key=idempotency_key, request=asked, now=now)
        if earlier is not None:
            return WriteOffOut.model_validate_json(earlier)
        result = await book_write_off(s, client=client, account_ref=account_ref, reason=request.reason,
                                      note=request.note, amount=request.amount, source="operator", now=now)
        await store.store_idempotent_response(s, client, idempotency_key, result.model_dump_json(), follows=None)
    return result


async def book_write_off(s: AsyncSession, *, client: str, account_ref: str, reason: WriteOffReason,
                         note: str | None, amount: Decimal | None, source: WriteOffSource,
                         now: dt.datetime) -> WriteOffOut:
    """Inside the caller's transaction. An account under an active arrangement is refused: the debtor was
    offered terms; the arrangement is kept, broken or cancelled first."""
    account = await store.lock_account(s, client, account_ref)
    if account is None:
        raise NotFound(f"account {account_ref!r}")
    if await promises.active_arrangement(s, client, account_ref) is not None:
        raise Conflict("arrangement_active", "this account has an active arrangement; it must end before a write-off")
    if amount is not None:
        refuse_if_not_in_minor_units(amount, account.currency)
    try:
        after = write_off(balance=account.balance, status=account.status, recalled=account.recalled,
                          written_off=account.written_off, requested=amount)
    except WriteOffRefusedError as e:
        if e.conflict:
            raise Conflict(e.code, e.detail, title="Write-off refused") from e
        raise Invalid(e.code, e.detail, title="Write-off refused") from e
    write_off_id = uuid.uuid4()
    await store.add_entry(s, client=client, account_ref=account_ref, kind="write_off", amount=-after.amount, now=now)
    await store.set_account(s, client, account_ref, balance=after.balance, status=after.status, now=now,
                            written_off=after.written_off)
    await write_offs.insert_write_off(s, write_off_id=write_off_id, client=client, account_ref=account_ref,
                                      amount=after.amount, reason=reason, note=note, source=source, now=now)
    await outbox.add(s, [PaymentWrittenOff(
        write_off_id=write_off_id, account_ref=account_ref, amount=after.amount, currency=account.currency,
        reason=reason, source=source, written_off_at=now, new_balance=after.balance,
        written_off_total=after.written_off, account_status=after.status).envelope(client=client, occurred_at=now)])
    return WriteOffOut(id=write_off_id, account_ref=account_ref, amount=after.amount, reason=reason, source=source,
                       written_off_at=now, new_balance=after.balance, written_off_total=after.written_off,
                       account_status=after.status)


async def reverse_by_operator(db: Database, *, keys: Sequence[MasterKey], client: str, account_ref: str,
                              idempotency_key: str, reason: str, now: dt.datetime) -> WriteOffReversalOut:
    """An operator's reversal of an account's write-off, once per Idempotency-Key: the written-off money not
    recovered is owed again (a `write_off_reversal` entry), the account open again, payment.write_off_reversed.
    A refused reversal stores nothing."""
    asked = fingerprint(keys, {"command": "write_off_reversal", "account_ref": account_ref, "reason": reason})
    async with db.transaction() as s:
        earlier = await answered_before(s, client=client, idempotency_key=idempotency_key, request=asked, now=now)
        if earlier is not None:
            return WriteOffReversalOut.model_validate_json(earlier)
        account = await store.lock_account(s, client, account_ref)
        if account is None:
            raise NotFound(f"account {account_ref!r}")
        try:
            after = reverse_write_off(balance=account.balance, status=account.status, written_off=account.written_off)
        except WriteOffRefusedError as e:
            raise Conflict(e.code, e.detail, title="Write-off reversal refused") from e
        await store.add_entry(s, client=client, account_ref=account_ref, kind="write_off_reversal",
                              amount=after.amount, now=now)
        await store.set_account(s, client, account_ref, balance=after.balance, status=after.status, now=now,
                                written_off=Decimal("0"))
        await write_offs.mark_reversed(s, client=client, account_ref=account_ref, reason=reason, now=now)
        await write_offs.forget_not_pursued(s, client=client, account_ref=account_ref)
        await outbox.add(s, [PaymentWriteOffReversed(
            account_ref=account_ref, amount=after.amount, reversed_at=now, new_balance=after.balance,
            account_status=after.status).envelope(client=client, occurred_at=now)])
        result = WriteOffReversalOut(account_ref=account_ref, amount=after.amount, reversed_at=now,
                                     new_balance=after.balance, account_status=after.status)
        await store.store_idempotent_response(s, client, idempotency_key, result.model_dump_json(), follows=None)
    return result
