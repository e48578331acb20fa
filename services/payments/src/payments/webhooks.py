"""Verified gateway notifications (payments, refunds, chargebacks), each applied once forever per (gateway, id);
a redelivery with the same content is a duplicate, the same id with another content a conflict. Refused
notifications are counted per source, never stored."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from payments import rejections_store, store
from payments.domain.fingerprints import Fingerprint, fingerprint
from payments.domain.reversals import ReversalRefusedError, reversal_amount
from payments.handlers import apply_payment, hold_in_suspense, refuse_if_future, refuse_if_not_in_minor_units
from payments.integrity import recorded_once
from payments.records import RejectionSample, WebhookOutcome
from payments.reversals import reverse, reverse_in_suspense
from payments.schemas import WebhookIn, WebhookRejectionOut
from recaudo_common.client_copy import ClientCopy, get_client
from recaudo_common.db import Database
from recaudo_common.domain_errors import Conflict, Invalid, NotFound
from recaudo_common.ids import time_ordered_id
from recaudo_common.personal_data import Vault
from recaudo_common.personal_data.keyring import MasterKey

# What a notification says about money: a redelivery that repeats these is the same payment (a gateway may stamp
# each delivery anew, so the times and the method are not compared); the same id saying otherwise is a conflict.
WHAT_IT_SAYS = ("type", "client", "amount", "currency", "account_ref", "link_token", "debtor_id", "refers_to")


def content_of(notification: WebhookIn, keys: Sequence[MasterKey]) -> Fingerprint:
    """The fingerprint of what a notification says about money (30000.0 is 30000.00); keyed, since it may carry the
    payer's id number."""
    said = notification.model_dump(mode="json", include=set(WHAT_IT_SAYS))
    if said["amount"] is not None:
        said["amount"] = str(Decimal(said["amount"]).quantize(Decimal("0.01")))
    return fingerprint(keys, said)


async def receive_webhook(db: Database, *, vault: Vault, gateway: str, notification: WebhookIn, now: dt.datetime,
                          link_secret: str | None = None) -> WebhookOutcome:
    """Applies a verified notification in one transaction. The unique indexes decide races between concurrent
    deliveries: the loser runs again, finds the winner's record and answers `duplicate`."""
    content = content_of(notification, vault.keyring.all)

    async def attempt() -> WebhookOutcome:
        async with db.transaction() as s:
            return await _receive(s, vault=vault, gateway=gateway, notification=notification, content=content,
                                  now=now, link_secret=link_secret)

    return await recorded_once(attempt)


async def _receive(s: AsyncSession, *, vault: Vault, gateway: str, notification: WebhookIn, content: Fingerprint,
                   now: dt.datetime, link_secret: str | None) -> WebhookOutcome:
    n = notification
    client, external_id = n.client, n.payment_id
    if n.type == "payment":
        earlier_payment = await store.gateway_payment(s, gateway, external_id)
        earlier_hash = None if earlier_payment is None else earlier_payment.content_sha256
        seen = earlier_payment is not None
    else:
        earlier_reversal = await store.gateway_reversal(s, gateway, external_id)
        earlier_hash = None if earlier_reversal is None else earlier_reversal.content_sha256
        seen = earlier_reversal is not None
    if seen:
        return sent_before(n, content, earlier_hash)
    if n.type == "payment":
        copy = await get_client(s, store.SCHEMA, client)
        client_takes(copy, n, now=now)
        assert copy is not None and n.amount is not None  # client_takes and the route refuse either missing
        if n.currency != copy.currency:
            return await _hold_in_another_currency(s, gateway=gateway, n=n, content=content, now=now)
        applied = await apply_payment(
            s, client=client, account_ref=n.account_ref, debtor_id=n.debtor_id, amount=n.amount,
            currency=n.currency, paid_at=n.paid_at, source="gateway", method=n.method, reference=n.link_token,
            now=now, vault=vault, gateway=gateway, external_id=external_id, link_secret=link_secret,
            content_sha256=content.recorded)
        return WebhookOutcome(status=applied.status, payment_id=external_id)
    original = await store.gateway_payment(s, gateway, n.refers_to) if n.refers_to else None
    if original is None or original.client_slug != client:
        raise Invalid("unknown_payment", f"{n.type} refers to a payment this gateway never sent",
                      title="Unknown payment")
    if n.currency != original.currency:  # 10 USD taken back of a COP payment would be 10 pesos
        raise Invalid("invalid_currency", f"{n.type} is in {n.currency}; the payment it refers to is in "
                      f"{original.currency}", title="Invalid currency")
    if n.amount is not None:
        refuse_if_not_in_minor_units(n.amount, original.currency)
    if original.status == "unmatched":  # in suspense: recorded against it, no balance to give back to
        try:  # never more than is left of it, as for an applied payment: the rest would be no one's
            reversal_amount(requested=n.amount, paid=original.amount, reversed_so_far=original.reversed_amount)
        except ReversalRefusedError as e:
            raise Invalid(e.code, e.detail, title="Reversal refused") from e
        taken = await reverse_in_suspense(s, client=client, payment_id=original.id, kind=n.type, gateway=gateway,
                                          external_id=external_id, amount=n.amount, now=now,
                                          content_sha256=content.recorded)
        return WebhookOutcome(status="reversed" if taken else "duplicate", payment_id=external_id)
    reversed_ = await reverse(s, client=client, payment_id=original.id, kind=n.type, gateway=gateway,
                              external_id=external_id, reason=None, now=now, amount=n.amount,
                              content_sha256=content.recorded)
    return WebhookOutcome(status=reversed_.status, payment_id=external_id)


def sent_before(n: WebhookIn, content: Fingerprint, earlier_hash: str | None) -> WebhookOutcome:
    """The answer to a notification whose id this gateway has sent before (`earlier_hash`: what that one said):
    the same content is a duplicate; other content a conflict, and nothing is applied."""
    # Rows recorded before contents were hashed have none (and an erased or retired-key one tells nothing): their id
    # alone decides, as it did then.
    if content.same_as(earlier_hash) is False:
        raise Conflict("gateway_id_reused", f"this gateway already sent {n.type} {n.payment_id!r} with other "
                                            "content; nothing was applied")
    return WebhookOutcome(status="duplicate", payment_id=n.payment_id)


async def _hold_in_another_currency(s: AsyncSession, *, gateway: str, n: WebhookIn, content: Fingerprint,
                                    now: dt.datetime) -> WebhookOutcome:
    """A payment in another currency than the client company's waits in suspense (currency_mismatch), as a gateway
    account's does (gateways/booking._apply): the gateway took that money, so refusing the notification would only
    make it send it again for days while no operator sees it. It names no account to re-match on a placement: an
    operator settles it with the gateway (assigning it is refused invalid_currency)."""
    assert n.amount is not None
    await hold_in_suspense(s, payment_id=time_ordered_id(), client=n.client, amount=n.amount, currency=n.currency,
                           paid_at=n.paid_at, source="gateway", method=n.method,
                           reference=n.link_token or n.account_ref, reason="currency_mismatch", now=now,
                           gateway=gateway, external_id=n.payment_id, content_sha256=content.recorded)
    return WebhookOutcome(status="unmatched", payment_id=n.payment_id)


def client_takes(copy: ClientCopy | None, n: WebhookIn, *, now: dt.datetime) -> None:
    """Refuses a payment for a client company this service does not know, dated after `now` when it is received
    (refuse_if_future), or, in the client company's currency, with more decimals than it has. One in another
    currency is not refused: the caller holds it in suspense (_hold_in_another_currency)."""
    if copy is None:
        raise NotFound(f"client company {n.client!r}")
    refuse_if_future(n.paid_at, now)
    if n.amount is not None and n.currency == copy.currency:
        refuse_if_not_in_minor_units(n.amount, n.currency)


def rejection_sample(raw: bytes, signature: str | None) -> RejectionSample:
    """What a refused webhook looked like, for an operator comparing sources."""
    return RejectionSample(body_bytes=len(raw), body_sha256=hashlib.sha256(raw).hexdigest()[:16],
                           signature_header_chars=None if signature is None else len(signature))


async def record_rejection(db: Database, *, gateway: str, reason: str, source: str | None, raw: bytes,
                           signature: str | None, now: dt.datetime, max_rows: int) -> None:
    """Counts a webhook refused before it was read (its signature did not verify)."""
    async with db.transaction() as s:
        await rejections_store.record_webhook_rejection(s, gateway=gateway, reason=reason, source=source,
                                             sample=rejection_sample(raw, signature), now=now, max_rows=max_rows)


async def rejections(db: Database, *, before: tuple[dt.datetime, int] | None, limit: int,
                     clients: tuple[str, ...] | None = None) -> list[WebhookRejectionOut]:
    async with db.transaction() as s:
        return await rejections_store.list_webhook_rejections(s, before=before, limit=limit, clients=clients)
