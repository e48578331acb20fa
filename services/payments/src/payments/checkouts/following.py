"""A checkout follows its gateway payment: every notification naming a checkout's reference moves the checkout's
state (approved, pending, declined, expired) and the change is published (payment.checkout_updated) in the
notification's own transaction. Called by the gateways' booking, so it imports nothing of the gateways' handlers."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncSession

from payments.checkouts import store as checkouts
from payments.checkouts.domain import Checkout, CheckoutStatus, is_reference, next_status
from payments.handlers import outbox
from recaudo_common.db import Database, sql
from recaudo_common.events import CashVoucher, CheckoutUpdated


def updated(checkout: Checkout, status: CheckoutStatus, now: dt.datetime) -> CheckoutUpdated:
    voucher = None if checkout.voucher is None else CashVoucher(
        network=checkout.voucher.network, reference=checkout.voucher.reference,
        expires_at=checkout.voucher.expires_at, voucher_url=checkout.voucher.voucher_url)
    return CheckoutUpdated(reference=checkout.reference, account_ref=checkout.account_ref, gateway=checkout.gateway,
                           method=checkout.method, status=status, amount=checkout.amount,
                           currency=checkout.currency, voucher=voucher, changed_at=now)


async def follow(s: AsyncSession, *, client: str, gateway_account: str, reference: str | None, notified: str,
                 now: dt.datetime) -> Checkout | None:
    """The checkout a gateway payment's reference names (None: not a checkout of this client company's), its
    state moved by what the notification says, the change published in the caller's transaction. A notification
    from another gateway account than the checkout's applies to its account but moves nothing."""
    if reference is None or not is_reference(reference):
        return None
    checkout = await checkouts.of_reference(s, reference, client=client, for_update=True)
    if checkout is None or checkout.gateway_account != gateway_account:
        return checkout
    status = next_status(checkout.status, notified)
    if status is None:
        return checkout
    await checkouts.set_status(s, checkout.reference, status, now=now)
    await outbox.add(s, [updated(checkout, status, now).envelope(client=client, occurred_at=now)])
    return replace(checkout, status=status, updated_at=now)




# A checkout past its time is expired only after this: the gateway's own late word (an approval at the last minute,
# its own expiry) is given the chance to arrive first, and a later approval still moves it to approved.
EXPIRY_GRACE = dt.timedelta(hours=1)
EXPIRY_BATCH = 500
# A hosted checkout never started, or a voucher of ours: the rows of the partial index checkouts_overdue (migration
# 0028), in its very words (a reworded condition would scan every checkout).
OVERDUE = "status = 'created' OR (status = 'pending' AND voucher_reference IS NOT NULL)"


async def expire_overdue(db: Database, *, now: dt.datetime) -> int:
    """Marks expired the checkouts past their time that the debtor never paid: a hosted checkout never started at
    the gateway (still created) or a voucher of ours (pending with it) past its expiry; each change published; how
    many. A batch per transaction, oldest first. A hosted checkout the gateway says is pending is left to the
    gateway's word: the payer may have chosen cash there (Wompi's corresponsales, PayU's Efecty or Baloto, Stripe's
    OXXO), payable for days, and telling the debtor it expired would have them pay twice."""
    async with db.transaction() as s:
        rows = (await s.execute(sql(
            f"""SELECT reference, client_slug FROM payments.checkouts WHERE ({OVERDUE}) AND expires_at < :cutoff
                ORDER BY expires_at LIMIT :n FOR UPDATE SKIP LOCKED"""),
            {"cutoff": now - EXPIRY_GRACE, "n": EXPIRY_BATCH})).all()
        for row in rows:
            checkout = await checkouts.of_reference(s, row.reference)
            assert checkout is not None
            await checkouts.set_status(s, checkout.reference, "expired", now=now)
            await outbox.add(s, [updated(checkout, "expired", now).envelope(client=row.client_slug, occurred_at=now)])
    return len(rows)
