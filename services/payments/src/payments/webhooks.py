"""Verified gateway notifications (payments, refunds, chargebacks), each applied once forever per (gateway, id);
a redelivery with the same content is a duplicate, the same id with another content a conflict."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from payments import store
from payments.handlers import apply_payment, fingerprint
from payments.integrity import recorded_once
from payments.reversals import reverse
from recaudo_common.client_copy import get_client
from recaudo_common.db import Database
from recaudo_common.errors import ProblemError, conflict, not_found

# What a notification says about money: a redelivery that repeats these is the same payment (a gateway may stamp
# each delivery anew, so the times and the method are not compared); the same id saying otherwise is a conflict.
WHAT_IT_SAYS = ("type", "client", "amount", "currency", "account_ref", "link_token", "debtor_id", "refers_to")


async def receive_webhook(db: Database, *, gateway: str, body: dict[str, Any], now: dt.datetime,
                          link_secret: str | None = None) -> dict[str, Any]:
    """Applies a verified notification in one transaction. The unique indexes decide races between concurrent
    deliveries: the loser runs again, finds the winner's record and answers `duplicate`."""
    said = {field: body.get(field) for field in WHAT_IT_SAYS}
    if said["amount"] is not None:
        said["amount"] = str(Decimal(said["amount"]).quantize(Decimal("0.01")))  # 30000.0 is 30000.00
    content = fingerprint(said)

    async def attempt() -> dict[str, Any]:
        async with db.transaction() as s:
            return await _receive(s, gateway=gateway, body=body, content=content, now=now, link_secret=link_secret)

    return await recorded_once(attempt)


async def _receive(s: Any, *, gateway: str, body: dict[str, Any], content: str, now: dt.datetime,
                   link_secret: str | None) -> dict[str, Any]:
    client, external_id = body["client"], body["payment_id"]
    is_payment = body["type"] == "payment"
    earlier = await (store.gateway_payment if is_payment else store.gateway_reversal)(s, gateway, external_id)
    if earlier is not None:
        # Rows recorded before contents were hashed have none: their id alone decides, as it did then.
        if earlier["content_sha256"] not in (None, content):
            raise conflict("gateway_id_reused", f"this gateway already sent {body['type']} {external_id!r} with "
                                                "other content; nothing was applied")
        return {"status": "duplicate", "payment_id": external_id}
    if is_payment:
        copy = await get_client(s, store.SCHEMA, client)
        if copy is None:
            raise not_found(f"client company {client!r}")
        if body["currency"] != copy.currency:
            raise ProblemError(422, "invalid_currency", "Invalid currency",
                               f"payments for this client company are in {copy.currency}")
        result = await apply_payment(
            s, client=client, account_ref=body.get("account_ref"), debtor_id=body.get("debtor_id"),
            amount=Decimal(body["amount"]), currency=body["currency"],
            paid_at=dt.datetime.fromisoformat(body["paid_at"]), source="gateway", method=body.get("method"),
            reference=body.get("link_token"), now=now, gateway=gateway, external_id=external_id,
            link_secret=link_secret, content_sha256=content)
        return {**result, "payment_id": external_id}
    original = await store.gateway_payment(s, gateway, body["refers_to"])
    if original is None or original["client_slug"] != client:
        raise ProblemError(422, "unknown_payment", "Unknown payment",
                           f"{body['type']} refers to a payment this gateway never sent")
    amount = Decimal(body["amount"]) if body.get("amount") is not None else None
    result = await reverse(s, client=client, payment_id=original["id"], kind=body["type"], gateway=gateway,
                           external_id=external_id, reason=None, now=now, amount=amount, content_sha256=content)
    return {**result, "payment_id": external_id}
