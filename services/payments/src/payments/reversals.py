"""Reversing an applied payment, wholly or in part (an operator's reversal, once per Idempotency-Key, or a gateway's
refund or chargeback): the ledger gets the amount back, the account reopens (owing again the discount of a settlement
the payment no longer reaches; a promise it kept judged again), and payment.reversed (v3) says how much."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from payments import store
from payments.bank_files import store as bank_files
from payments.domain.bank_files import ALREADY_BANKED
from payments.domain.fingerprints import fingerprint
from payments.domain.reversals import ReversalRefusedError, after_reversal, reversal_amount
from payments.domain.write_offs import unrecovery
from payments.handlers import answer_of, answered_before, refuse_if_not_in_minor_units
from payments.promises.handlers import judge_again, judge_kept_promises_again
from payments.schemas import PaymentOut, ReversalOut
from recaudo_common.db import Database
from recaudo_common.domain_errors import Conflict, Invalid, NotFound
from recaudo_common.events import PaymentReversedV3
from recaudo_common.outbox import Outbox
from recaudo_common.personal_data.keyring import MasterKey

outbox = Outbox(store.SCHEMA)


async def reverse_by_operator(db: Database, *, keys: Sequence[MasterKey], client: str, payment_id: uuid.UUID,
                              idempotency_key: str, reason: str | None, amount: Decimal | None,
                              now: dt.datetime) -> ReversalOut:
    """An operator's reversal, once per Idempotency-Key (the manual payments' keys, one namespace per client
    company): sent again with the same key and body it answers what it answered and takes back nothing more;
    the same key with another payment, amount or reason is a conflict. A refused reversal stores nothing."""
    # Keyed like a payment's: the reason is free text about the person (the reversal's copy is erased with them; this
    # fingerprint, which no erasure finds by its key, cannot be read back without the master key).
    request = fingerprint(keys, {"command": "reversal", "payment_id": str(payment_id), "reason": reason,
                                 "amount": None if amount is None else str(amount.quantize(Decimal("0.01")))})
    async with db.transaction() as s:
        earlier = await answered_before(s, client=client, idempotency_key=idempotency_key, request=request, now=now)
        if earlier is not None:
            return ReversalOut.model_validate_json(earlier)
        paid = await store.lock_payment(s, client, payment_id)
        if paid is not None and amount is not None:
            refuse_if_not_in_minor_units(amount, paid.currency)  # 500.50 of a payment in pesos without cents
        result = await reverse(s, client=client, payment_id=payment_id, kind="reversal", gateway=None,
                               external_id=None, reason=reason, amount=amount, now=now)
        await store.store_idempotent_response(s, client, idempotency_key, result.model_dump_json(exclude_none=True),
                                              follows=None)
    return result


async def reverse(s: AsyncSession, *, client: str, payment_id: uuid.UUID, kind: str, gateway: str | None,
                  external_id: str | None, reason: str | None, now: dt.datetime, amount: Decimal | None = None,
                  content_sha256: str | None = None) -> ReversalOut:
    """Reverses `amount` of an applied payment (all that remains when None), inside the caller's transaction.
    Several partial reversals may follow one another until the whole payment is reversed; asking for all that
    remains of a payment already wholly reversed answers `duplicate` and changes nothing."""
    payment = await store.lock_payment(s, client, payment_id)
    if payment is None:
        raise NotFound("payment")
    paid, reversed_so_far = payment.amount, payment.reversed_amount
    if payment.status == "reversed" and amount is None:
        return ReversalOut(status="duplicate", id=payment_id)
    if payment.status in ("unmatched", "duplicate"):
        raise Conflict("payment_not_applied", f"only an applied payment can be reversed; this one is {payment.status}")
    try:
        take_back = reversal_amount(requested=amount, paid=paid, reversed_so_far=reversed_so_far)
    except ReversalRefusedError as e:
        raise Invalid(e.code, e.detail, title="Reversal refused") from e
    assert payment.account_ref is not None  # an applied payment has its account
    account = await store.lock_account(s, client, payment.account_ref)
    assert account is not None
    reversal_id = uuid.uuid4()
    ledger_kind = "chargeback" if kind == "chargeback" else "reversal"
    await store.add_entry(s, client=client, account_ref=account.account_ref, kind=ledger_kind, amount=take_back,
                          payment_id=payment_id, now=now)
    # The part of the payment that recovered written-off money is written off again (#22), not owed again.
    written_back = unrecovery(balance=account.balance, amount=take_back,
                              recovered=await store.recovered_by(s, payment_id))
    if written_back:
        await store.add_entry(s, client=client, account_ref=account.account_ref, kind="write_off",
                              amount=-written_back, payment_id=payment_id, now=now)
    written_off = account.written_off + written_back
    reversed_total = await store.add_reversed(s, payment_id, take_back)
    if reversed_total == paid:
        await _reopen_twins(s, client, payment_id)
    # A settlement this payment paid may not be reached any more (its discount is owed again), or still be (what was
    # paid beyond it is forgiven, as it was when it was paid).
    adjusted = await judge_again(s, client=client, account_ref=account.account_ref, payment_id=payment_id,
                                 taken_back=take_back, balance=account.balance - written_back,
                                 settled=account.status == "settled", now=now)
    # A promise the payment kept may not be kept any more.
    await judge_kept_promises_again(s, client=client, account_ref=account.account_ref, payment_id=payment_id,
                                    kind=kind, now=now)
    after = after_reversal(account.balance - written_back + adjusted, take_back, account.status,
                           written_off=written_off)
    await store.set_account(s, client, account.account_ref, balance=after.balance, status=after.status, now=now,
                            written_off=written_off)
    await store.insert_reversal(s, reversal_id=reversal_id, payment_id=payment_id, client=client, kind=kind,
                                amount=take_back, gateway=gateway, external_id=external_id, reason=reason, now=now,
                                content_sha256=content_sha256)
    await outbox.add(s, [PaymentReversedV3(
        payment_id=payment_id, reversal_id=reversal_id, account_ref=account.account_ref, amount=take_back,
        kind=kind, reversed_at=now, new_balance=after.balance, account_status=after.status,
        payment_amount=paid, reversed_total=reversed_total,
        written_off_again=written_back).envelope(client=client, occurred_at=now)])
    return ReversalOut(status="reversed", id=payment_id, reversal_id=reversal_id, amount=take_back,
                           payment_amount=paid, reversed_total=reversed_total, remaining=paid - reversed_total,
                           account_ref=account.account_ref, new_balance=after.balance, account_status=after.status)


async def _reopen_twins(s: AsyncSession, client: str, payment_id: uuid.UUID) -> None:
    """A payment given back whole no longer records the deposit another record of it was closed as (a bank line, or
    a payment by hand, `duplicate`): that one waits in suspense again, so the deposit is not lost with it, and a
    payment by hand's Idempotency-Key answers so."""
    for twin_id in await bank_files.reopen_twins(s, payment_id):
        twin = await store.lock_payment(s, client, twin_id)
        if twin is not None and twin.source == "manual":
            await store.follow_idempotent_response(s, twin_id, answer_of(PaymentOut(
                id=twin_id, status="unmatched", reason=ALREADY_BANKED, amount=twin.amount, currency=twin.currency)))


async def reverse_in_suspense(s: AsyncSession, *, client: str, payment_id: uuid.UUID, kind: str, gateway: str,
                              external_id: str, amount: Decimal | None, now: dt.datetime,
                              content_sha256: str | None = None) -> Decimal:
    """A gateway's refund or chargeback of a payment in the suspense queue (`amount`, or all that is left when
    None, never more): no balance had the money, so nothing is booked, but it is recorded against the payment
    (once per reversal id), and what an operator can assign is less by it (handlers.assign_unmatched books what
    remains); given back whole, the payment leaves the queue, `reversed`. Without this, assigning it later would
    book money the payer had been given back. Returns what it took back (0: nothing was left)."""
    payment = await store.lock_payment(s, client, payment_id)
    assert payment is not None
    left = payment.amount - payment.reversed_amount
    taken = left if amount is None else min(amount, left)
    if taken <= 0:
        return Decimal(0)
    await store.insert_reversal(s, reversal_id=uuid.uuid4(), payment_id=payment_id, client=client, kind=kind,
                                amount=taken, gateway=gateway, external_id=external_id, reason=None, now=now,
                                content_sha256=content_sha256)
    await store.add_reversed(s, payment_id, taken)
    return taken
