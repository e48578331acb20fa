"""Wompi Web Checkout as documented: the browser is sent, with a GET, to Wompi's hosted checkout carrying the
payment and its integrity signature (https://docs.wompi.co/docs/colombia/widget-checkout-web/)."""

# The page's "Web Checkout" form is `<form action="https://checkout.wompi.co/p/" method="GET">` with the mandatory
# fields public-key, currency, amount-in-cents, reference, signature:integrity and the optional redirect-url and
# expiration-time (ISO 8601 UTC; when given it is signed too, between the currency and the secret). One URL for both
# environments: the public key's prefix (pub_test_ / pub_prod_) says which. A GET form sends its fields as the
# query string, so the redirect below is what the browser would send. Customer data (customer-data:*) is optional
# and personal: never sent (the debtor types it at Wompi if Wompi asks).

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from urllib.parse import urlencode

from payments.gateways.domain.wompi import amount_in_cents, expiration_iso, integrity_signature

CHECKOUT_URL = "https://checkout.wompi.co/p/"


def checkout_fields(*, public_key: str, integrity_secret: str, reference: str, amount: Decimal, currency: str,
                    redirect_url: str, expires_at: dt.datetime | None) -> list[tuple[str, str]]:
    """The Web Checkout form's fields, in the documented order."""
    cents = amount_in_cents(amount)
    expiration = expiration_iso(expires_at) if expires_at is not None else None
    fields = [("public-key", public_key), ("currency", currency), ("amount-in-cents", str(cents)),
              ("reference", reference),
              ("signature:integrity", integrity_signature(reference=reference, amount_in_cents=cents,
                                                          currency=currency, integrity_secret=integrity_secret,
                                                          expiration_time=expiration)),
              ("redirect-url", redirect_url)]
    if expiration is not None:
        fields.append(("expiration-time", expiration))
    return fields


def checkout_url(fields: list[tuple[str, str]], base_url: str = CHECKOUT_URL) -> str:
    return f"{base_url}?{urlencode(fields)}"
