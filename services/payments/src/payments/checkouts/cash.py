"""Cash vouchers at a client company's gateway (Efecty, Baloto, Su Red, OXXO, PagoEfectivo): which networks its
account can issue, and the one call that issues a voucher for a checkout's reference. The payment is applied later,
when the gateway's notification of that reference says it was paid (the webhook's ordinary path)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from payments.gateways.domain import cash_mercadopago, cash_payu, cash_stripe
from payments.gateways.domain.cash import (
    CREDENTIALS,
    CashPayer,
    CashRefused,
    CashRequest,
    IssuedVoucher,
    check_request,
    idempotency_key,
    networks_of,
    payer_fields_needed,
)
from payments.gateways.domain.notifications import MalformedNotification
from payments.gateways.gateway_http import GatewayUnreachable, ask
from payments.gateways.schemas import DEFAULT_MERCADOPAGO_API
from payments.gateways.store import GatewayAccount

__all__ = ["CashPayer", "CashRefused", "CashRequest", "IssuedVoucher", "cash_networks", "issue_voucher",
           "payer_fields"]

# A 4xx other than these is the gateway declining what it was asked; these, 5xx and no answer are a gateway that
# cannot be asked now.
_RETRY_LATER = (408, 409, 425, 429)


def payer_fields(account: GatewayAccount, country: str) -> tuple[str, ...]:
    """The CashPayer fields the account's gateway demands in this country (the form a debtor fills must ask them)."""
    return payer_fields_needed(account.kind, country)


def cash_networks(account: GatewayAccount, country: str, *, payer_known: Collection[str] = ()) -> list[str]:
    """The networks this account can issue vouchers for in the client company's country: none when the account
    lacks a credential the gateway's API needs, and none whose payer data the caller cannot give. Payments keeps no
    personal data, so every network needs the debtor to give what `payer_fields` lists (at least an e-mail, for every
    gateway): `payer_known` names the CashPayer fields the caller will have (e.g. those its form asks)."""
    if any(not account.optional_secret(name) for name in CREDENTIALS.get(account.kind, ("-",))):
        return []
    if account.kind == "payu" and not (account.settings.get("merchant_id") and account.settings.get("account_id")):
        return []
    if not set(payer_fields(account, country)) <= set(payer_known):
        return []
    return sorted(networks_of(account.kind, country))


async def issue_voucher(account: GatewayAccount, request: CashRequest, *, network: str, base_url: str | None,
                        timeout_s: float, now: dt.datetime | None = None) -> IssuedVoucher:
    """Asks the account's gateway for a voucher of `network` paying `request.reference`. CashRefused when the
    request is not one the gateway takes (network, currency, payer data: nothing is sent) or the gateway declines it;
    GatewayUnreachable when the gateway cannot be asked or answers a failure. `base_url` overrides the gateway's API
    (tests, a proxy); `now` (for Stripe's calendar days) defaults to the clock."""
    method = check_request(account.kind, request, network)
    if account.kind == "mercadopago":
        return await _mercadopago(account, request, network=network, method=method, base_url=base_url,
                                  timeout_s=timeout_s)
    if account.kind == "payu":
        return await _payu(account, request, network=network, method=method, base_url=base_url, timeout_s=timeout_s)
    if account.kind == "stripe":
        return await _stripe(account, request, network=network, base_url=base_url, timeout_s=timeout_s,
                             now=now or dt.datetime.now(dt.UTC))
    raise CashRefused("network_not_offered")


def _secret(account: GatewayAccount, name: str) -> str:
    value = account.optional_secret(name)
    if not value:
        raise CashRefused(f"{name}_not_set")
    return value


async def _mercadopago(account: GatewayAccount, request: CashRequest, *, network: str, method: str,
                       base_url: str | None, timeout_s: float) -> IssuedVoucher:
    api = (base_url or account.settings.get("api_base_url") or DEFAULT_MERCADOPAGO_API).rstrip("/")
    body = cash_mercadopago.payment_body(request, method_id=method)
    status, raw = await _post(f"{api}/v1/payments", what="Mercado Pago's API", timeout_s=timeout_s, content=body,
                              headers={"Authorization": f"Bearer {_secret(account, 'access_token')}",
                                       "X-Idempotency-Key": idempotency_key(request.reference, network, body),
                                       "Content-Type": "application/json", "Accept": "application/json"})
    if status not in (200, 201):
        raise cash_mercadopago.refusal(raw)
    try:
        return cash_mercadopago.read_voucher(raw, network=network, reference=request.reference)
    except MalformedNotification as e:
        raise GatewayUnreachable(f"Mercado Pago's API answered no voucher we can read: {e.detail}") from None


async def _payu(account: GatewayAccount, request: CashRequest, *, network: str, method: str, base_url: str | None,
                timeout_s: float) -> IssuedVoucher:
    merchant_id = account.settings["merchant_id"]
    body = cash_payu.submit_transaction(
        request, method=method, api_key=account.secret("api_key"), api_login=_secret(account, "api_login"),
        merchant_id=merchant_id, account_id=account.settings["account_id"],
        test=cash_payu.is_sandbox(merchant_id))
    status, raw = await _post(cash_payu.base_url(merchant_id, base_url), what="PayU's API", timeout_s=timeout_s,
                              content=body, headers={"Content-Type": "application/json; charset=utf-8",
                                                     "Accept": "application/json"})
    if status != 200:
        # PayU answers its own refusals 200 with code ERROR: any other status is PayU failing.
        raise GatewayUnreachable(f"PayU's API answered {status}")
    try:
        return cash_payu.read_voucher(raw, network=network)
    except MalformedNotification as e:
        raise GatewayUnreachable(f"PayU's API answered no voucher we can read: {e.detail}") from None


async def _stripe(account: GatewayAccount, request: CashRequest, *, network: str, base_url: str | None,
                  timeout_s: float, now: dt.datetime) -> IssuedVoucher:
    api = (base_url or cash_stripe.API).rstrip("/")
    body = cash_stripe.intent_form(request, now=now)
    status, raw = await _post(f"{api}/v1/payment_intents", what="Stripe's API", timeout_s=timeout_s, content=body,
                              headers={"Authorization": f"Bearer {_secret(account, 'secret_key')}",
                                       "Idempotency-Key": idempotency_key(request.reference, network, body),
                                       "Content-Type": "application/x-www-form-urlencoded"})
    if status != 200:
        raise cash_stripe.refusal(raw)
    try:
        return cash_stripe.read_voucher(raw, network=network, reference=request.reference)
    except MalformedNotification as e:
        raise GatewayUnreachable(f"Stripe's API answered no voucher we can read: {e.detail}") from None


def _answered(status: int) -> bool:
    """A 2xx, or a refusal (4xx) the gateway means: 5xx, 408, 409, 425, 429 and redirects are the gateway failing."""
    return 200 <= status < 300 or (400 <= status < 500 and status not in _RETRY_LATER)


async def _post(url: str, *, headers: dict[str, str], content: bytes, timeout_s: float,
                what: str) -> tuple[int, bytes]:
    """(status, body) of a 2xx or a refusal (4xx); a gateway failing (5xx, 408, 429, no answer, a body over the cap)
    is GatewayUnreachable. The message names the gateway and the status, never a credential or the payer."""
    return await ask("POST", url, what=what, headers=headers, content=content, timeout_s=timeout_s,
                     answered=_answered)
