"""What a gateway's notification becomes once verified, how one is refused, and safe readers of its JSON."""

from __future__ import annotations

import datetime as dt
import hmac
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Literal

from recaudo_common.domain_errors import DomainError, Invalid

GatewayName = Literal["wompi", "mercadopago", "payu", "stripe"]
# What a payment's state means to the ledger: only `approved` applies money; `refunded` and `charged_back` take it
# back; the others apply nothing (`pending` is shown as pending).
PaymentStatus = Literal["approved", "declined", "voided", "expired", "pending", "refunded", "charged_back"]

# A notification is small; anything near this is not one (the door caps bodies too, this keeps the domain safe alone).
MAX_BODY_BYTES = 256 * 1024
# Larger than any payment a collections agency will see in any currency's minor units, small enough for NUMERIC.
MAX_MINOR_UNITS = 10**15
MAX_TEXT = 255

Json = None | bool | int | Decimal | str | list["Json"] | dict[str, "Json"]
JsonObject = dict[str, Json]

CURRENCY = re.compile(r"[A-Za-z]{3}")
# The fields of a GatewayPayment a gateway can vouch for.
ALL_FIELDS = frozenset({"payment_id", "reference", "status", "amount", "currency"})


class UnverifiedNotification(DomainError):
    """The signature is missing, malformed or wrong (or, for Stripe, stale): the notification is not the gateway's.
    The gateway's route answers 401 and applies nothing (the generic mapping of domain errors would say 422, so the
    route maps this one itself). `code` is one of missing_signature, malformed_signature, bad_signature,
    stale_signature, wrong_merchant."""

    default_title = "Notification not verified"


class MalformedNotification(Invalid):
    """The body is not of the shape the gateway documents (missing or mistyped fields, impossible values)."""

    default_title = "Malformed notification"

    def __init__(self, detail: str) -> None:
        super().__init__("malformed_notification", detail)


@dataclass(frozen=True, slots=True)
class Payer:
    """Who paid, as the gateway told it: personal data, kept apart from the payment and out of every repr."""

    email: str | None = field(default=None, repr=False)
    name: str | None = field(default=None, repr=False)
    phone: str | None = field(default=None, repr=False)
    id_type: str | None = field(default=None, repr=False)
    id_number: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class GatewayPayment:
    """A payment's state at a gateway. `payment_id` is the gateway's own id for it, the key that makes a redelivery
    a duplicate; `reference` is the reference the payer paid (one the platform issued, or an account's own);
    `amount` is in major units, `currency` in upper-case ISO 4217. `authenticated` names the fields the gateway
    vouched for (its signature covers them, or they came from its API): a field outside it may have been altered on
    the way, so the ledger must not trust it alone (Wompi signs only the properties an event lists; PayU does not
    sign `transaction_id`)."""

    gateway: GatewayName
    payment_id: str
    reference: str | None
    status: PaymentStatus
    amount: Decimal
    currency: str
    method: str | None = None
    occurred_at: dt.datetime | None = None
    gateway_status: str | None = None  # the gateway's own word for the status, for an operator
    refunded_amount: Decimal | None = None  # what the gateway says it has refunded of it in all, when it says
    # The gateway's id of this attempt when `payment_id` is the order's (PayU: transaction_id under reference_sale).
    attempt_id: str | None = None
    authenticated: frozenset[str] = ALL_FIELDS
    payer: Payer = field(default_factory=Payer, repr=False)


@dataclass(frozen=True, slots=True)
class GatewayReversal:
    """Money a gateway takes back from a payment it reported: a refund or a chargeback, whole or partial.
    `reversal_id` is the dedup key of this reversal; `refers_to` the `payment_id` of the payment it reverses.
    When `cumulative`, `amount` is all the gateway has refunded of that payment so far (Stripe's
    `amount_refunded`): the ledger books what it has not booked yet."""

    gateway: GatewayName
    reversal_id: str
    refers_to: str
    kind: Literal["refunded", "charged_back"]
    amount: Decimal
    currency: str
    cumulative: bool = False
    occurred_at: dt.datetime | None = None
    gateway_status: str | None = None


@dataclass(frozen=True, slots=True)
class GatewayReinstatement:
    """Money a gateway gives back after taking it in a chargeback: a dispute decided for the merchant. `dispute_id`
    is the `reversal_id` of the chargeback it undoes (and the dedup key of this reinstatement); `refers_to` the
    `payment_id` of the payment that was disputed; `amount` what the dispute was about, in major units."""

    gateway: GatewayName
    dispute_id: str
    refers_to: str
    amount: Decimal
    currency: str
    occurred_at: dt.datetime | None = None
    gateway_status: str | None = None


def same_hex(expected: str, given: str, *, ignore_case: bool = False) -> bool:
    """Constant-time comparison of two hex digests; anything not ASCII (a header is Latin-1 text) never matches."""
    if not given.isascii():
        return False
    if ignore_case:
        expected, given = expected.lower(), given.lower()
    return hmac.compare_digest(expected.encode("ascii"), given.encode("ascii"))


def load_object(raw: bytes) -> JsonObject:
    """A JSON object from raw bytes: numbers with a fraction kept exact as Decimal, NaN and Infinity refused,
    nesting too deep or a body too large refused as malformed."""
    if len(raw) > MAX_BODY_BYTES:
        raise MalformedNotification(f"the body is over {MAX_BODY_BYTES} bytes")

    def refuse_constant(name: str) -> Json:
        raise MalformedNotification(f"{name} is not a number a gateway sends")

    try:
        loaded: Json = json.loads(raw, parse_float=Decimal, parse_constant=refuse_constant)
    except RecursionError:
        raise MalformedNotification("the body nests too deep") from None
    except ValueError:  # not UTF-8, not JSON
        raise MalformedNotification("the body is not JSON") from None
    if not isinstance(loaded, dict):
        raise MalformedNotification("the body is not a JSON object")
    return loaded


def obj(parent: JsonObject, key: str, *, required: bool = True) -> JsonObject:
    value = parent.get(key)
    if isinstance(value, dict):
        return value
    if value is None and not required:
        return {}
    raise MalformedNotification(f"{key} must be an object")


def text(parent: JsonObject, key: str, *, required: bool = True, max_len: int = MAX_TEXT) -> str | None:
    """A string field (an integer is taken as its digits: gateways write ids either way)."""
    value = parent.get(key)
    if value is None or value == "":
        if required:
            raise MalformedNotification(f"{key} is missing")
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise MalformedNotification(f"{key} must be text")
    if len(value) > max_len:
        raise MalformedNotification(f"{key} is longer than {max_len} characters")
    return value


def required_text(parent: JsonObject, key: str, *, max_len: int = MAX_TEXT) -> str:
    value = text(parent, key, max_len=max_len)
    assert value is not None  # required: text() refused a missing one
    return value


def minor_units(parent: JsonObject, key: str, *, required: bool = True) -> int | None:
    """An amount in minor units: a whole number, 0 or more, below MAX_MINOR_UNITS (booleans are not numbers)."""
    value = parent.get(key)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedNotification(f"{key} must be a whole number of minor units")
    if not 0 <= value < MAX_MINOR_UNITS:
        raise MalformedNotification(f"{key} is out of range")
    return value


def major_units(value: Json | str, what: str) -> Decimal:
    """An amount in major units as the gateway wrote it (150, 150.5, "150.50"): finite, 0 or more, at most 3
    decimals, below MAX_MINOR_UNITS / 1000."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise MalformedNotification(f"{what} must be a number")
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise MalformedNotification(f"{what} must be a number") from None
    if not amount.is_finite() or amount < 0 or amount >= Decimal(MAX_MINOR_UNITS) / 1000:
        raise MalformedNotification(f"{what} is out of range")
    if amount != amount.quantize(Decimal("0.001")):
        raise MalformedNotification(f"{what} has more than 3 decimals")
    return amount


def currency_code(value: str | None, what: str = "currency") -> str:
    if value is None or not CURRENCY.fullmatch(value):
        raise MalformedNotification(f"{what} must be a three-letter ISO 4217 code")
    return value.upper()


def instant(value: str | None, what: str) -> dt.datetime | None:
    """An ISO 8601 instant with its offset (Z accepted); one without an offset is not an instant and is dropped."""
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise MalformedNotification(f"{what} is not an ISO 8601 date") from None
    return parsed if parsed.tzinfo is not None else None


def epoch_seconds(value: int, what: str) -> dt.datetime:
    try:
        return dt.datetime.fromtimestamp(value, dt.UTC)
    except (OverflowError, ValueError, OSError):
        raise MalformedNotification(f"{what} is not a time any clock can show") from None
