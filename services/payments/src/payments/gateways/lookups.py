"""The gateways' APIs the notifications send us to: Mercado Pago's payment (its notification carries no amount or
status), Wompi's transaction (when an event's checksum does not cover its reference or currency) and PayU's Reports
API (a refund confirmation's REFUNDED is not signed). Only these answers are trusted for what the notification did
not sign; a gateway that cannot be asked is a retry, never a guess."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import httpx

from payments.gateways.domain import mercadopago, payu, wompi
from payments.gateways.domain.notifications import MAX_BODY_BYTES, GatewayPayment, MalformedNotification
from payments.gateways.gateway_http import GatewayUnreachable, ask

# https://docs.wompi.co/docs/colombia/ambientes-y-llaves/: one base URL per environment, told by the key's prefix.
WOMPI_PRODUCTION = "https://production.wompi.co"
WOMPI_SANDBOX = "https://sandbox.wompi.co"
PAYU_REPORTS_API = "https://api.payulatam.com/reports-api/4.0/service.cgi"
# Wompi's transaction ids (1234-1610641025-49201): nothing else reaches a URL.
TRANSACTION_ID = re.compile(r"[A-Za-z0-9-]{1,64}")


def wompi_base_url(public_key: str, override: str | None) -> str:
    if override:
        return override.rstrip("/")
    return WOMPI_PRODUCTION if public_key.startswith("pub_prod_") else WOMPI_SANDBOX


async def mercadopago_payment(*, api_base_url: str, access_token: str, data_id: str | None,
                              timeout_s: float) -> GatewayPayment:
    """GET {api_base_url}/v1/payments/{id} with the access token
    (https://www.mercadopago.com.co/developers/es/reference/payments/_payments_id/get)."""
    path = mercadopago.payment_path(data_id)
    _, raw = await ask("GET", f"{api_base_url.rstrip('/')}{path}", timeout_s=timeout_s, what="Mercado Pago's API",
                       headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"})
    try:
        return mercadopago.read_payment(raw, expected_id=data_id)
    except MalformedNotification as e:
        raise GatewayUnreachable(f"Mercado Pago's API answered no payment we can read: {e.detail}") from None


async def wompi_transaction(*, base_url: str, transaction_id: str, timeout_s: float) -> GatewayPayment:
    """GET {base}/v1/transactions/{id}: a public endpoint, no key
    (https://docs.wompi.co/docs/colombia/seguimiento-de-transacciones/)."""
    if not TRANSACTION_ID.fullmatch(transaction_id):
        raise MalformedNotification("a Wompi transaction id is letters, digits and dashes")
    _, raw = await ask("GET", f"{base_url}/v1/transactions/{transaction_id}", headers={"Accept": "application/json"},
                       timeout_s=timeout_s, what="Wompi's API")
    try:
        return wompi.read_transaction(raw, expected_id=transaction_id)
    except MalformedNotification as e:
        raise GatewayUnreachable(f"Wompi's API answered no transaction we can read: {e.detail}") from None


async def payu_orders(*, url: str | None, api_login: str, api_key: str, reference: str, test: bool,
                      timeout_s: float, max_bytes: int = MAX_BODY_BYTES,
                      http: httpx.AsyncClient | None = None) -> list[dict[str, Any]]:
    """The reference's orders as PayU's Reports API answers ORDER_DETAIL_BY_REFERENCE_CODE (none: PayU does not
    know it); anything but {"code": "SUCCESS", "result": {"payload": [order, ...]}} is GatewayUnreachable."""
    what = "PayU's Reports API"
    _, raw = await ask("POST", url or PAYU_REPORTS_API, what=what, timeout_s=timeout_s, max_bytes=max_bytes,
                       headers={"Content-Type": "application/json; charset=utf-8", "Accept": "application/json"},
                       content=payu.order_request(api_login=api_login, api_key=api_key, reference=reference,
                                                  test=test), http=http)
    try:
        answer = json.loads(raw, parse_float=Decimal)
        if answer["code"] != "SUCCESS":
            raise GatewayUnreachable(f"{what} answered {str(answer.get('error'))[:200]}")
        payload = (answer.get("result") or {}).get("payload") or []
        if not isinstance(payload, list) or not all(isinstance(o, dict) for o in payload):
            raise TypeError("payload is not a list of orders")
        orders: list[dict[str, Any]] = payload
        return orders
    except (ValueError, RecursionError, KeyError, TypeError, AttributeError) as e:
        raise GatewayUnreachable(f"{what} answered something not of its documented shape ({e})") from None


async def payu_refunded(*, url: str | None, api_login: str, api_key: str, reference: str, currency: str,
                        timeout_s: float) -> Decimal:
    """What PayU's Reports API shows refunded of the reference in all, in `currency` (approved REFUND
    transactions of its orders): the most a refund confirmation of it may take back here."""
    orders = await payu_orders(url=url, api_login=api_login, api_key=api_key, reference=reference, test=False,
                               timeout_s=timeout_s)
    try:
        return payu.refunded_of_reference(orders, currency)
    except (KeyError, TypeError, AttributeError, MalformedNotification) as e:
        raise GatewayUnreachable(f"PayU's Reports API answered an order not of its documented shape ({e})") from None
