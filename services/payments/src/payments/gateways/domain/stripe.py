"""Stripe as documented: `Stripe-Signature` and the Checkout, refund and dispute events a collection reads."""

# Disputes (https://docs.stripe.com/disputes, and the Dispute object, https://docs.stripe.com/api/disputes/object):
# a formal dispute "immediately reverses the payment" and opens as `needs_response` (charge.dispute.created; the
# withdrawal is charge.dispute.funds_withdrawn too: one chargeback, keyed by the dispute's id); an inquiry or
# retrieval opens as `warning_needs_response` and "unlike a formal dispute, no funds have been withdrawn", so it
# takes nothing back until funds_withdrawn says it escalated. "If the dispute is found in your favor, the disputed
# amount [...] is returned": charge.dispute.funds_reinstated, "funds are reinstated to your account after a dispute
# is closed".

# Signatures (https://docs.stripe.com/webhooks#verify-manually; stripe-python's stripe/_webhook.py):
# `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...][,v0=...]`, v1 being HMAC-SHA256 (key: the endpoint's
# signing secret) of "{t}.{raw body}". Several v1 appear while a secret rolls: any match counts; v0 and other schemes
# are ignored. The timestamp is refused beyond the tolerance (300 s by default, as Stripe's libraries) of the `now`
# passed in, either way.
#
# Amounts are in the currency's minor unit (https://docs.stripe.com/currencies#minor-units): zero-decimal currencies
# are whole units, the three-decimal ones thousandths, and ISK and UGX, though listed as zero-decimal, are written
# as two-decimal values "for backwards compatibility" (the page's special cases). Currencies come in lower case.

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from payments.gateways.domain.notifications import (
    GatewayPayment,
    GatewayReinstatement,
    GatewayReversal,
    JsonObject,
    MalformedNotification,
    Payer,
    PaymentStatus,
    UnverifiedNotification,
    currency_code,
    epoch_seconds,
    load_object,
    minor_units,
    obj,
    required_text,
    same_hex,
    text,
)

TOLERANCE = dt.timedelta(seconds=300)
COMPLETED: dict[str, PaymentStatus] = {"paid": "approved", "unpaid": "pending"}
# https://docs.stripe.com/currencies#zero-decimal (UGX left out: the special cases write it as two-decimal)
ZERO_DECIMAL = frozenset({"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "VND", "VUV",
                          "XAF", "XOF", "XPF"})
# https://docs.stripe.com/currencies#three-decimal
THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})
V1 = re.compile(r"[0-9a-fA-F]{64}")
MAX_HEADER_ITEMS = 32

# A Checkout Session's payment_status when it completes: paid now, or (bank debits, vouchers such as OXXO) later,
# confirmed by async_payment_succeeded or failed by async_payment_failed.
SESSION_EVENTS = {"checkout.session.completed", "checkout.session.async_payment_succeeded",
                  "checkout.session.async_payment_failed", "checkout.session.expired"}
# A PaymentIntent the platform created itself (an OXXO voucher, payments.checkouts.cash) has no Checkout Session:
# its outcome comes as payment_intent events (https://docs.stripe.com/payments/oxxo/accept-a-payment, "Handle
# post-payment events": succeeded once paid, payment_failed when the voucher expired unpaid).
INTENT_EVENTS: dict[str, PaymentStatus] = {"payment_intent.succeeded": "approved",
                                           "payment_intent.payment_failed": "declined",
                                           "payment_intent.canceled": "voided"}
DISPUTE_WITHDRAWN = {"charge.dispute.created", "charge.dispute.funds_withdrawn"}
DISPUTE_REINSTATED = "charge.dispute.funds_reinstated"
INQUIRY = "warning_"  # the statuses of an inquiry or retrieval: warning_needs_response, warning_under_review, ...


@dataclass(frozen=True, slots=True)
class StripeEvent:
    """A verified event: `effect` is the payment or reversal it means, None for a type a collection ignores."""

    event_id: str
    event_type: str
    livemode: bool | None
    signed_at: dt.datetime
    effect: GatewayPayment | GatewayReversal | GatewayReinstatement | None


def exponent(currency: str) -> int:
    """How many decimals Stripe's minor unit of this currency has."""
    code = currency.upper()
    return 0 if code in ZERO_DECIMAL else 3 if code in THREE_DECIMAL else 2


def major(amount: int, currency: str) -> Decimal:
    return Decimal(amount).scaleb(-exponent(currency))


def sign(raw: bytes, secret: str, timestamp: int) -> str:
    """The v1 of a body at a time: HMAC-SHA256 hex of "{t}.{body}" (the way Stripe signs; used by the local fake)."""
    return hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + raw, hashlib.sha256).hexdigest()


def verify_signature(raw: bytes, header: str | None, *, secrets: Sequence[str], now: dt.datetime,
                     tolerance: dt.timedelta = TOLERANCE) -> dt.datetime:
    """The signing time, once a v1 of the header matches the raw body under a current secret and the time is
    within the tolerance of `now`."""
    if not header or not header.strip():
        raise UnverifiedNotification("missing_signature", "Stripe-Signature is missing")
    timestamps: list[str] = []
    candidates: list[str] = []
    for item in header.split(",")[:MAX_HEADER_ITEMS]:
        key, _, value = item.strip().partition("=")
        if key == "t":
            timestamps.append(value)
        elif key == "v1" and V1.fullmatch(value):
            candidates.append(value)
    if len(timestamps) != 1 or not timestamps[0].isascii() or not timestamps[0].isdigit() or len(timestamps[0]) > 12:
        raise UnverifiedNotification("malformed_signature", "Stripe-Signature needs one t in UNIX seconds")
    if not candidates:
        raise UnverifiedNotification("malformed_signature", "Stripe-Signature has no v1 signature")
    timestamp = int(timestamps[0])
    if not any(same_hex(sign(raw, secret, timestamp), given, ignore_case=True)
               for secret in secrets for given in candidates):
        raise UnverifiedNotification("bad_signature", "no v1 matches this body under the signing secret")
    signed_at = dt.datetime.fromtimestamp(timestamp, dt.UTC)
    if abs(now - signed_at) > tolerance:
        seconds = int(tolerance.total_seconds())
        raise UnverifiedNotification("stale_signature", f"signed more than {seconds} s away from now")
    return signed_at


def read_event(raw: bytes, header: str | None, *, secrets: Sequence[str], now: dt.datetime,
               tolerance: dt.timedelta = TOLERANCE) -> StripeEvent:
    """Verifies an event and reads what it means for a collection."""
    signed_at = verify_signature(raw, header, secrets=secrets, now=now, tolerance=tolerance)
    event = load_object(raw)
    event_type = required_text(event, "type", max_len=128)
    data_object = obj(obj(event, "data"), "object")
    effect: GatewayPayment | GatewayReversal | GatewayReinstatement | None = None
    if event_type in SESSION_EVENTS:
        effect = session_payment(data_object, event_type)
    elif event_type in INTENT_EVENTS:
        effect = intent_payment(data_object, event_type)
    elif event_type == "charge.refunded":
        effect = refund(data_object)
    elif event_type in DISPUTE_WITHDRAWN:
        effect = dispute(data_object, event_type)
    elif event_type == DISPUTE_REINSTATED:
        effect = reinstatement(data_object, _created(event))
    livemode = event.get("livemode")
    return StripeEvent(event_id=required_text(event, "id", max_len=255), event_type=event_type,
                       livemode=livemode if isinstance(livemode, bool) else None, signed_at=signed_at, effect=effect)


def _id_of(parent: JsonObject, key: str) -> str | None:
    """An expandable reference: an id, or the expanded object's id."""
    value = parent.get(key)
    if isinstance(value, dict):
        return text(value, "id", required=False)
    return text(parent, key, required=False)


def _amount(parent: JsonObject, key: str, currency: str) -> Decimal:
    units = minor_units(parent, key)
    assert units is not None
    return major(units, currency)


def session_status(event_type: str, payment_status: str) -> PaymentStatus:
    if event_type == "checkout.session.async_payment_succeeded":
        return "approved"
    if event_type == "checkout.session.async_payment_failed":
        return "declined"
    if event_type == "checkout.session.expired":
        return "expired"
    # completed: paid now, or a delayed method still on its way; no_payment_required means nothing was or will be paid
    return COMPLETED.get(payment_status, "voided")


def session_payment(session: JsonObject, event_type: str) -> GatewayPayment:
    """A Checkout Session as the payment it collects; its PaymentIntent is the payment's id (refunds and disputes
    name it), the session's own id when it has none yet."""
    if text(session, "object", required=False) not in (None, "checkout.session"):
        raise MalformedNotification("a checkout.session event carries a checkout.session")
    session_id = required_text(session, "id")
    payment_status = required_text(session, "payment_status", max_len=32)
    currency = currency_code(text(session, "currency", max_len=3))
    metadata = obj(session, "metadata", required=False)
    details = obj(session, "customer_details", required=False)
    return GatewayPayment(
        gateway="stripe", payment_id=_id_of(session, "payment_intent") or session_id,
        reference=text(session, "client_reference_id", required=False) or text(metadata, "reference", required=False),
        status=session_status(event_type, payment_status), amount=_amount(session, "amount_total", currency),
        currency=currency, method=None, occurred_at=_created(session), gateway_status=payment_status,
        payer=Payer(email=text(details, "email", required=False), name=text(details, "name", required=False),
                    phone=text(details, "phone", required=False, max_len=32)))


def intent_payment(intent: JsonObject, event_type: str) -> GatewayPayment | None:
    """A PaymentIntent's outcome as its payment, only for an intent carrying metadata.reference (one the platform
    created): a Checkout Session's intent is the session's events' to report, and without our reference it would
    reach suspense before the session's event names the checkout (both share the intent's id, so either is booked
    once)."""
    if text(intent, "object", required=False) not in (None, "payment_intent"):
        raise MalformedNotification("a payment_intent event carries a payment_intent")
    reference = text(obj(intent, "metadata", required=False), "reference", required=False)
    if reference is None:
        return None
    status = INTENT_EVENTS[event_type]
    currency = currency_code(text(intent, "currency", max_len=3))
    received = "amount_received" if status == "approved" else "amount"
    types = intent.get("payment_method_types")
    method = types[0] if isinstance(types, list) and types and isinstance(types[0], str) else None
    return GatewayPayment(
        gateway="stripe", payment_id=required_text(intent, "id"), reference=reference, status=status,
        amount=_amount(intent, received, currency), currency=currency, method=method and method[:32],
        occurred_at=_created(intent),
        gateway_status=text(intent, "status", required=False, max_len=32))


def refund(charge: JsonObject) -> GatewayReversal:
    """A charge.refunded: `amount_refunded` is all refunded of the charge so far (each partial refund sends the
    event again, larger), so the reversal is cumulative and keyed by the charge and that total."""
    charge_id = required_text(charge, "id")
    currency = currency_code(text(charge, "currency", max_len=3))
    refunded_minor = minor_units(charge, "amount_refunded")
    assert refunded_minor is not None
    return GatewayReversal(
        gateway="stripe", reversal_id=f"{charge_id}:refunded:{refunded_minor}",
        refers_to=_id_of(charge, "payment_intent") or charge_id, kind="refunded",
        amount=major(refunded_minor, currency), currency=currency, cumulative=True, occurred_at=_created(charge),
        gateway_status="refunded" if charge.get("refunded") is True else "partially_refunded")


def dispute(disputed: JsonObject, event_type: str) -> GatewayReversal | None:
    """A dispute that withdrew its amount: a chargeback keyed by the dispute (created and funds_withdrawn are the same
    one). An inquiry's creation withdraws nothing (None)."""
    dispute_id, refers_to, currency, status = _disputed(disputed)
    if event_type == "charge.dispute.created" and status is not None and status.startswith(INQUIRY):
        return None
    return GatewayReversal(
        gateway="stripe", reversal_id=dispute_id, refers_to=refers_to, kind="charged_back",
        amount=_amount(disputed, "amount", currency), currency=currency, occurred_at=_created(disputed),
        gateway_status=status)


def reinstatement(disputed: JsonObject, reinstated_at: dt.datetime | None) -> GatewayReinstatement:
    """A charge.dispute.funds_reinstated: the disputed amount comes back, the dispute decided for the merchant, when
    the event happened (the event's `created`, not the dispute's: it opened earlier)."""
    dispute_id, refers_to, currency, status = _disputed(disputed)
    return GatewayReinstatement(
        gateway="stripe", dispute_id=dispute_id, refers_to=refers_to, amount=_amount(disputed, "amount", currency),
        currency=currency, occurred_at=reinstated_at, gateway_status=status)


def _disputed(disputed: JsonObject) -> tuple[str, str, str, str | None]:
    """A Dispute's id, the payment it disputes (its PaymentIntent, else its charge), currency and status."""
    if text(disputed, "object", required=False) not in (None, "dispute"):
        raise MalformedNotification("a charge.dispute event carries a dispute")
    dispute_id = required_text(disputed, "id")
    currency = currency_code(text(disputed, "currency", max_len=3))
    refers_to = _id_of(disputed, "payment_intent") or _id_of(disputed, "charge")
    if refers_to is None:
        raise MalformedNotification("a dispute names its charge")
    return dispute_id, refers_to, currency, text(disputed, "status", required=False, max_len=64)


def _created(resource: JsonObject) -> dt.datetime | None:
    created = resource.get("created")
    if created is None:
        return None
    if isinstance(created, bool) or not isinstance(created, int) or not 0 <= created < 10**11:
        raise MalformedNotification("created must be a UNIX time")
    return epoch_seconds(created, "created")
