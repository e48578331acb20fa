"""Mercado Pago as documented: the `x-signature` of its webhooks and the payment its API answers."""

# Webhooks (https://www.mercadopago.com.co/developers/es/docs/your-integrations/notifications/webhooks, "Validar
# origen de la notificación"): `x-signature: ts=<ts>,v1=<hex>`, v1 being HMAC-SHA256 (key: the application's secret
# signature) of the manifest `id:[data.id_url];request-id:[x-request-id_header];ts:[ts_header];`, where data.id comes
# from the query string, and any part absent from the notification is left out. The docs ask for data.id in lower case
# when it is alphanumeric; the official SDK (mercadopago/sdk-python, webhook/validator.py) signs it as received; both
# forms are accepted, each being an HMAC under the same secret. `ts` is in milliseconds in the docs' example and in
# seconds in older integrations: either is read, and neither is a freshness guarantee (MP retries for days with the
# same signature), so nothing is refused by age.
#
# The signature covers neither the body nor any amount or status: the notification only says "look at payment N".
# The payment is read from `GET {api_base_url}/v1/payments/{id}` with the access token
# (https://www.mercadopago.com.co/developers/es/reference/payments/_payments_id/get); only that answer is trusted.

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass

from payments.gateways.domain.notifications import (
    GatewayPayment,
    MalformedNotification,
    Payer,
    PaymentStatus,
    UnverifiedNotification,
    currency_code,
    instant,
    load_object,
    major_units,
    obj,
    required_text,
    same_hex,
    text,
)

# https://www.mercadopago.com.co/developers/es/docs/checkout-api/response-handling/collection-results
# authorized: approved but not captured yet; in_process: under review; in_mediation: the payer opened a dispute and
# the money is held. None of these is money the client company has.
STATUSES: dict[str, PaymentStatus] = {
    "approved": "approved", "pending": "pending", "authorized": "pending", "in_process": "pending",
    "in_mediation": "pending", "rejected": "declined", "cancelled": "voided", "refunded": "refunded",
    "charged_back": "charged_back",
}
DATA_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
PAYMENT_ID = re.compile(r"[0-9]{1,20}")
TS = re.compile(r"[0-9]{1,16}")
V1 = re.compile(r"[0-9a-fA-F]{64}")
REQUEST_ID = re.compile(r"[\x21-\x7e]{1,128}")  # printable ASCII (Mercado Pago sends a UUID)
# A ts above this is in milliseconds (10**11 seconds is the year 5138).
MILLISECONDS_FROM = 10**11


@dataclass(frozen=True, slots=True)
class VerifiedNotice:
    """A notification whose signature verified: `data_id` is the signed id (the one to fetch), `signed_at` what ts
    says, for the record only."""

    data_id: str | None
    request_id: str | None
    signed_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Notification:
    """What the (unsigned) body says: which topic and action; never trusted for money."""

    notification_id: str | None
    topic: str
    action: str | None
    data_id: str | None
    live_mode: bool | None


def manifest(*, data_id: str | None, request_id: str | None, ts: str) -> str:
    """The signed template with the parts present: id:…;request-id:…;ts:…;"""
    parts = ([f"id:{data_id}"] if data_id else []) + ([f"request-id:{request_id}"] if request_id else [])
    return ";".join([*parts, f"ts:{ts}"]) + ";"


def signature_header(header: str | None) -> tuple[str, list[str]]:
    """`ts` and the `v1` values of an `x-signature` header."""
    if not header or not header.strip():
        raise UnverifiedNotification("missing_signature", "x-signature is missing")
    ts: str | None = None
    hashes: list[str] = []
    for item in header.split(",")[:16]:
        key, _, value = item.partition("=")
        key, value = key.strip().lower(), value.strip()
        if key == "ts":
            ts = value
        elif key == "v1":
            hashes.append(value)
    if ts is None or not TS.fullmatch(ts):
        raise UnverifiedNotification("malformed_signature", "x-signature has no ts in digits")
    hashes = [h for h in hashes if V1.fullmatch(h)]
    if not hashes:
        raise UnverifiedNotification("malformed_signature", "x-signature has no v1 of 64 hex digits")
    return ts, hashes


def signed_at(ts: str) -> dt.datetime:
    """ts in seconds or milliseconds, as a UTC instant."""
    value = int(ts)
    seconds = value / 1000 if value >= MILLISECONDS_FROM else value
    try:
        return dt.datetime.fromtimestamp(seconds, dt.UTC)
    except (OverflowError, ValueError, OSError):
        raise UnverifiedNotification("malformed_signature", "ts is not a time any clock can show") from None


def verify_notification(*, x_signature: str | None, x_request_id: str | None, data_id: str | None,
                        secrets: Sequence[str]) -> VerifiedNotice:
    """Checks `x-signature` against each current secret (several while one rolls) and both documented forms of
    data.id; answers the signed data.id to fetch."""
    ts, hashes = signature_header(x_signature)
    request_id = (x_request_id or "").strip() or None
    data = (data_id or "").strip() or None
    if request_id is not None and not REQUEST_ID.fullmatch(request_id):
        raise UnverifiedNotification("malformed_signature", "x-request-id is not printable ASCII")
    if data is not None and not DATA_ID.fullmatch(data):
        raise UnverifiedNotification("malformed_signature", "data.id is not an id Mercado Pago issues")
    forms = [data] if data is None or data.lower() == data else [data.lower(), data]
    for secret in secrets:
        for form in forms:
            expected = hmac.new(secret.encode("utf-8"), manifest(data_id=form, request_id=request_id, ts=ts).encode(),
                                hashlib.sha256).hexdigest()
            if any(same_hex(expected, given, ignore_case=True) for given in hashes):
                return VerifiedNotice(data_id=data, request_id=request_id, signed_at=signed_at(ts))
    raise UnverifiedNotification("bad_signature", "x-signature does not verify with this secret")


def read_notification(raw: bytes) -> Notification:
    """The body of a webhook (`{"id", "type", "action", "data": {"id"}, "live_mode", ...}`), unsigned."""
    body = load_object(raw)
    live = body.get("live_mode")
    return Notification(notification_id=text(body, "id", required=False, max_len=64),
                        topic=required_text(body, "type", max_len=64), action=text(body, "action", required=False),
                        data_id=text(obj(body, "data", required=False), "id", required=False, max_len=64),
                        live_mode=live if isinstance(live, bool) else None)


def payment_path(data_id: str | None) -> str:
    """The API path of the payment a verified `payment` notification names (its id is digits: nothing else may
    reach the URL)."""
    if data_id is None or not PAYMENT_ID.fullmatch(data_id):
        raise MalformedNotification("a payment notification names a payment by its numeric id")
    return f"/v1/payments/{data_id}"


def read_payment(raw: bytes, *, expected_id: str | None = None) -> GatewayPayment:
    """The answer of `GET /v1/payments/{id}` as a payment; when `expected_id` is given the answer must be about it."""
    payment = load_object(raw)
    payment_id = required_text(payment, "id", max_len=20)
    if not PAYMENT_ID.fullmatch(payment_id):
        raise MalformedNotification("id must be a numeric payment id")
    if expected_id is not None and payment_id != expected_id:
        raise MalformedNotification("the API answered about another payment")
    gateway_status = required_text(payment, "status", max_len=32)
    status = STATUSES.get(gateway_status)
    if status is None:
        raise MalformedNotification(f"status {gateway_status!r} is not one Mercado Pago documents")
    refunded = payment.get("transaction_amount_refunded")
    payer = obj(payment, "payer", required=False)
    identification = obj(payer, "identification", required=False)
    phone = obj(payer, "phone", required=False)
    names = [n for n in (text(payer, "first_name", required=False), text(payer, "last_name", required=False)) if n]
    phone_number = "".join(p for p in (text(phone, "area_code", required=False, max_len=8),
                                       text(phone, "number", required=False, max_len=24)) if p)
    return GatewayPayment(
        gateway="mercadopago", payment_id=payment_id,
        reference=text(payment, "external_reference", required=False), status=status,
        amount=major_units(payment.get("transaction_amount"), "transaction_amount"),
        currency=currency_code(text(payment, "currency_id", max_len=3)),
        method=text(payment, "payment_type_id", required=False, max_len=32),
        occurred_at=instant(text(payment, "date_approved", required=False, max_len=40), "date_approved")
        or instant(text(payment, "date_created", required=False, max_len=40), "date_created"),
        gateway_status=gateway_status,
        refunded_amount=None if refunded is None else major_units(refunded, "transaction_amount_refunded"),
        payer=Payer(email=text(payer, "email", required=False), name=" ".join(names) or None,
                    phone=phone_number or None, id_type=text(identification, "type", required=False, max_len=16),
                    id_number=text(identification, "number", required=False, max_len=32)))
