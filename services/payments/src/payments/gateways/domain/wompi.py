"""Wompi (Colombia) as documented: the event checksum of its webhook and Web Checkout's integrity signature."""

# Events (https://docs.wompi.co/docs/colombia/eventos/): the body carries `signature.properties`, paths into `data`
# whose values, concatenated in that order, then `timestamp`, then the events secret, are hashed with SHA-256; the hex
# digest is `signature.checksum` and the `X-Event-Checksum` header (Wompi writes it in upper case). The checksum covers
# only the listed properties, so only they are trusted; the list is read from each event, never assumed. Wompi re-sends
# the same signed body for up to 24 hours, so the timestamp is no freshness guarantee: replays are stopped by the
# transaction id, not by age.
#
# Integrity (https://docs.wompi.co/docs/colombia/widget-checkout-web/, step 3): SHA-256 hex of
# reference + amount in cents + currency (+ expiration time when one is given) + integrity secret.

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from decimal import Decimal

from payments.gateways.domain.notifications import (
    ALL_FIELDS,
    GatewayPayment,
    Json,
    JsonObject,
    MalformedNotification,
    Payer,
    PaymentStatus,
    UnverifiedNotification,
    currency_code,
    instant,
    load_object,
    minor_units,
    obj,
    required_text,
    same_hex,
    text,
)

# https://docs.wompi.co/docs/colombia/seguimiento-de-transacciones/: PENDING until final; ERROR is the payment
# method's own failure, so nothing was paid.
STATUSES: dict[str, PaymentStatus] = {
    "APPROVED": "approved", "DECLINED": "declined", "VOIDED": "voided", "ERROR": "declined", "PENDING": "pending",
}
PROPERTY = re.compile(r"[A-Za-z0-9_]{1,64}(\.[A-Za-z0-9_]{1,64}){0,7}")
MAX_PROPERTIES = 32
HEX64 = re.compile(r"[0-9A-Fa-f]{64}")
# The payment's fields each signed property vouches for.
VOUCHES = {"transaction.id": "payment_id", "transaction.reference": "reference", "transaction.status": "status",
           "transaction.amount_in_cents": "amount", "transaction.currency": "currency"}


@dataclass(frozen=True, slots=True)
class WompiEvent:
    """A verified event; `payment` is its transaction when it is a `transaction.updated` (other kinds, such as
    `nequi_token.updated`, carry no payment)."""

    event: str
    environment: str | None
    signed_at: int
    payment: GatewayPayment | None


def event_checksum(values: list[str], timestamp: int, events_secret: str) -> str:
    """SHA-256 hex of the property values in order, then the timestamp, then the secret."""
    return hashlib.sha256(("".join(values) + str(timestamp) + events_secret).encode("utf-8")).hexdigest()


def integrity_signature(*, reference: str, amount_in_cents: int, currency: str, integrity_secret: str,
                        expiration_time: str | dt.datetime | None = None) -> str:
    """The `signature:integrity` of a Web Checkout or Widget: SHA-256 hex of
    "<reference><amount in cents><currency>[<expiration time>]<integrity secret>"."""
    if isinstance(expiration_time, dt.datetime):
        if expiration_time.tzinfo is None:
            raise ValueError("an expiration time must be timezone-aware")
        expiration_time = expiration_iso(expiration_time)
    concatenated = f"{reference}{amount_in_cents}{currency}{expiration_time or ''}{integrity_secret}"
    return hashlib.sha256(concatenated.encode("utf-8")).hexdigest()


def expiration_iso(at: dt.datetime) -> str:
    """Wompi's `expiration-time` form: ISO 8601 in UTC with milliseconds and a Z (2023-06-09T20:28:50.000Z)."""
    utc = at.astimezone(dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def amount_in_cents(amount: Decimal) -> int:
    """A peso amount as the cents Wompi wants; an amount with fractions of a cent is refused."""
    cents = amount * 100
    if cents != cents.to_integral_value() or cents < 0:
        raise ValueError(f"{amount} is not a whole number of cents")
    return int(cents)


def property_value(data: JsonObject, path: str) -> str:
    """The text of the value at a dotted path into `data`, as it enters the checksum. Only strings and whole numbers
    appear in Wompi's signed properties; anything else cannot be concatenated the way Wompi does and is refused."""
    node: Json = data
    for step in path.split("."):
        if not isinstance(node, dict) or step not in node:
            raise UnverifiedNotification("malformed_signature", f"the signed property {path} is not in the event")
        node = node[step]
    if isinstance(node, str):
        return node
    if isinstance(node, int) and not isinstance(node, bool):
        return str(node)
    raise UnverifiedNotification("malformed_signature", f"the signed property {path} is not text or a whole number")


def verify_event(raw: bytes, *, events_secret: str, checksum_header: str | None = None) -> JsonObject:
    """The event's JSON once its checksum verifies: against the header when one came and against the body's own
    `signature.checksum` when it has one (both must agree when both are there), hex compared without regard to case."""
    event = load_object(raw)
    signature = event.get("signature")
    if not isinstance(signature, dict):
        raise UnverifiedNotification("missing_signature", "the event has no signature object")
    properties, body_checksum = signature.get("properties"), signature.get("checksum")
    timestamp = event.get("timestamp")
    if (not isinstance(properties, list) or not 0 < len(properties) <= MAX_PROPERTIES
            or not all(isinstance(p, str) and PROPERTY.fullmatch(p) for p in properties)):
        raise UnverifiedNotification("malformed_signature", "signature.properties must list the signed paths")
    if isinstance(timestamp, bool) or not isinstance(timestamp, int) or not 0 <= timestamp < 10**12:
        raise UnverifiedNotification("malformed_signature", "timestamp must be a UNIX time")
    given = [c for c in (checksum_header, body_checksum) if c is not None]
    if not given:
        raise UnverifiedNotification("missing_signature", "neither X-Event-Checksum nor signature.checksum came")
    if not all(isinstance(c, str) and HEX64.fullmatch(c) for c in given):
        raise UnverifiedNotification("malformed_signature", "a checksum is 64 hexadecimal digits")
    data = event.get("data")
    if not isinstance(data, dict):
        raise UnverifiedNotification("malformed_signature", "the event has no data object")
    expected = event_checksum([property_value(data, p) for p in properties if isinstance(p, str)], timestamp,
                              events_secret)
    if not all(isinstance(c, str) and same_hex(expected, c, ignore_case=True) for c in given):
        raise UnverifiedNotification("bad_signature", "the checksum does not verify with this events secret")
    return event


def read_event(raw: bytes, *, events_secret: str, checksum_header: str | None = None) -> WompiEvent:
    """Verifies an event and reads it; a `transaction.updated` becomes the transaction's payment."""
    event = verify_event(raw, events_secret=events_secret, checksum_header=checksum_header)
    kind = required_text(event, "event", max_len=64)
    timestamp = event["timestamp"]
    assert isinstance(timestamp, int)  # verify_event checked it
    payment = None
    if kind == "transaction.updated":
        payment = transaction_payment(obj(obj(event, "data"), "transaction"), signed=_signed_paths(event))
    return WompiEvent(event=kind, environment=text(event, "environment", required=False, max_len=16),
                      signed_at=timestamp, payment=payment)


def _signed_paths(event: JsonObject) -> frozenset[str]:
    signature = event["signature"]
    assert isinstance(signature, dict)
    properties = signature["properties"]
    assert isinstance(properties, list)
    return frozenset(p for p in properties if isinstance(p, str))


def transaction_payment(transaction: JsonObject, *, signed: frozenset[str] | None = None) -> GatewayPayment:
    """A Wompi transaction (an event's `data.transaction`, or the API's `GET /v1/transactions/{id}` answer's `data`)
    as a payment: cents become pesos. When `signed` is given (the event's signed properties), the id, status and
    amount must be among them, since only what the checksum covers can be trusted; the reference and currency are
    often not (Wompi's own example signs neither), and `authenticated` says so."""
    if signed is not None:
        unsigned = {"transaction.id", "transaction.status", "transaction.amount_in_cents"} - signed
        if unsigned:
            raise UnverifiedNotification("malformed_signature",
                                         f"the checksum does not cover {', '.join(sorted(unsigned))}")
    gateway_status = required_text(transaction, "status", max_len=32)
    status = STATUSES.get(gateway_status)
    if status is None:
        raise MalformedNotification(f"status {gateway_status!r} is not one Wompi documents")
    cents = minor_units(transaction, "amount_in_cents")
    assert cents is not None
    customer = obj(transaction, "customer_data", required=False)
    payer = Payer(email=text(transaction, "customer_email", required=False),
                  name=text(customer, "full_name", required=False),
                  phone=text(customer, "phone_number", required=False, max_len=32),
                  id_type=text(customer, "legal_id_type", required=False, max_len=16),
                  id_number=text(customer, "legal_id", required=False, max_len=32))
    return GatewayPayment(
        gateway="wompi", payment_id=required_text(transaction, "id", max_len=64),
        reference=text(transaction, "reference", required=False), status=status,
        amount=Decimal(cents).scaleb(-2), currency=currency_code(text(transaction, "currency", max_len=3)),
        method=text(transaction, "payment_method_type", required=False, max_len=32),
        occurred_at=instant(text(transaction, "finalized_at", required=False, max_len=40), "finalized_at")
        or instant(text(transaction, "created_at", required=False, max_len=40), "created_at"),
        gateway_status=gateway_status, payer=payer,
        authenticated=ALL_FIELDS if signed is None else frozenset(VOUCHES[p] for p in signed if p in VOUCHES))


def read_transaction(raw: bytes, *, expected_id: str) -> GatewayPayment:
    """The answer of `GET /v1/transactions/{id}` (`{"data": {...}}`) as a payment, every field vouched for by
    Wompi's API: how an event's unsigned reference or currency is confirmed before money is applied."""
    payment = transaction_payment(obj(load_object(raw), "data"))
    if payment.payment_id != expected_id:
        raise MalformedNotification("the API answered about another transaction")
    return payment
