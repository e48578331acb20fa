"""A verified gateway notification in the ledger: an approved payment applied once per gateway payment id (to the
account its reference names, or the suspense queue), other states recorded and nothing applied, and refunds and
chargebacks, whole or partial, through the ledger's one reversal path. Nothing about the payer is stored."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from payments import store as ledger
from payments.checkouts.following import follow
from payments.gateways import store
from payments.gateways.domain.notifications import GatewayPayment, GatewayReinstatement, GatewayReversal
from payments.gateways.domain.payu import RefundClaim
from payments.gateways.schemas import GatewayNotificationOut, NotificationStatus
from payments.gateways.store import GatewayAccount
from payments.handlers import apply_payment, hold_in_suspense
from payments.integrity import recorded_once
from payments.reversals import reverse, reverse_in_suspense
from recaudo_common.client_copy import get_client
from recaudo_common.db import Database
from recaudo_common.domain_errors import NotFound
from recaudo_common.ids import time_ordered_id
from recaudo_common.money import CENT, fits_minor_units
from recaudo_common.payment_links import read_token

DUPLICATE_REFERENCE = "duplicate_reference"
MAX_DUPLICATE_REFERENCE = 20  # second approvals of one reference waiting in suspense, at most
LEDGER_KIND = {"refunded": "refund", "charged_back": "chargeback"}
DISPUTE_WON = "dispute_won"  # a suspense payment's reason: money a won dispute gave back of a payment in suspense
Effect = GatewayPayment | GatewayReversal | GatewayReinstatement | RefundClaim


async def book(db: Database, *, account: GatewayAccount, effect: Effect, link_secret: str | None,
               now: dt.datetime) -> GatewayNotificationOut:
    """Books what a verified notification says, in one transaction (run again when it loses a race to a
    concurrent delivery of the same payment, which then answers `duplicate`). A refund claim nobody could confirm
    takes nothing back: it is kept for an operator (`refund_unconfirmed`)."""

    async def attempt() -> GatewayNotificationOut:
        async with db.transaction() as s:
            if isinstance(effect, GatewayPayment):
                return await _payment(s, account, effect, link_secret=link_secret, now=now)
            if isinstance(effect, RefundClaim):
                await store.record_unconfirmed_refund(s, gateway=account.ledger_key, client=account.client,
                                                      reference=effect.reference, amount=effect.amount,
                                                      currency=effect.currency, now=now)
                return GatewayNotificationOut(status="refund_unconfirmed", gateway_payment_id=effect.reference)
            if isinstance(effect, GatewayReinstatement):
                return await _reinstatement(s, account, effect, now=now)
            return await _reversal(s, account, effect, now=now)

    return await recorded_once(attempt)


async def _payment(s: AsyncSession, account: GatewayAccount, p: GatewayPayment, *, link_secret: str | None,
                   now: dt.datetime) -> GatewayNotificationOut:
    key, client = account.ledger_key, account.client
    await store.lock_gateway_payment(s, key, p.payment_id)  # against a reversal of it arriving at the same time
    before = await store.record_state(s, gateway=key, gateway_payment_id=p.payment_id, client=client,
                                      status=p.status, gateway_status=p.gateway_status, reference=p.reference,
                                      amount=p.amount, currency=p.currency, now=now)
    applied = await ledger.gateway_payment(s, key, p.payment_id)
    if p.status == "approved" and applied is None and before is not None \
            and before.status in store.NEVER_APPLIED_AFTER:
        # The gateway voided (or took back) this payment before this approval reached us: a stale redelivery.
        return GatewayNotificationOut(status="ignored", gateway_payment_id=p.payment_id)
    if p.status == "approved" and applied is None and p.amount == 0:
        # Nothing was paid (a Stripe session a discount paid in full): no payment to apply or hold (one of 0 is none),
        # its state is recorded, and the answer ends the gateway's deliveries.
        return GatewayNotificationOut(status="ignored", gateway_payment_id=p.payment_id)
    # A platform checkout's reference: the checkout follows every notification, and its account takes the money.
    checkout = await follow(s, client=client, gateway_account=account.name, reference=p.reference,
                            notified=p.status, now=now)
    if p.status == "approved" and applied is None:
        payment_id, status = await _apply(s, account, p, link_secret=link_secret, now=now,
                                          account_ref=checkout.account_ref if checkout is not None else None)
        await store.link_payment(s, key, p.payment_id, payment_id)
        if p.attempt_id is not None:
            await store.set_approved_attempt(s, key, p.payment_id, p.attempt_id)
        # Booked or held in suspense, the payment takes back what it already lost: Mercado Pago's may be partly
        # refunded when first asked about, and refunds may have arrived before it.
        if p.refunded_amount:
            await _taken_back(s, account, p, payment_id, now=now)
        await _waiting_reversals(s, account, p.payment_id, payment_id, now=now)
        return GatewayNotificationOut(status=status, gateway_payment_id=p.payment_id)
    if p.status == "approved" and applied is not None and p.attempt_id is not None:
        other = await _second_approval(s, account, p, now=now)
        if other is not None:
            return other
    if applied is not None and applied.status != "reversed":
        # A payment (applied, or in suspense) the gateway now says was (partly) refunded, charged back or voided:
        # Mercado Pago's payment carries what has been refunded of it in all; Wompi voids a card payment whole.
        taken_back = await _taken_back(s, account, p, applied.id, now=now)
        if taken_back is not None:
            return GatewayNotificationOut(status=taken_back, gateway_payment_id=p.payment_id)
    if applied is not None:
        return GatewayNotificationOut(status="duplicate", gateway_payment_id=p.payment_id)
    shown = {"approved": "applied", "refunded": "ignored", "charged_back": "ignored"}.get(p.status, p.status)
    return GatewayNotificationOut(status=shown, gateway_payment_id=p.payment_id)


async def _apply(s: AsyncSession, account: GatewayAccount, p: GatewayPayment, *, link_secret: str | None,
                 now: dt.datetime, account_ref: str | None = None) -> tuple[uuid.UUID, str]:
    """Applies an approved payment to the account its reference names (a platform checkout's, given as
    `account_ref`; a payment link's token; or the account's own reference), or puts it in suspense with the
    gateway, its payment id and the reference given. A payment in another currency than the client company's, in
    fractions of a cent, or with more decimals than its currency has (1000.50 CLP), is never booked against a
    balance: it waits in suspense (reason currency_mismatch / amount_not_in_cents / amount_not_in_minor_units; its
    amount exactly as the gateway said it, never rounded to a cent nobody paid) for an operator, since the gateway
    did take the money and refusing the notification would only make it send it again forever."""
    client = account.client
    copy = await get_client(s, ledger.SCHEMA, client)
    if copy is None:
        raise NotFound(f"client company {client!r}")
    paid_at = p.occurred_at or now
    problem = ("currency_mismatch" if p.currency != copy.currency
               else "amount_not_in_cents" if p.amount != p.amount.quantize(CENT)
               else "amount_not_in_minor_units" if not fits_minor_units(p.amount, p.currency) else None)
    if problem is not None:
        payment_id = time_ordered_id()
        await hold_in_suspense(s, payment_id=payment_id, client=client, amount=p.amount, currency=p.currency,
                               paid_at=paid_at, source="gateway", method=p.method, reference=p.reference,
                               reason=problem, now=now, gateway=account.ledger_key, external_id=p.payment_id)
        return payment_id, "unmatched"
    by_link = read_token(p.reference, secret=link_secret, now=now, allow_expired=True) \
        if p.reference and link_secret and account_ref is None else None
    outcome = await apply_payment(
        s, client=client, account_ref=account_ref or (None if by_link else p.reference), debtor_id=None,
        amount=p.amount, currency=p.currency, paid_at=paid_at, source="gateway", method=p.method,
        reference=p.reference, now=now, gateway=account.ledger_key, external_id=p.payment_id,
        link_secret=link_secret if by_link else None)
    return outcome.id, outcome.status


async def _taken_back(s: AsyncSession, account: GatewayAccount, p: GatewayPayment, payment_id: uuid.UUID, *,
                      now: dt.datetime) -> NotificationStatus | None:
    """What the payment's own state says was taken back of it, booked once (None: it says nothing was)."""
    if p.status in ("refunded", "charged_back") or p.refunded_amount:
        kind = "charged_back" if p.status == "charged_back" else "refunded"
        total = p.refunded_amount if p.refunded_amount else p.amount
    elif p.status == "voided":
        kind, total = "refunded", p.amount
    else:
        return None
    reversal = GatewayReversal(gateway=p.gateway, reversal_id=f"{p.payment_id}:{kind}:{total}",
                               refers_to=p.payment_id, kind=kind,  # type: ignore[arg-type]
                               amount=total, currency=p.currency, cumulative=True)
    return (await _reverse(s, account, reversal, payment_id, now=now)).status


async def _second_approval(s: AsyncSession, account: GatewayAccount, p: GatewayPayment, *,
                           now: dt.datetime) -> GatewayNotificationOut | None:
    """An approval of a reference already applied under another attempt (PayU: another transaction_id; PayU says
    an approved reference is never reported again, https://developers.payulatam.com/latam/es/docs/integrations/
    webcheckout-integration/confirmation-page.html "Reintentos de pago"): money the gateway took twice for one
    order, so it waits in suspense (reason duplicate_reference) for an operator instead of being dropped. None:
    the same attempt again (a plain duplicate), or a reference applied before attempts were recorded."""
    key, attempt = account.ledger_key, p.attempt_id
    assert attempt is not None
    first = await store.approved_attempt(s, key, p.payment_id)
    if first is None or first == attempt:
        return None
    external_id = f"attempt:{attempt}"
    if await ledger.gateway_payment(s, key, external_id) is not None:
        return GatewayNotificationOut(status="duplicate", gateway_payment_id=p.payment_id)
    if await store.unmatched_of_reference(s, key, p.reference, DUPLICATE_REFERENCE) >= MAX_DUPLICATE_REFERENCE:
        # transaction_id is not signed: a replayed approval under made-up ids must not fill the queue forever.
        return GatewayNotificationOut(status="duplicate", gateway_payment_id=p.payment_id)
    paid_at = p.occurred_at or now
    await hold_in_suspense(s, payment_id=time_ordered_id(), client=account.client, amount=p.amount, currency=p.currency,
                           paid_at=paid_at, source="gateway", method=p.method, reference=p.reference,
                           reason=DUPLICATE_REFERENCE, now=now, gateway=key, external_id=external_id)
    return GatewayNotificationOut(status="unmatched", gateway_payment_id=p.payment_id)


async def _waiting_reversals(s: AsyncSession, account: GatewayAccount, gateway_payment_id: str,
                             payment_id: uuid.UUID, *, now: dt.datetime) -> None:
    """Applies, once, the refunds and chargebacks that arrived before this payment did."""
    for w in await store.take_pending_reversals(s, gateway=account.ledger_key, refers_to=gateway_payment_id,
                                                now=now):
        reversal = GatewayReversal(gateway=account.kind,  # type: ignore[arg-type]
                                   reversal_id=w.reversal_id, refers_to=w.refers_to,
                                   kind=w.kind,  # type: ignore[arg-type]
                                   amount=w.amount, currency=w.currency, cumulative=w.cumulative)
        await _reverse(s, account, reversal, payment_id, now=now)


async def _reversal(s: AsyncSession, account: GatewayAccount, r: GatewayReversal, *,
                    now: dt.datetime) -> GatewayNotificationOut:
    await store.lock_gateway_payment(s, account.ledger_key, r.refers_to)  # against its payment being booked now
    original = await ledger.gateway_payment(s, account.ledger_key, r.refers_to)
    if original is None:
        # Gateways deliver out of order: the refund of a payment not notified yet waits for it (amounts only) and is
        # applied in the transaction that books the payment.
        await store.add_pending_reversal(s, gateway=account.ledger_key, client=account.client, now=now,
                                         reversal=store.PendingReversal(r.reversal_id, r.refers_to, r.kind, r.amount,
                                                                        r.currency, r.cumulative))
        return GatewayNotificationOut(status="reversal_waiting", gateway_payment_id=r.refers_to)
    if original.client_slug != account.client:
        # Another client company's payment: nothing of this account's to take back; the gateway would only send it
        # again.
        return GatewayNotificationOut(status="ignored", gateway_payment_id=r.refers_to)
    return await _reverse(s, account, r, original.id, now=now)


async def _reverse(s: AsyncSession, account: GatewayAccount, r: GatewayReversal, payment_id: uuid.UUID, *,
                   now: dt.datetime) -> GatewayNotificationOut:
    """Takes back what the reversal says, once per reversal id: a cumulative total (Stripe's amount_refunded,
    Mercado Pago's transaction_amount_refunded) books only what this gateway has not taken back yet; never more
    than remains of the payment."""
    key, done = account.ledger_key, GatewayNotificationOut(status="duplicate", gateway_payment_id=r.refers_to)
    payment = await ledger.lock_payment(s, account.client, payment_id)  # one reversal of a payment at a time
    assert payment is not None
    if await ledger.gateway_reversal(s, key, r.reversal_id) is not None:
        return done
    if r.kind == "charged_back" and await store.is_reinstated(s, key, r.reversal_id):
        # The dispute was decided for the merchant before its withdrawal reached us: nothing is gone.
        return done
    if r.currency != payment.currency:
        return GatewayNotificationOut(status="ignored", gateway_payment_id=r.refers_to)
    kind = LEDGER_KIND[r.kind]
    amount = r.amount - await store.reversed_by_gateway(s, key, payment_id, kind) if r.cumulative else r.amount
    amount = min(amount, payment.amount - payment.reversed_amount).quantize(CENT)
    if amount <= 0:
        return done
    if payment.status == "unmatched":  # in suspense: less to assign, no balance to give back to
        await reverse_in_suspense(s, client=account.client, payment_id=payment_id, kind=kind, gateway=key,
                                  external_id=r.reversal_id, amount=amount, now=now)
    else:
        await reverse(s, client=account.client, payment_id=payment_id, kind=kind, gateway=key,
                      external_id=r.reversal_id, reason=None, now=now, amount=amount)
    return GatewayNotificationOut(status="reversed", gateway_payment_id=r.refers_to)


async def _reinstatement(s: AsyncSession, account: GatewayAccount, r: GatewayReinstatement, *,
                         now: dt.datetime) -> GatewayNotificationOut:
    """A dispute decided for the merchant, once per dispute: what its chargeback took back (never more) comes back
    as a payment of its own (external id `<dispute>:reinstated`), made when the disputed one was (the decision says
    that payment stood: a settlement it kept, which the chargeback undid, is kept again), to the disputed payment's
    account, or to suspense (reason dispute_won) when that payment is in suspense. The payment's reversal stays as
    it was: the trail shows the money taken and given back. Before its chargeback was booked (gateways deliver out
    of order, and the disputed payment may not even be known yet) nothing was taken, so nothing comes back; the
    record makes that chargeback take nothing when it arrives."""
    key, refers_to = account.ledger_key, r.refers_to
    await store.lock_gateway_payment(s, key, refers_to)  # against the disputed payment, or its chargeback, now
    if not await store.record_reinstatement(s, gateway=key, client=account.client, dispute_id=r.dispute_id,
                                            refers_to=refers_to, amount=r.amount, currency=r.currency, now=now):
        return GatewayNotificationOut(status="duplicate", gateway_payment_id=refers_to)
    chargeback = await ledger.gateway_reversal(s, key, r.dispute_id)
    original = await ledger.gateway_payment(s, key, refers_to)
    if chargeback is None or original is None or original.client_slug != account.client \
            or r.currency != original.currency:
        return GatewayNotificationOut(status="ignored", gateway_payment_id=refers_to)
    amount = min(r.amount, chargeback.amount).quantize(CENT)
    external_id = f"{r.dispute_id}:reinstated"
    if original.account_ref is None:
        payment_id = time_ordered_id()
        await hold_in_suspense(s, payment_id=payment_id, client=account.client, amount=amount,
                               currency=original.currency, paid_at=original.paid_at, source="gateway",
                               method=original.method, reference=None, reason=DISPUTE_WON, now=now, gateway=key,
                               external_id=external_id, claimed_account_ref=original.claimed_account_ref)
        status = "unmatched"
    else:
        outcome = await apply_payment(
            s, client=account.client, account_ref=original.account_ref, debtor_id=None, amount=amount,
            currency=original.currency, paid_at=original.paid_at, source="gateway", method=original.method,
            reference=None, now=now, gateway=key, external_id=external_id)
        payment_id, status = outcome.id, outcome.status
    await store.link_reinstatement(s, key, r.dispute_id, payment_id)
    return GatewayNotificationOut(status="unmatched" if status == "unmatched" else "applied",
                                  gateway_payment_id=refers_to)
