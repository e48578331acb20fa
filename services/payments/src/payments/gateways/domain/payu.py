"""PayU Latam as documented: the confirmation page's `sign`, the WebCheckout request signature, and what the Reports API
shows refunded of a reference."""

# Confirmation (https://developers.payulatam.com/latam/es/docs/integrations/confirmation-url.html): PayU POSTs
# `application/x-www-form-urlencoded` fields once a transaction is final; `sign` is a digest of
# "ApiKey~merchant_id~reference_sale~new_value~currency~state_pol" made from the fields as received, where `new_value`
# is `value` with one decimal when its second decimal is 0 (150.00 -> 150.0) and with two otherwise (150.25 -> 150.25).
# The digest is MD5 by default; the page's examples use HMAC-SHA256 with a secret key, and WebCheckout also offers
# SHA1 and SHA256 (`algorithmSignature`): each is accepted by the length of `sign`. PayU signs no timestamp and not
# `transaction_id`, so replays are stopped by deduplication, never by age.
#
# Refunds: PayU calls the confirmation page again when a refund of an approved order is decided; the refund comes
# with state_pol 6 and response_message_pol REFUNDED (the order's state REFUNDED, "el último estado de la orden es un
# reembolso aprobado", https://developers.payulatam.com/latam/es/docs/getting-started/response-codes-and-variables.html
# "Estados de la orden"; a REFUND transaction, "Tipos de transacción"), `value` being what that refund gave back:
# partial refunds (https://developers.payulatam.com/latam/es/docs/integrations/api-integration/refunds-api.html, per
# country) each come as their own confirmation. But response_message_pol (and transaction_id) are not signed: any
# signed state_pol 6 body of a reference (an ordinary declined attempt) would claim a refund of its `value` with the
# word REFUNDED added. So a refund confirmation is only a claim (RefundClaim): the ledger takes back what PayU's
# Reports API shows refunded of the reference (gateways/lookups.py), or, without the API login, nothing.
#
# Reports API (https://developers.payulatam.com/latam/es/docs/integrations/api-integration/queries-api.html):
# ORDER_DETAIL_BY_REFERENCE_CODE answers the reference's orders, each with its `transactions`; a refund is a
# transaction of `type` REFUND ("Tipos de transacción") whose `transactionResponse.state` is APPROVED, its amount its
# `additionalValues.TX_VALUE` (a partial refund's request carries one: refunds-api.html above); an approved REFUND
# without one gave back the whole order (the order's TX_VALUE, or its approved charge's).
#
# WebCheckout (https://developers.payulatam.com/latam/es/docs/integrations/webcheckout-integration/payment-form.html):
# `signature` is MD5 (or SHA1, SHA256) of "ApiKey~merchantId~referenceCode~amount~currency".

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import parse_qs

from payments.gateways.domain.notifications import (
    MAX_BODY_BYTES,
    MAX_TEXT,
    GatewayPayment,
    MalformedNotification,
    Payer,
    PaymentStatus,
    UnverifiedNotification,
    currency_code,
    major_units,
    same_hex,
)

Algorithm = Literal["MD5", "SHA1", "SHA256", "HMAC_SHA256"]

# https://developers.payulatam.com/latam/es/docs/getting-started/response-codes-and-variables.html (state_pol):
# 4 approved, 5 expired, 6 declined, 7 pending, 104 error. A state PayU adds later applies nothing.
STATES: dict[str, PaymentStatus] = {"4": "approved", "5": "expired", "6": "declined", "7": "pending", "104": "declined"}
# `value` is Number 14.2: at most 14 digits before the point, at most 2 after.
VALUE = re.compile(r"(\d{1,14})(?:\.(\d{1,2}))?")
MAX_FIELDS = 200
# The algorithms a `sign` of each length may come from (hex digests).
BY_LENGTH: dict[int, tuple[Algorithm, ...]] = {32: ("MD5",), 40: ("SHA1",), 64: ("SHA256", "HMAC_SHA256")}
SIGNED = ("merchant_id", "reference_sale", "value", "currency", "state_pol", "sign")


def new_value(value: str) -> str:
    """PayU's rounding rule for `new_value`, on the text PayU sent (no float ever): 150.00 -> 150.0, 150.20 -> 150.2,
    150.25 -> 150.25, 150 -> 150.0, 150.5 -> 150.5."""
    match = VALUE.fullmatch(value)
    if match is None:
        raise MalformedNotification("value must be a number with at most 2 decimals")
    whole, decimals = match.group(1), match.group(2) or "0"
    if len(decimals) == 2 and decimals[1] != "0":
        return f"{whole}.{decimals}"
    return f"{whole}.{decimals[0]}"


def digest(text: str, algorithm: Algorithm, *, key: str | None = None) -> str:
    data = text.encode("utf-8")
    if algorithm == "MD5":
        return hashlib.md5(data).hexdigest()  # noqa: S324 - PayU's documented default, not our choice
    if algorithm == "SHA1":
        return hashlib.sha1(data).hexdigest()  # noqa: S324 - one of PayU's documented algorithms
    if algorithm == "SHA256":
        return hashlib.sha256(data).hexdigest()
    if key is None:
        raise ValueError("HMAC-SHA256 needs the secret key")
    return hmac.new(key.encode("utf-8"), data, hashlib.sha256).hexdigest()


def checkout_signature(*, api_key: str, merchant_id: str, reference_code: str, amount: str, currency: str,
                       algorithm: Algorithm = "MD5") -> str:
    """The WebCheckout form's `signature`. `amount` is the text the form sends, exactly (20000, 20000.00)."""
    return digest(f"{api_key}~{merchant_id}~{reference_code}~{amount}~{currency}", algorithm)


def confirmation_signature(*, api_key: str, merchant_id: str, reference_sale: str, value: str, currency: str,
                           state_pol: str, algorithm: Algorithm = "MD5", key: str | None = None) -> str:
    """The confirmation's `sign`, from the fields as received (`value` rounded by `new_value`)."""
    return digest(f"{api_key}~{merchant_id}~{reference_sale}~{new_value(value)}~{currency}~{state_pol}",
                  algorithm, key=key)


def form_fields(raw: bytes) -> dict[str, str]:
    """The confirmation's form fields, each once. Percent-escapes are read as UTF-8 (a byte that is not becomes
    U+FFFD: the signature then fails if it was a signed field, and nothing else is trusted)."""
    if len(raw) > MAX_BODY_BYTES:
        raise MalformedNotification(f"the body is over {MAX_BODY_BYTES} bytes")
    try:
        parsed = parse_qs(raw.decode("latin-1"), keep_blank_values=True, encoding="utf-8", errors="replace",
                          max_num_fields=MAX_FIELDS)
    except ValueError:
        raise MalformedNotification(f"the form has more than {MAX_FIELDS} fields") from None
    repeated = sorted(name for name, values in parsed.items() if len(values) > 1 and name in SIGNED)
    if repeated:
        raise MalformedNotification(f"{', '.join(repeated)} came more than once")
    return {name: values[-1] for name, values in parsed.items()}


def verify_confirmation(fields: dict[str, str], *, api_key: str, merchant_id: str,
                        hmac_key: str | None = None) -> Algorithm:
    """Checks `sign` and that the notification is for this merchant; answers the algorithm that matched."""
    sign = fields.get("sign", "")
    if not sign:
        raise UnverifiedNotification("missing_signature", "the confirmation has no sign")
    missing = [name for name in SIGNED[:-1] if not fields.get(name)]
    if missing:
        raise UnverifiedNotification("malformed_signature", f"{', '.join(missing)} missing: nothing to check sign by")
    if any(len(fields[name]) > MAX_TEXT for name in SIGNED):
        raise UnverifiedNotification("malformed_signature", "a signed field is too long")
    candidates = BY_LENGTH.get(len(sign), ())
    signed_by = None
    for algorithm in candidates:
        if algorithm == "HMAC_SHA256" and hmac_key is None:
            continue
        expected = confirmation_signature(
            api_key=api_key, merchant_id=fields["merchant_id"], reference_sale=fields["reference_sale"],
            value=fields["value"], currency=fields["currency"], state_pol=fields["state_pol"], algorithm=algorithm,
            key=hmac_key)
        if same_hex(expected, sign, ignore_case=True):
            signed_by = algorithm
    if signed_by is None:
        raise UnverifiedNotification("bad_signature", "sign does not verify with this API key")
    # The docs tell one to sign with the received merchant_id; one signed with our key but naming another merchant is
    # not ours to apply.
    if fields["merchant_id"] != merchant_id:
        raise UnverifiedNotification("wrong_merchant", "the confirmation is for another merchant")
    return signed_by


REFUNDED = "REFUNDED"  # response_message_pol of a refund's confirmation (with state_pol 6)


@dataclass(frozen=True, slots=True)
class RefundClaim:
    """A confirmation saying a refund of the reference was made (state_pol 6, response_message_pol REFUNDED). Its
    sign covers the reference, value, currency and state 6, not the word REFUNDED nor `transaction_id`: the same
    signed body as a declined attempt of that reference. Never booked as it is (see the module's comment)."""

    reference: str
    amount: Decimal
    currency: str
    transaction_id: str


def read_confirmation(raw: bytes, *, api_key: str, merchant_id: str,
                      hmac_key: str | None = None) -> GatewayPayment | RefundClaim:
    """Verifies a confirmation and reads it as a payment (`transaction_id`, one per attempt, is its id), or, for a
    refund, as the claim of one (`value` what that refund says it gave back)."""
    fields = form_fields(raw)
    verify_confirmation(fields, api_key=api_key, merchant_id=merchant_id, hmac_key=hmac_key)
    transaction_id = fields.get("transaction_id", "")
    if not transaction_id or len(transaction_id) > 64:
        raise MalformedNotification("transaction_id is missing or too long")
    state = fields["state_pol"]

    def optional(name: str, max_len: int = MAX_TEXT) -> str | None:
        value = fields.get(name) or None
        return None if value is None else value[:max_len]

    if state == "6" and (fields.get("response_message_pol") or "").strip().upper() == REFUNDED:
        return RefundClaim(reference=fields["reference_sale"], amount=Decimal(fields["value"]),
                           currency=currency_code(fields["currency"]), transaction_id=transaction_id)

    return GatewayPayment(
        gateway="payu", payment_id=transaction_id, reference=fields["reference_sale"],
        status=STATES.get(state, "pending"), amount=Decimal(fields["value"]),  # verified by new_value above
        currency=currency_code(fields["currency"]), method=optional("payment_method_name", 64),
        gateway_status=state[:16],
        # sign covers the reference, amount, currency and state; not transaction_id
        authenticated=frozenset({"reference", "amount", "currency", "status"}),
        payer=Payer(email=optional("email_buyer"), name=optional("cc_holder", 150), phone=optional("phone", 20)))


# ------------------------------------------------------------------ the Reports API's orders of a reference

CHARGES = ("AUTHORIZATION_AND_CAPTURE", "CAPTURE")


def order_request(*, api_login: str, api_key: str, reference: str, test: bool) -> bytes:
    """The Reports API's ORDER_DETAIL_BY_REFERENCE_CODE request body (JSON)."""
    return json.dumps({"test": test, "language": "es", "command": "ORDER_DETAIL_BY_REFERENCE_CODE",
                       "merchant": {"apiLogin": api_login, "apiKey": api_key},
                       "details": {"referenceCode": reference}}).encode()


def _approved(t: Mapping[str, Any]) -> bool:
    return str((t.get("transactionResponse") or {}).get("state")) == "APPROVED"


def tx_value(values: Mapping[str, Any] | None) -> tuple[Decimal, str] | None:
    """An `additionalValues` object's TX_VALUE as (amount, currency); None when it has none."""
    found = (values or {}).get("TX_VALUE")
    if not found:
        return None
    return major_units(found["value"], "TX_VALUE"), currency_code(found["currency"])


def approved_charges(order: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [t for t in order.get("transactions") or [] if t.get("type") in CHARGES and _approved(t)]


def order_value(order: Mapping[str, Any]) -> tuple[Decimal, str] | None:
    """What the order charged: its TX_VALUE, or its first approved charge's."""
    charges = approved_charges(order)
    return tx_value(order.get("additionalValues")) or (tx_value(charges[0].get("additionalValues")) if charges
                                                       else None)


def order_refunded(order: Mapping[str, Any], currency: str) -> Decimal:
    """What the order's approved REFUND transactions gave back in `currency`, never more than the order charged (a
    refund without its own TX_VALUE gave back the whole order). Raises KeyError, TypeError, AttributeError or
    MalformedNotification on an order not of the documented shape."""
    value = order_value(order)
    if value is None or not approved_charges(order):
        return Decimal(0)  # nothing charged: nothing to give back
    charged, charged_in = value
    total = Decimal(0)
    for t in order.get("transactions") or []:
        if t.get("type") != "REFUND" or not _approved(t):
            continue
        amount, refund_in = tx_value(t.get("additionalValues")) or value
        if refund_in == currency:
            total += amount
    return min(total, charged) if charged_in == currency else total


def refunded_of_reference(orders: Sequence[Mapping[str, Any]], currency: str) -> Decimal:
    """All the reference's orders have given back in `currency`, as the Reports API shows them."""
    return sum((order_refunded(o, currency) for o in orders), Decimal(0))
