"""The two gateway APIs a hosted checkout is opened at: Mercado Pago's preferences and Stripe's Checkout Sessions
(Wompi's and PayU's checkouts are signed forms the browser takes there itself). A gateway that cannot be asked is
GatewayUnreachable: the debtor is told to try again, nothing is guessed."""

from __future__ import annotations

from urllib.parse import urlencode

from payments.checkouts.domain import mercadopago, stripe
from payments.gateways.domain.notifications import MalformedNotification
from payments.gateways.gateway_http import GatewayUnreachable, ask

STRIPE_API = "https://api.stripe.com"


async def mercadopago_preference(*, api_base_url: str, access_token: str, body: bytes,
                                 timeout_s: float) -> tuple[str, str]:
    """Creates the preference; (its id, the init_point to send the browser to)."""
    _, raw = await ask("POST", f"{api_base_url.rstrip('/')}{mercadopago.PATH}", content=body, timeout_s=timeout_s,
                       what="Mercado Pago's API", answered=lambda status: status in (200, 201),
                       headers={"Authorization": f"Bearer {access_token}", "Content-Type": "application/json",
                                "Accept": "application/json"})
    try:
        return mercadopago.read_preference(raw, test=mercadopago.is_test_token(access_token))
    except MalformedNotification as e:
        raise GatewayUnreachable(f"Mercado Pago's API answered no preference we can read: {e.detail}") from None


async def stripe_session(*, api_base_url: str | None, secret_key: str, fields: list[tuple[str, str]],
                         idempotency_key: str, timeout_s: float) -> tuple[str, str]:
    """Creates the Checkout Session (once per idempotency key); (its id, its url)."""
    content = urlencode(fields).encode()
    _, raw = await ask("POST", f"{(api_base_url or STRIPE_API).rstrip('/')}{stripe.PATH}", content=content,
                       timeout_s=timeout_s, what="Stripe's API",
                       headers={"Authorization": f"Bearer {secret_key}", "Idempotency-Key": idempotency_key,
                                "Content-Type": "application/x-www-form-urlencoded"})
    try:
        return stripe.read_session(raw)
    except MalformedNotification as e:
        raise GatewayUnreachable(f"Stripe's API answered no session we can read: {e.detail}") from None
