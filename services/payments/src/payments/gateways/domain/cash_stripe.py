"""Stripe OXXO vouchers as documented: the PaymentIntent that issues one and the voucher its next_action shows."""

# https://docs.stripe.com/payments/oxxo/accept-a-payment and https://docs.stripe.com/api/payment_intents/create:
# POST https://api.stripe.com/v1/payment_intents, form-encoded, `Authorization: Bearer <secret key>`,
# `Idempotency-Key`; amount (minor units), currency mxn, payment_method_types[]=oxxo,
# payment_method_data[type]=oxxo with billing_details[name] and [email] (OXXO requires both), confirm=true,
# payment_method_options[oxxo][expires_after_days] (1 to 7 calendar days: the voucher expires at 23:59
# America/Mexico_City of the last), metadata[reference] (our reference: what payment_intent.succeeded carries back).
# The answer is the PaymentIntent, status requires_action, next_action {type oxxo_display_details,
# oxxo_display_details {number, expires_after (UNIX time), hosted_voucher_url}}. Errors are
# `{"error": {"type", "code", "decline_code", "message"}}` with 400/402 (a refusal) or 429/5xx (try later).

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from payments.gateways.domain.cash import (
    CashRefused,
    CashRequest,
    IssuedVoucher,
    two_decimals,
    voucher_reference,
    voucher_url,
)
from payments.gateways.domain.notifications import (
    MalformedNotification,
    epoch_seconds,
    load_object,
    obj,
    required_text,
    text,
)
from payments.gateways.domain.stripe import exponent
from recaudo_common.events import CashVoucher

API = "https://api.stripe.com"
# Mexico City keeps UTC-6 all year since 2022 (no daylight saving): fixed, so no time-zone database is needed.
MEXICO_CITY = dt.timezone(dt.timedelta(hours=-6))
MAX_DAYS, MIN_DAYS = 7, 1


def expires_after_days(expires_at: dt.datetime, now: dt.datetime) -> int:
    """The calendar days (Mexico City) from now to the expiry, within Stripe's 1 to 7: the voucher then lasts until
    23:59 of the expiry's day, or of the 7th day when the expiry is later."""
    days = (expires_at.astimezone(MEXICO_CITY).date() - now.astimezone(MEXICO_CITY).date()).days
    return max(MIN_DAYS, min(MAX_DAYS, days))


def minor_units(request: CashRequest) -> int:
    amount = two_decimals(request.amount).scaleb(exponent(request.currency))
    if amount != amount.to_integral_value():
        raise ValueError(f"{request.amount} is not a whole number of {request.currency} minor units")
    return int(amount)


def intent_form(request: CashRequest, *, now: dt.datetime) -> bytes:
    """The PaymentIntent's form body (application/x-www-form-urlencoded)."""
    payer = request.payer
    assert payer is not None and payer.full_name and payer.email  # check_request refused a request without them
    return urlencode([
        ("amount", str(minor_units(request))),
        ("currency", request.currency.lower()),
        ("confirm", "true"),
        ("payment_method_types[]", "oxxo"),
        ("payment_method_data[type]", "oxxo"),
        ("payment_method_data[billing_details][name]", payer.full_name),
        ("payment_method_data[billing_details][email]", payer.email),
        ("payment_method_options[oxxo][expires_after_days]", str(expires_after_days(request.expires_at, now))),
        ("description", request.description[:255]),
        ("metadata[reference]", request.reference),
    ]).encode("ascii")


def refusal(raw: bytes) -> CashRefused:
    """An error answer as a refusal by its decline_code or code (never its message)."""
    try:
        error = obj(load_object(raw), "error")
    except MalformedNotification:
        return CashRefused("stripe_error")
    for key in ("decline_code", "code", "type"):
        value = text(error, key, required=False, max_len=64)
        if value and value.replace("_", "").isalnum():
            return CashRefused(f"stripe_{value}")
    return CashRefused("stripe_error")


def read_voucher(raw: bytes, *, network: str, reference: str) -> IssuedVoucher:
    """The confirmed PaymentIntent as a voucher; one not waiting for the OXXO payment is a refusal."""
    intent = load_object(raw)
    if text(intent, "object", required=False) not in (None, "payment_intent"):
        raise MalformedNotification("the answer is not a payment_intent")
    intent_id = required_text(intent, "id", max_len=255)
    if text(obj(intent, "metadata", required=False), "reference", required=False) not in (None, reference):
        raise MalformedNotification("the payment intent carries another reference")
    status = required_text(intent, "status", max_len=64)
    action = obj(intent, "next_action", required=False)
    if status != "requires_action" or text(action, "type", required=False) != "oxxo_display_details":
        last_error = obj(intent, "last_payment_error", required=False)
        code = text(last_error, "code", required=False, max_len=64) or status
        raise CashRefused(f"stripe_{code}" if code.replace("_", "").isalnum() else "stripe_declined")
    details = obj(action, "oxxo_display_details")
    number = voucher_reference(details.get("number"))
    if number is None:
        raise MalformedNotification("oxxo_display_details has no number")
    after = details.get("expires_after")
    expires = (epoch_seconds(after, "expires_after")
               if isinstance(after, int) and not isinstance(after, bool) and 0 < after < 10**11 else None)
    return IssuedVoucher(gateway_payment_id=intent_id, voucher=CashVoucher(
        network=network, reference=number, expires_at=expires,
        voucher_url=voucher_url(details.get("hosted_voucher_url"))))
