"""The checkout ticket: what the debtor page (outreach) hands payments when a verified debtor chooses to pay, as a
signed, short-lived token in the browser's redirect to `/checkout/{ticket}`. Payments trusts its account, amount
and method because the platform's link secret signed them, and asks nobody else (services share no calls)."""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Literal, get_args

from recaudo_common.payment_links import sign, signed

# ':' is outside base64url: no payment link's or unsubscribe link's payload starts with this label, so a ticket's
# signature never passes for theirs (the same secret signs all three kinds).
LABEL = "checkout:"
TICKET_TTL = dt.timedelta(minutes=30)  # long enough to choose a method at the gateway, short enough to be stale
MAX_TICKET_CHARS = 1200

CheckoutMethod = Literal["online", "cash"]  # a hosted checkout (card, PSE, Nequi...) or a cash voucher
CHECKOUT_METHODS: tuple[str, ...] = get_args(CheckoutMethod)


@dataclass(frozen=True)
class CheckoutTicket:
    """A verified debtor's request to pay `amount` of the client company's account by `method`. `link_token` is
    the payment link the debtor came by (the outcome page leads back to it); `nonce` makes one click one checkout,
    however often the browser repeats the redirect."""

    client: str
    account_ref: str
    link_token: str
    amount: Decimal
    currency: str
    method: CheckoutMethod
    nonce: str
    expires_at: dt.datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_ticket(ticket: CheckoutTicket, secret: str) -> str:
    body = _b64(json.dumps({
        "c": ticket.client, "a": ticket.account_ref, "l": ticket.link_token, "m": str(ticket.amount),
        "cur": ticket.currency, "k": ticket.method, "n": ticket.nonce, "x": int(ticket.expires_at.timestamp()),
    }, separators=(",", ":")).encode())
    return f"{body}.{sign(LABEL + body, secret)}"


def read_ticket(token: str, *, secret: str, now: dt.datetime) -> CheckoutTicket | None:
    """The ticket's request, or None when it is malformed, forged, or expired."""
    if len(token) > MAX_TICKET_CHARS or token.count(".") != 1:
        return None
    body, signature = token.split(".")
    if not signed(LABEL + body, signature, secret):
        return None
    try:
        raw = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        method = raw["k"]
        if method not in CHECKOUT_METHODS:
            return None
        ticket = CheckoutTicket(
            client=str(raw["c"]), account_ref=str(raw["a"]), link_token=str(raw["l"]), amount=Decimal(raw["m"]),
            currency=str(raw["cur"]), method=method, nonce=str(raw["n"]),
            expires_at=dt.datetime.fromtimestamp(int(raw["x"]), dt.UTC))
    except (ValueError, KeyError, TypeError, InvalidOperation):
        return None
    if now >= ticket.expires_at or not ticket.amount.is_finite() or ticket.amount <= 0:
        return None
    return ticket
