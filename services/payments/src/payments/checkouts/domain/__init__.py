"""Checkouts' pure rules: the platform's payment reference, which gateway accounts can take a debtor to a hosted
checkout, and what state a gateway payment's notification leaves a checkout in. No I/O."""

from __future__ import annotations

import base64
import datetime as dt
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

CheckoutStatus = Literal["created", "pending", "approved", "declined", "expired"]
CheckoutMethod = Literal["online", "cash"]

# "RC" and 20 base32 characters (100 random bits): unguessable, unique per order as PayU wants, and of letters and
# digits only (PayU refuses special characters in referenceCode; Wompi, Mercado Pago and Stripe take it as it is).
REFERENCE = re.compile(r"RC[A-Z2-7]{20}")
# How long a hosted checkout stays payable: Stripe takes 30 minutes to 24 hours; an hour lets a debtor finish PSE.
CHECKOUT_TTL = dt.timedelta(hours=1)
# How long a cash voucher stays payable: a few days to reach a cash point (PayU allows 7, Stripe's OXXO 1 to 7).
CASH_TTL = dt.timedelta(days=3)

# What each kind of gateway account needs to open a hosted checkout, besides what notifications need.
CHECKOUT_NEEDS: dict[str, tuple[str, ...]] = {
    "wompi": ("public_key", "integrity_secret"),
    "payu": ("api_key", "merchant_id", "account_id"),
    "mercadopago": ("access_token",),
    "stripe": ("secret_key",),
}

# A notified gateway payment state -> the checkout's state. A void takes back what was approved: declined.
FOLLOWS: dict[str, CheckoutStatus] = {"approved": "approved", "declined": "declined", "voided": "declined",
                                      "expired": "expired", "pending": "pending"}


def new_reference() -> str:
    return "RC" + base64.b32encode(secrets.token_bytes(15)).decode()[:20]


def is_reference(value: str | None) -> bool:
    return value is not None and REFERENCE.fullmatch(value) is not None


def checkout_capable(kind: str, given: Mapping[str, str | None]) -> bool:
    """Whether an account of `kind` with these settings and opened credentials can open a hosted checkout."""
    return all(given.get(name) for name in CHECKOUT_NEEDS.get(kind, ("-",)))


def next_status(current: CheckoutStatus, notified: str) -> CheckoutStatus | None:
    """The state a notification moves a checkout to, or None when it stays. An approved checkout stays approved
    whatever late or out-of-order delivery says, except the gateway's void (money taken back: declined); a
    declined or expired one may still be approved (PayU approves a reference after declining an attempt)."""
    target = FOLLOWS.get(notified)
    if target is None or target == current:
        return None
    if current == "approved" and notified != "voided":
        return None
    if current in ("declined", "expired") and target == "pending":
        return None
    return target


@dataclass(frozen=True)
class Voucher:
    """A cash voucher as the debtor takes it to the cash point (filled by the cash-voucher flow)."""

    network: str
    reference: str
    expires_at: dt.datetime | None
    voucher_url: str | None


@dataclass(frozen=True)
class Checkout:
    """One debtor's checkout: where it sends the money (the account) and through which gateway account."""

    reference: str
    client: str
    account_ref: str
    gateway_account: str
    gateway: str
    method: CheckoutMethod
    amount: Decimal
    currency: str
    status: CheckoutStatus
    gateway_payment_id: str | None
    gateway_url: str | None
    voucher: Voucher | None
    expires_at: dt.datetime | None
    link_token: str
    created_at: dt.datetime
    updated_at: dt.datetime
