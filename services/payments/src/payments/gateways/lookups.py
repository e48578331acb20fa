"""The gateways' APIs the notifications send us to: Mercado Pago's payment (its notification carries no amount or
status) and Wompi's transaction (when an event's checksum does not cover its reference or currency). Only these
answers are trusted for what the notification did not sign; a gateway that cannot be asked is a retry, never a
guess."""

from __future__ import annotations

import re

from payments.gateways.domain import mercadopago, wompi
from payments.gateways.domain.notifications import GatewayPayment, MalformedNotification
from payments.gateways.gateway_http import GatewayUnreachable, ask

# https://docs.wompi.co/docs/colombia/ambientes-y-llaves/: one base URL per environment, told by the key's prefix.
WOMPI_PRODUCTION = "https://production.wompi.co"
WOMPI_SANDBOX = "https://sandbox.wompi.co"
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
