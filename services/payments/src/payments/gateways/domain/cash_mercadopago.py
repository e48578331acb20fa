"""Mercado Pago cash vouchers as documented: the POST /v1/payments body of a ticket payment and the voucher its answer
holds."""

# https://www.mercadopago.com.co/developers/es/reference/payments/_payments/post: POST {api}/v1/payments, JSON,
# `Authorization: Bearer <access token>` and `X-Idempotency-Key` (required); a cash payment names its
# payment_method_id (efecty, oxxo, pagoefectivo_atm), transaction_amount, description, external_reference (our
# reference: what the later payment notification carries back), notification_url, date_of_expiration
# ("yyyy-MM-dd'T'HH:mm:ss.SSSz", e.g. 2020-05-30T23:59:59.000-04:00) and the payer (email required).
# The answer (201) is the payment: id, status `pending` (status_detail pending_waiting_payment), date_of_expiration,
# and transaction_details.external_resource_url (the printable voucher; "How to generate the same ticket again",
# https://www.mercadopago.com.co/developers/es/docs/resources-faqs/payments), payment_method_reference_id (the number
# paid at the cash point) and barcode.content.

from __future__ import annotations

import json

from payments.gateways.domain.cash import (
    CashRefused,
    CashRequest,
    IssuedVoucher,
    two_decimals,
    voucher_reference,
    voucher_url,
)
from payments.gateways.domain.mercadopago import PAYMENT_ID
from payments.gateways.domain.notifications import (
    MalformedNotification,
    instant,
    load_object,
    obj,
    required_text,
    text,
)
from recaudo_common.events import CashVoucher


def expiration(request: CashRequest) -> str:
    """date_of_expiration in the documented form, in the offset the expiry was given in."""
    return request.expires_at.isoformat(timespec="milliseconds")


def payment_body(request: CashRequest, *, method_id: str) -> bytes:
    amount = two_decimals(request.amount)
    payer = request.payer
    assert payer is not None and payer.email  # check_request refused a request without them
    payer_json: dict[str, object] = {"email": payer.email}
    if payer.id_type and payer.id_number:
        payer_json["identification"] = {"type": payer.id_type, "number": payer.id_number}
    body = {
        "transaction_amount": int(amount) if amount == amount.to_integral_value() else float(amount),
        "description": request.description[:255],
        "payment_method_id": method_id,
        "external_reference": request.reference,
        "notification_url": request.notification_url,
        "date_of_expiration": expiration(request),
        "payer": payer_json,
    }
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def refusal(raw: bytes) -> CashRefused:
    """A 4xx answer (`{"message", "error", "status", "cause": [{"code", "description"}]}`) as a refusal: its first
    cause's code, else its error, never the message text."""
    try:
        answer = load_object(raw)
    except MalformedNotification:
        return CashRefused("mercadopago_bad_request")
    causes = answer.get("cause")
    if isinstance(causes, list) and causes and isinstance(causes[0], dict):
        code = causes[0].get("code")
        if isinstance(code, int | str) and not isinstance(code, bool) and str(code).isalnum():
            return CashRefused(f"mercadopago_{code}")
    error = answer.get("error")
    if isinstance(error, str) and error.replace("_", "").isalnum() and len(error) <= 64:
        return CashRefused(f"mercadopago_{error}")
    return CashRefused("mercadopago_bad_request")


def read_voucher(raw: bytes, *, network: str, reference: str) -> IssuedVoucher:
    """The created payment as a voucher. A `rejected` payment is a refusal; an answer of another shape is
    MalformedNotification (the caller treats it as a gateway that cannot be understood)."""
    payment = load_object(raw)
    payment_id = required_text(payment, "id", max_len=20)
    if not PAYMENT_ID.fullmatch(payment_id):
        raise MalformedNotification("id must be a numeric payment id")
    status = required_text(payment, "status", max_len=32)
    if status != "pending":
        detail = text(payment, "status_detail", required=False, max_len=64) or status
        raise CashRefused(f"mercadopago_{detail}" if detail.replace("_", "").isalnum() else "mercadopago_rejected")
    if text(payment, "external_reference", required=False) not in (None, reference):
        raise MalformedNotification("the payment carries another external_reference")
    details = obj(payment, "transaction_details", required=False)
    barcode = obj(payment, "barcode", required=False)
    number = (voucher_reference(details.get("payment_method_reference_id"))
              or voucher_reference(barcode.get("content")) or payment_id)
    expires = instant(text(payment, "date_of_expiration", required=False, max_len=40), "date_of_expiration")
    return IssuedVoucher(gateway_payment_id=payment_id, voucher=CashVoucher(
        network=network, reference=number, expires_at=expires,
        voucher_url=voucher_url(details.get("external_resource_url"))))
