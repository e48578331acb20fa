"""Mercado Pago Checkout Pro as documented: a preference created with the account's access token, whose init_point
the browser is sent to (https://www.mercadopago.com.co/developers/es/reference/preferences/_checkout_preferences/post,
https://www.mercadopago.com.co/developers/es/docs/checkout-pro/create-payment-preference)."""

# POST {api}/checkout/preferences, `Authorization: Bearer <access token>`, JSON: items (title, quantity, currency_id,
# unit_price), external_reference (our payment reference: the payment's external_reference, which the notification's
# payment lookup reads), back_urls (success, pending, failure) with auto_return "approved" (which needs back_urls.
# success), notification_url (the account's webhook) and expires / expiration_date_from / expiration_date_to
# ("2016-02-01T12:00:00.000-04:00"). The answer (201) has the preference's id, init_point and sandbox_init_point;
# test credentials (TEST-…) pay at the sandbox's. No payer: the debtor signs in or types it at Mercado Pago.

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from payments.gateways.domain.notifications import MalformedNotification, load_object, required_text

PATH = "/checkout/preferences"


def mp_time(at: dt.datetime) -> str:
    """2016-02-01T12:00:00.000-04:00: milliseconds and the offset, as the reference writes its dates."""
    if at.tzinfo is None:
        raise ValueError("a preference's dates must be timezone-aware")
    return at.isoformat(timespec="milliseconds")


def unit_price(amount: Decimal) -> float:
    """A JSON number: the API takes a float; refused when the float would not be the amount exactly."""
    number = float(amount)
    if Decimal(repr(number)) != amount:
        raise ValueError(f"{amount} is not exactly a JSON number")
    return number


def preference_body(*, reference: str, title: str, amount: Decimal, currency: str, return_url: str,
                    notification_url: str, now: dt.datetime, expires_at: dt.datetime) -> bytes:
    body: dict[str, Any] = {
        "items": [{"id": reference, "title": title, "quantity": 1, "currency_id": currency,
                   "unit_price": unit_price(amount)}],
        "external_reference": reference,
        "back_urls": {"success": return_url, "pending": return_url, "failure": return_url},
        "auto_return": "approved",
        "notification_url": notification_url,
        "expires": True,
        "expiration_date_from": mp_time(now),
        "expiration_date_to": mp_time(expires_at),
    }
    return json.dumps(body).encode()


def is_test_token(access_token: str) -> bool:
    return access_token.startswith("TEST-")


def read_preference(raw: bytes, *, test: bool) -> tuple[str, str]:
    """(the preference's id, where to send the browser) from the API's answer."""
    answer = load_object(raw)
    preference_id = required_text(answer, "id")
    url = required_text(answer, "sandbox_init_point" if test else "init_point", max_len=2000)
    if not url.startswith(("https://", "http://")):
        raise MalformedNotification("the preference's init_point is not a web address")
    return preference_id, url
