"""Payments' ledger commands and event handlers: placements open accounts, restatements adjust them, and a
payment (manual, from a gateway or a bank file) is matched and booked, or waits in suspense for its account."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from payments import store
from payments.bank_files import pairing
from payments.bank_files import store as bank_files
from payments.bank_files.store import accounts_by_digits
from payments.debtors import debtors_of, payer_of
from payments.domain import asobancaria
from payments.domain.bank_files import posted_between
from payments.domain.fingerprints import Fingerprint, fingerprint
from payments.domain.ledger import PAID_AT_TOLERANCE, after_payment, paid_in_future
from payments.domain.matching import match_payment
from payments.domain.write_offs import recovery
from payments.integrity import recorded_once
from payments.promises.handlers import evaluate_promises, settle_if_reached
from payments.records import MAY_HAVE_COMMITMENTS, Account, OpenCommitments, Payment, Placement
from payments.schemas import ManualPaymentIn, PaymentOut, UnmatchedPaymentOut
from recaudo_common.accounts import ledger_status
from recaudo_common.bus.consumer import HandlerContext
from recaudo_common.client_copy import get_client
from recaudo_common.clock import local_today
from recaudo_common.db import Database, after_commit
from recaudo_common.domain_errors import Conflict, Invalid, NotFound
from recaudo_common.events import (
    AccountPlaced,
    AccountPseudonymised,
    AccountRecalled,
    AccountUpdated,
    PaymentAdjusted,
    PaymentApplied,
    PaymentUnmatched,
    PaymentWriteOffRecovered,
    payment_method_of,
)
from recaudo_common.ids import time_ordered_id
from recaudo_common.money import CENT, fits_minor_units
from recaudo_common.outbox import Cause, Outbox, caused_by
from recaudo_common.payment_links import read_token
from recaudo_common.personal_data import Vault
from recaudo_common.personal_data.keyring import MasterKey
from recaudo_common.telemetry import PAYMENTS_APPLIED, RECOVERED_AMOUNT

outbox = Outbox(store.SCHEMA)


async def on_account_placed(event: AccountPlaced, ctx: HandlerContext, *, vault: Vault) -> None:
    await on_accounts_placed([(event, ctx)], vault=vault)


async def on_accounts_placed(events: list[tuple[AccountPlaced, HandlerContext]], *, vault: Vault) -> None:
    """A placement opens the account here, its placed balance the ledger's first entry; payments that named it
    while its placement was on the way leave suspense for it. The debtor is kept by their pseudonym (and their id
    number while they are not erased: an account placed for an erased person is opened without one)."""
    s, now = events[0][1].session, events[0][1].now
    debtors = await debtors_of(s, vault, [(ctx.envelope.client, e) for e, ctx in events])
    await open_accounts(s, [
        Placement(client=ctx.envelope.client, account_ref=e.account_ref, debtor_ref=debtor.debtor_ref,
                  debtor_id=debtor.id_number, currency=e.currency, placed=e.balance, event_id=ctx.envelope.event_id)
        for (e, ctx), debtor in zip(events, debtors, strict=True)], now,
        causes={(ctx.envelope.client, e.account_ref): ctx.cause for e, ctx in events})


async def open_accounts(s: AsyncSession, rows: list[Placement], now: dt.datetime, *,
                        causes: Mapping[tuple[str, str], Cause] | None = None) -> None:
    accounts = [(r.client, r.account_ref) for r in rows]
    await store.share_placement_locks(s, accounts)
    await store.open_accounts(s, rows, now)
    await rematch_suspense(s, accounts, now=now, causes=causes)


async def rematch_suspense(s: AsyncSession, accounts: list[tuple[str, str]], *, now: dt.datetime,
                           causes: Mapping[tuple[str, str], Cause] | None = None) -> None:
    """Suspense payments that named one of these accounts are applied to it, oldest first, and the Idempotency-Key
    that created each then answers with what it became. Only the named account re-matches: a payment known only
    by the debtor's ID waits for an operator, because which of the debtor's accounts it is for cannot be known
    while a file may still be placing more of them. An Asobancaria line names an account whose reference starts
    with zeros without them (asobancaria.read_as): it re-matches when that account is the client company's only one
    its digits can be, as when the file is applied. What a payment's booking emits is caused by its account's
    placement (`causes`, from a batch of placements; else the cause it runs under). A bank line or a payment by
    hand that may be the same deposit as one applied to the account stays in suspense, for an operator
    (bank_files/pairing)."""
    claims: list[tuple[str, str, str, str | None]] = [(c, ref, ref, None) for c, ref in accounts]
    claims += [(c, read, ref, asobancaria.METHOD) for c, ref in accounts if (read := asobancaria.read_as(ref))]
    booked: set[uuid.UUID] = set()
    timezones: dict[str, str] = {}
    for payment, named in await store.lock_suspense_claiming(s, claims):
        if payment.id in booked:
            continue  # named by two accounts placed together
        claimed = payment.claimed_account_ref or ""
        if payment.method == asobancaria.METHOD and asobancaria.zero_filled(claimed) \
                and await accounts_by_digits(s, payment.client_slug, claimed) != [named]:
            continue  # 12345 and 0012345 both here: the bank's zeros cannot say which (an operator assigns it)
        account = await store.lock_account(s, payment.client_slug, named)
        if account is None:
            continue
        booked.add(payment.id)
        if payment.source in pairing.SOURCES:
            timezone = timezones.get(payment.client_slug) or await _timezone_of(s, payment.client_slug)
            timezones[payment.client_slug] = timezone
            if (maybe := await pairing.same_deposit_applied(s, timezone, payment, named)) is not None:
                await _hold_as_maybe_same(s, payment, maybe)
                continue
        await store.apply_suspense_payment(s, payment.id, account.account_ref)
        cause = (causes or {}).get((payment.client_slug, named))
        with caused_by(cause) if cause is not None else nullcontext():
            result = await _book(s, client=payment.client_slug, payment_id=payment.id, account=account,
                                 amount=payment.amount - payment.reversed_amount, currency=payment.currency,
                                 paid_at=payment.paid_at,
                                 source=payment.source, method=payment.method, matched_by="account_ref", now=now)
        await store.follow_idempotent_response(s, payment.id, answer_of(result))


async def _timezone_of(s: AsyncSession, client: str) -> str:
    copy = await get_client(s, store.SCHEMA, client)
    if copy is None:
        raise NotFound(f"client company {client!r}")  # an account of it is held: its copy is there
    return copy.timezone


async def on_account_updated(event: AccountUpdated, ctx: HandlerContext, *, vault: Vault) -> None:
    await on_accounts_updated([(event, ctx)], vault=vault)


async def on_accounts_updated(events: list[tuple[AccountUpdated, HandlerContext]], *, vault: Vault) -> None:
    """The client company restated balances (a run of them, at most one per account, in a few statements): each
    change goes to the ledger as an adjustment, and the account's balance and status follow the ledger and go out on
    payment.adjusted (segmentation and outreach take them from it, as from a payment's: a paid account owed again is
    worked again, a settled one stays closed). An account not opened here yet is opened with its restated balance."""
    s, now = events[0][1].session, events[0][1].now
    debtors = await debtors_of(s, vault, [(ctx.envelope.client, e) for e, ctx in events])
    accounts = await store.lock_accounts(s, [(ctx.envelope.client, e.account_ref) for e, ctx in events])
    stated = [(e, ctx, debtor, accounts.get((ctx.envelope.client, e.account_ref)))
              for (e, ctx), debtor in zip(events, debtors, strict=True)]
    if missing := [(e, ctx, debtor) for e, ctx, debtor, account in stated if account is None]:
        await open_accounts(s, [
            Placement(client=ctx.envelope.client, account_ref=e.account_ref, debtor_ref=debtor.debtor_ref,
                      debtor_id=debtor.id_number, currency=e.currency, placed=e.balance, event_id=ctx.envelope.event_id)
            for e, ctx, debtor in missing], now,
            causes={(ctx.envelope.client, e.account_ref): ctx.cause for e, ctx, _ in missing})
    held = [(e, ctx, debtor, account) for e, ctx, debtor, account in stated if account is not None]
    await store.restate_debtors(s, [(ctx.envelope.client, e.account_ref, debtor.debtor_ref, debtor.id_number)
                                    for e, ctx, debtor, _ in held])
    adjusted = [(e, ctx, a) for e, ctx, _, a in held if e.balance != e.previous_balance]
    await store.add_adjustments(s, [
        (ctx.envelope.client, e.account_ref, e.balance - e.previous_balance, ctx.envelope.event_id)
        for e, ctx, _ in adjusted], now)
    ledger = await store.ledger_balances(s, [(a.client_slug, a.account_ref) for _, _, _, a in held])
    statuses = {(a.client_slug, a.account_ref): ledger_status(
        balance=ledger[(a.client_slug, a.account_ref)], settled=a.status == "settled", written_off=a.written_off)
        for _, _, _, a in held}
    await store.set_balances(s, [(a.client_slug, a.account_ref, ledger[(a.client_slug, a.account_ref)],
                                  statuses[(a.client_slug, a.account_ref)]) for _, _, _, a in held], now)
    for e, ctx, a in adjusted:
        await ctx.emit(PaymentAdjusted(
            account_ref=e.account_ref, amount=e.balance - e.previous_balance, currency=a.currency,
            adjusted_at=ctx.now, new_balance=ledger[(a.client_slug, a.account_ref)],
            account_status=statuses[(a.client_slug, a.account_ref)]))


async def on_account_pseudonymised(event: AccountPseudonymised, ctx: HandlerContext) -> None:
    """An account placed before #19 gets its debtor's pseudonym and forgets the id number it kept in clear to match
    payers by: from now on the vault finds them by it (payer_of). Nothing else about the account changes."""
    await store.restate_debtors(ctx.session, [(ctx.envelope.client, event.account_ref, event.debtor_ref, None)])


async def on_account_recalled(event: AccountRecalled, ctx: HandlerContext) -> None:
    await on_accounts_recalled([(event, ctx)])


async def on_accounts_recalled(events: list[tuple[AccountRecalled, HandlerContext]]) -> None:
    await store.mark_recalled(events[0][1].session, [(ctx.envelope.client, e.account_ref) for e, ctx in events],
                              events[0][1].now)


def answer_of(outcome: PaymentOut) -> str:
    """The JSON an Idempotency-Key answers with (the fields a payment has, none of those it lacks)."""
    return outcome.model_dump_json(exclude_none=True)


async def answered_before(s: AsyncSession, *, client: str, idempotency_key: str, request: Fingerprint,
                          now: dt.datetime) -> str | None:
    """None when this request now holds the Idempotency-Key (until its transaction ends: a concurrent one with the
    same key waits for it); else the answer (JSON) the earlier request with the same key and body was given. The
    same key with another body (or for another command: keys are one namespace per client company) is a
    conflict. So is a key whose request can no longer be compared (its fingerprint erased with the person, or made
    under a master key since retired): answering it as it answered could tell a client that another payment was
    booked, so it must send the request again under a new key."""
    earlier = await store.claim_idempotency_key(s, client, idempotency_key, request.recorded, now)
    if earlier is None:
        return None
    same = request.same_as(earlier.request_sha256)
    if same is False:
        raise Conflict("idempotency_key_reused", "this Idempotency-Key was used with a different request body")
    if same is None:
        raise Conflict("idempotency_key_unverifiable", "this Idempotency-Key's request can no longer be compared "
                       "(erased, or fingerprinted under a retired master key); send it under a new key")
    assert earlier.response is not None  # the key's holder stored its answer in the transaction that took it
    return earlier.response


def refuse_if_future(paid_at: dt.datetime, now: dt.datetime) -> None:
    """A payment dated after the moment it is recorded (beyond the clocks' tolerance) is refused 422
    paid_at_in_future: nobody has paid it yet."""
    if paid_in_future(paid_at, now):
        minutes = int(PAID_AT_TOLERANCE.total_seconds() // 60)
        raise Invalid("paid_at_in_future", f"paid_at {paid_at.isoformat()} is after the moment the payment is "
                      f"recorded ({now.isoformat()}, {minutes} minutes of clock difference allowed)",
                      title="Payment dated in the future")


def refuse_if_not_in_minor_units(amount: Decimal, currency: str) -> None:
    """An amount with more decimals than its currency has (1000.50 CLP: a peso has no cents) is refused 422."""
    if not fits_minor_units(amount, currency):
        raise Invalid("amount_not_in_minor_units", f"{amount} {currency} has more decimals than {currency} has",
                      title="Invalid amount")


async def record_manual_payment(db: Database, *, vault: Vault, client: str, idempotency_key: str,
                                payment: ManualPaymentIn, now: dt.datetime) -> PaymentOut:
    """Applies an operator's payment once per Idempotency-Key: the same key and body answer the same;
    the same key with another body is a conflict. One dated in the future is refused (refuse_if_future)."""
    refuse_if_future(payment.paid_at, now)
    request = manual_fingerprint(payment, vault.keyring.all)

    async def attempt() -> PaymentOut:
        async with db.transaction() as s:
            earlier = await answered_before(s, client=client, idempotency_key=idempotency_key, request=request,
                                            now=now)
            if earlier is not None:
                return PaymentOut.model_validate_json(earlier)  # what it is now (it may have left suspense)
            copy = await get_client(s, store.SCHEMA, client)
            if copy is None:
                raise NotFound(f"client company {client!r}")
            currency = payment.currency or copy.currency
            if currency != copy.currency:
                raise Invalid("invalid_currency", f"payments for this client company are in {copy.currency}",
                              title="Invalid currency")
            refuse_if_not_in_minor_units(payment.amount, currency)
            outcome = await apply_payment(
                s, client=client, account_ref=payment.account_ref, debtor_id=payment.debtor_id,
                amount=payment.amount, currency=currency, paid_at=payment.paid_at, source="manual",
                method=payment.method, reference=payment.reference, now=now, vault=vault)
            if payment.another_deposit:
                await bank_files.mark_another_deposit(s, outcome.id)
            elif outcome.account_ref is not None:
                await _refuse_if_banked(s, copy.timezone, client, outcome.account_ref, payment)
            await store.store_idempotent_response(s, client, idempotency_key, answer_of(outcome), follows=outcome.id)
        return outcome

    return await recorded_once(attempt)


def manual_fingerprint(payment: ManualPaymentIn, keys: Sequence[MasterKey]) -> Fingerprint:
    """The fingerprint of a payment by hand (keyed: it may name the payer), over its fields as JSON with the amount
    to the cent, so that a retry writing 30000 as 30000.00 is the same request (as a redelivery's, a reversal's or a
    write-off's is). An amount written to the cent, as the API documents it, fingerprints as it always did."""
    said = payment.model_dump(mode="json")
    said["amount"] = str(payment.amount.quantize(CENT))
    return fingerprint(keys, said)


async def _refuse_if_banked(s: AsyncSession, timezone: str, client: str, account_ref: str,
                            payment: ManualPaymentIn) -> None:
    """A payment recorded by hand that a bank statement's line may already have brought (a line of the same amount
    applied to the account, posted from the day it was made to POSTED_WITHIN_DAYS later) is refused, the
    transaction that applied it rolled back: the operator checks, and sends it again with another_deposit when it
    is one. (The statement's line arriving after the payment by hand waits in suspense instead:
    bank_files/handlers.)"""
    made = local_today(timezone, payment.paid_at)
    if await bank_files.applied_bank_line(s, client, account_ref, payment.amount,
                                          *posted_between(made, timezone)) is not None:
        raise Conflict("possible_duplicate", (
            f"a bank statement already brought {payment.amount} to {account_ref} in the days after {made}: if this "
            "is another deposit, send it again with another_deposit true"))


async def hold_in_suspense(s: AsyncSession, *, payment_id: uuid.UUID, client: str, amount: Decimal, currency: str,
                           paid_at: dt.datetime, source: str, method: str | None, reference: str | None, reason: str,
                           now: dt.datetime, gateway: str | None, external_id: str | None,
                           debtor_id: str | None = None, claimed_account_ref: str | None = None,
                           content_sha256: str | None = None, payer_ref: uuid.UUID | None = None) -> None:
    """A payment booked against no balance: it waits in the suspense queue, saying why (`reason`), for an operator
    (or a placement of the account it claims, rematch_suspense), and payment.unmatched says so."""
    await store.insert_payment(s, payment_id=payment_id, client=client, account_ref=None, amount=amount,
                               currency=currency, paid_at=paid_at, source=source, method=method, reference=reference,
                               debtor_id=debtor_id, status="unmatched", unmatched_reason=reason, now=now,
                               gateway=gateway, external_id=external_id, claimed_account_ref=claimed_account_ref,
                               content_sha256=content_sha256, payer_ref=payer_ref)
    await outbox.add(s, [PaymentUnmatched(payment_id=payment_id, amount=amount, currency=currency, paid_at=paid_at,
                                          source=source, reason=reason).envelope(client=client, occurred_at=now)])


async def apply_payment(s: AsyncSession, *, client: str, account_ref: str | None, debtor_id: str | None,
                        amount: Decimal, currency: str, paid_at: dt.datetime, source: str, method: str | None,
                        reference: str | None, now: dt.datetime, vault: Vault | None = None,
                        gateway: str | None = None, external_id: str | None = None, link_secret: str | None = None,
                        content_sha256: str | None = None) -> PaymentOut:
    """Matches and applies one payment inside the caller's transaction; unmatched goes to suspense. A payer's id
    number (`debtor_id`) is looked up through `vault` and kept as the person it found (payer_ref); the number
    itself only while the payment waits in suspense, where an operator needs to read it."""
    if debtor_id and vault is None:
        raise ValueError("a payment naming the payer's id number needs the vault to find them")
    payment_id = time_ordered_id()  # its table's key takes each new payment at its end
    if not account_ref and link_secret and reference:
        # A payment made through a payment link names the account in its signed token.
        target = read_token(reference, secret=link_secret, now=now, allow_expired=True)
        if target is not None and target.client == client:
            account_ref = target.account_ref
    found = await store.lock_account_to_pay(s, client, account_ref) if account_ref else None
    if account_ref and found is None:
        # Its placement may be on its way: wait for one in flight, so that this payment either sees the account
        # or is in suspense before the placement looks there (rematch_suspense).
        await store.lock_placement(s, client, account_ref)
        found = await store.lock_account_to_pay(s, client, account_ref)
    known, commitments = found if found is not None else (None, MAY_HAVE_COMMITMENTS)
    payer = await payer_of(s, vault, client, debtor_id) if debtor_id and vault is not None else None
    match = match_payment(account_ref=account_ref, known_account=known is not None, debtor_id=debtor_id,
                          debtor_open_accounts=payer.open_accounts if payer is not None and known is None else [])
    payer_ref = None if payer is None else payer.debtor_ref
    if match.account_ref is None:
        await hold_in_suspense(s, payment_id=payment_id, client=client, amount=amount, currency=currency,
                               paid_at=paid_at, source=source, method=method, reference=reference or account_ref,
                               reason=match.reason, now=now, gateway=gateway, external_id=external_id,
                               debtor_id=debtor_id, claimed_account_ref=account_ref, content_sha256=content_sha256,
                               payer_ref=payer_ref)
        return PaymentOut(id=payment_id, status="unmatched", reason=match.reason, amount=amount,
                              currency=currency)
    account = known or await store.lock_account(s, client, match.account_ref)
    assert account is not None
    await store.insert_payment(s, payment_id=payment_id, client=client, account_ref=match.account_ref,
                               amount=amount, currency=currency, paid_at=paid_at, source=source, method=method,
                               reference=reference, debtor_id=None, status="applied", unmatched_reason=None,
                               now=now, gateway=gateway, external_id=external_id, claimed_account_ref=account_ref,
                               content_sha256=content_sha256, payer_ref=payer_ref)
    return await _book(s, client=client, payment_id=payment_id, account=account, amount=amount, currency=currency,
                       paid_at=paid_at, source=source, method=method, matched_by=match.reason, now=now,
                       commitments=commitments)


async def _book(s: AsyncSession, *, client: str, payment_id: uuid.UUID, account: Account, amount: Decimal,
                currency: str, paid_at: dt.datetime, source: str, method: str | None, matched_by: str,
                now: dt.datetime, commitments: OpenCommitments = MAY_HAVE_COMMITMENTS) -> PaymentOut:
    """The ledger entry, the account's new balance and status, and payment.applied (the method in the platform's
    words), for a matched payment. `commitments`: what the account has open that the payment may decide."""
    account_ref = account.account_ref  # beyond what is left to pay, written-off money is recovered first (#22)
    recovered = recovery(balance=account.balance, written_off=account.written_off, amount=amount)
    if recovered.recovered:
        await store.add_entry(s, client=client, account_ref=account_ref, kind="write_off_recovery",
                              amount=recovered.recovered, payment_id=payment_id, now=now)
    result = after_payment(account.balance + recovered.recovered, amount, account.status,
                           written_off=recovered.written_off)
    await store.add_entry(s, client=client, account_ref=account_ref, kind="payment", amount=-amount,
                          payment_id=payment_id, now=now)
    if commitments.arrangement:
        result = await settle_if_reached(s, client=client, account=account, after=result, paid_at=paid_at, now=now)
    await store.set_account(s, client, account_ref, balance=result.balance, status=result.status, now=now,
                            written_off=recovered.written_off)
    if commitments.promises:
        await evaluate_promises(s, now=now, client=client, account_ref=account_ref)  # a payment may keep a promise
    after_commit(s, lambda: count_applied(client, amount, currency))
    await outbox.add(s, [PaymentApplied(
        payment_id=payment_id, account_ref=account_ref, amount=amount, currency=currency, paid_at=paid_at,
        source=source, method=payment_method_of(method), new_balance=result.balance, credit=result.credit,
        account_status=result.status).envelope(client=client, occurred_at=now)])
    if recovered.recovered:
        await outbox.add(s, [PaymentWriteOffRecovered(
            payment_id=payment_id, account_ref=account_ref, amount=recovered.recovered, recovered_at=paid_at,
            written_off_total=recovered.written_off, account_status=result.status,
        ).envelope(client=client, occurred_at=now)])
    return PaymentOut(id=payment_id, status="applied", account_ref=account_ref, matched_by=matched_by,
                          amount=amount, currency=currency, new_balance=result.balance, credit=result.credit,
                          account_status=result.status)


def count_applied(client: str, amount: Decimal, currency: str) -> None:
    """A payment applied, in the domain metrics (once its transaction has committed)."""
    PAYMENTS_APPLIED.labels(client).inc()
    RECOVERED_AMOUNT.labels(client, currency).inc(float(amount))


async def assign_unmatched(db: Database, *, client: str, payment_id: uuid.UUID, account_ref: str,
                           another_deposit: bool, now: dt.datetime) -> PaymentOut:
    """An operator resolves a suspense payment: it is applied to the account they name. A bank line or a payment
    by hand that may be the same deposit as one applied to that account (the one it was held as maybe the same as
    included) is refused 409 possible_duplicate unless the operator says it is another deposit
    (`another_deposit`); refused, it stays in suspense held as maybe that one, so it can be closed as the same
    deposit (bank_files.close_as_same_deposit)."""
    maybe = None
    async with db.transaction() as s:
        payment = await store.lock_payment(s, client, payment_id)
        if payment is None:
            raise NotFound("payment")
        if payment.status != "unmatched":
            raise Conflict("payment_not_unmatched", "this payment is not in the suspense queue")
        account = await store.lock_account(s, client, account_ref)
        if account is None:
            raise Invalid("unknown_account", f"no account {account_ref!r}", title="Unknown account")
        if payment.currency != account.currency:
            # A gateway's payment in another currency waits in suspense (currency_mismatch): no balance takes it.
            raise Invalid("invalid_currency", f"the payment is in {payment.currency}, the account in "
                                              f"{account.currency}", title="Invalid currency")
        if payment.amount != payment.amount.quantize(CENT):
            # A gateway's payment in fractions of a cent (amount_not_in_cents): the ledger keeps cents, and rounding
            # it would book money nobody paid or lose some that was; the operator settles it with the gateway.
            raise Invalid("amount_not_in_cents", f"the payment is of {payment.amount} {payment.currency}, in "
                                                 "fractions of a cent: no balance can take it", title="Invalid amount")
        refuse_if_not_in_minor_units(payment.amount, payment.currency)  # a gateway's 1000.50 CLP, in suspense
        if another_deposit:
            await bank_files.mark_another_deposit(s, payment_id)
        elif payment.source in pairing.SOURCES:
            maybe = await pairing.same_deposit_applied(s, await _timezone_of(s, client), payment, account_ref)
        if maybe is not None:
            await _hold_as_maybe_same(s, payment, maybe)  # committed: the refusal below changes nothing else
        else:
            await store.apply_suspense_payment(s, payment_id, account_ref)
            # What the gateway refunded while it waited was never the account's: only the rest is booked.
            result = await _book(s, client=client, payment_id=payment_id, account=account,
                                 amount=payment.amount - payment.reversed_amount,
                                 currency=payment.currency, paid_at=payment.paid_at, source=payment.source,
                                 method=payment.method, matched_by="operator", now=now)
            await store.follow_idempotent_response(s, payment_id, answer_of(result))
    if maybe is not None:
        raise Conflict("possible_duplicate", maybe.explained(payment, account_ref))
    return result


async def _hold_as_maybe_same(s: AsyncSession, payment: Payment, maybe: pairing.MaybeSame) -> None:
    """The payment stays in suspense as maybe the same deposit as one applied, for an operator; a payment by hand's
    Idempotency-Key answers so."""
    await bank_files.hold_as_maybe_same(s, payment.id, maybe.reason, maybe.same_as)
    await store.follow_idempotent_response(s, payment.id, answer_of(PaymentOut(
        id=payment.id, status="unmatched", reason=maybe.reason, amount=payment.amount, currency=payment.currency)))


async def suspense_queue(db: Database, *, client: str, after: tuple[dt.datetime, uuid.UUID] | None,
                         limit: int) -> list[UnmatchedPaymentOut]:
    """The client company's payments waiting for their account, oldest first, those after `after`."""
    async with db.transaction() as s:
        return await store.list_unmatched(s, client, after=after, limit=limit)
