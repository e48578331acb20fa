"""Stripe Checkout as documented: a Checkout Session created with the account's secret key, whose url the browser
is sent to (https://docs.stripe.com/api/checkout/sessions/create)."""

# POST {api}/v1/checkout/sessions, form-encoded (https://docs.stripe.com/api: "accepts form-encoded request bodies";
# nested parameters as bracketed keys, as stripe-python encodes them),
# `Authorization: Bearer <secret key>`, `Idempotency-Key` (https://docs.stripe.com/api/idempotent_requests: a retry
# with the same key answers the same session; ours is the payment reference, one session per checkout).
# mode=payment; line_items[0][price_data][currency] in lower case, [unit_amount] in the currency's minor unit
# (https://docs.stripe.com/currencies#minor-units: zero-decimal currencies are whole units), [product_data][name],
# line_items[0][quantity]=1; client_reference_id and metadata[reference] our reference (both come back on
# checkout.session.* events); success_url with the literal {CHECKOUT_SESSION_ID} Stripe fills in
# (https://docs.stripe.com/payments/checkout/custom-success-page); cancel_url; expires_at (Unix seconds, 30 minutes
# to 24 hours ahead). The answer has the session's id and url. No customer e-mail: Checkout asks for it.

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from payments.gateways.domain.notifications import MalformedNotification, load_object, required_text
from payments.gateways.domain.stripe import exponent

PATH = "/v1/checkout/sessions"
SESSION_ID = "{CHECKOUT_SESSION_ID}"


def unit_amount(amount: Decimal, currency: str) -> int:
    """The amount in Stripe's minor unit of the currency; refused when it has finer fractions than that."""
    minor = amount.scaleb(exponent(currency))
    if minor != minor.to_integral_value() or minor <= 0:
        raise ValueError(f"{amount} {currency} is not a whole number of Stripe's minor units")
    return int(minor)


def session_fields(*, reference: str, name: str, amount: Decimal, currency: str, success_url: str,
                   cancel_url: str, expires_at: dt.datetime) -> list[tuple[str, str]]:
    """The Checkout Session's parameters as form fields, in the order Stripe's documentation lists them."""
    return [
        ("mode", "payment"),
        ("line_items[0][price_data][currency]", currency.lower()),
        ("line_items[0][price_data][unit_amount]", str(unit_amount(amount, currency))),
        ("line_items[0][price_data][product_data][name]", name),
        ("line_items[0][quantity]", "1"),
        ("client_reference_id", reference),
        ("metadata[reference]", reference),
        ("success_url", success_url),
        ("cancel_url", cancel_url),
        ("expires_at", str(int(expires_at.timestamp()))),
    ]


def read_session(raw: bytes) -> tuple[str, str]:
    """(the session's id, its url) from the API's answer."""
    answer = load_object(raw)
    session_id = required_text(answer, "id")
    url = required_text(answer, "url", max_len=2000)
    if not url.startswith(("https://", "http://")):
        raise MalformedNotification("the session's url is not a web address")
    return session_id, url
