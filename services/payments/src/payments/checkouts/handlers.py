"""Checkouts' handlers: a verified debtor's ticket becomes one checkout (one per ticket nonce) at the client company's
checkout-capable gateway account, opened there (a signed form for Wompi and PayU, the API for Mercado Pago and
Stripe); every notification of its reference moves its state; each change is published (payment.checkout_updated)
in the same transaction; and a client company's ways to pay are published when its gateway accounts change."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from payments import store as ledger
from payments.checkouts import gateway_apis
from payments.checkouts import store as checkouts
from payments.checkouts.domain import (
    CASH_TTL,
    CHECKOUT_TTL,
    Checkout,
    new_reference,
    payu,
    stripe,
    wompi,
)
from payments.checkouts.domain import mercadopago as mp
from payments.checkouts.following import updated
from payments.checkouts.methods import checkout_accounts
from payments.gateways import store as gateways
from payments.gateways.gateway_http import GatewayUnreachable
from payments.gateways.handlers import webhook_url
from payments.gateways.store import GatewayAccount
from payments.handlers import outbox
from payments.settings import PaymentsSettings
from recaudo_common.checkout_tickets import CheckoutTicket
from recaudo_common.client_copy import ClientCopy, get_client
from recaudo_common.db import Database
from recaudo_common.domain_errors import NotFound
from recaudo_common.personal_data import MasterKeyring

ONLINE_UNAVAILABLE = "El pago en línea no está disponible en este momento para esta obligación."
GATEWAY_UNREACHABLE = "La pasarela de pagos no responde en este momento. Intente de nuevo en unos minutos."
CASH_UNAVAILABLE = "El pago en efectivo no está disponible en este momento para esta obligación."


class CheckoutUnavailable(Exception):
    """The checkout cannot be opened (or its voucher issued): the message (Spanish) says why to the debtor, `code`
    and `status` are the problem's (503 while nothing can take it, 422 when what was asked cannot be paid)."""

    def __init__(self, code: str, message: str, status: int = 503) -> None:
        super().__init__(message)
        self.code, self.status = code, status


@dataclass(frozen=True)
class Redirect:
    """Send the browser there (303): the gateway's checkout, or the outcome page of a checkout already done."""

    url: str


@dataclass(frozen=True)
class PostForm:
    """Show the debtor a form that posts itself to the gateway (PayU)."""

    form: payu.PayUForm


def outcome_url(public_url: str, reference: str) -> str:
    return f"{public_url.rstrip('/')}/checkout/{reference}"


def description(account_ref: str) -> str:
    """What the gateway's page says the payment is for: the account's reference, nothing about the debtor."""
    return f"Pago de la obligación {account_ref}"


def click_key(ticket: CheckoutTicket) -> str:
    """What makes a click one checkout: the page's nonce together with what it asked (account, amount, currency,
    method). The page's one nonce is shared by its online and cash forms, and a debtor who comes back may ask
    another amount: each is another request, never sent to the checkout (or the voucher) of the earlier one."""
    asked = [ticket.account_ref, str(ticket.amount), ticket.currency, ticket.method, ticket.nonce]
    return hashlib.sha256(json.dumps(asked).encode()).hexdigest()


async def open_checkout(db: Database, keyring: MasterKeyring, *, ticket: CheckoutTicket,
                        now: dt.datetime) -> tuple[Checkout, GatewayAccount, ClientCopy]:
    """The ticket's checkout: created at the client company's first checkout-capable account the first time
    (published as created), the same one whenever the browser repeats the ticket."""
    key = click_key(ticket)
    async with db.transaction() as s:
        checkout = await checkouts.of_nonce(s, ticket.client, key)
        copy = await get_client(s, ledger.SCHEMA, ticket.client)
        if checkout is None:
            capable = [] if copy is None else await checkout_accounts(s, keyring, ticket.client,
                                                                      method=ticket.method, country=copy.country)
            if copy is None or not capable:
                raise (CheckoutUnavailable("cash_unavailable", CASH_UNAVAILABLE) if ticket.method == "cash"
                       else CheckoutUnavailable("online_unavailable", ONLINE_UNAVAILABLE))
            if ticket.currency != copy.currency:
                raise CheckoutUnavailable("invalid_currency", "El valor a pagar no está en la moneda de la obligación.",
                                          422)
            account = capable[0]
            fresh = Checkout(
                reference=new_reference(), client=ticket.client, account_ref=ticket.account_ref,
                gateway_account=account.name, gateway=account.kind, method=ticket.method, amount=ticket.amount,
                currency=ticket.currency, status="created", gateway_payment_id=None, gateway_url=None, voucher=None,
                expires_at=now + (CASH_TTL if ticket.method == "cash" else CHECKOUT_TTL),
                link_token=ticket.link_token, created_at=now, updated_at=now)
            if await checkouts.insert(s, fresh, nonce=key):
                await outbox.add(s, [updated(fresh, "created", now).envelope(client=ticket.client, occurred_at=now)])
            checkout = await checkouts.of_nonce(s, ticket.client, key)
            assert checkout is not None
        account_ = await gateways.account_of(s, keyring, checkout.client, checkout.gateway_account)
    if account_ is None or copy is None:
        raise CheckoutUnavailable("online_unavailable", ONLINE_UNAVAILABLE)
    return checkout, account_, copy


async def online(db: Database, settings: PaymentsSettings, *, checkout: Checkout, account: GatewayAccount,
                 public_url: str, now: dt.datetime) -> Redirect | PostForm:
    """Where the browser goes to pay a created online checkout: the gateway's hosted checkout (asked of its API
    once; a repeated click is sent to the same one), or the outcome page once the checkout is done or expired."""
    back = outcome_url(public_url, checkout.reference)
    if checkout.status != "created" or (checkout.expires_at is not None and checkout.expires_at <= now):
        return Redirect(back)
    if checkout.gateway_url is not None:
        return Redirect(checkout.gateway_url)
    if account.kind == "wompi":
        fields = wompi.checkout_fields(
            public_key=account.settings["public_key"], integrity_secret=account.secret("integrity_secret"),
            reference=checkout.reference, amount=checkout.amount, currency=checkout.currency, redirect_url=back,
            expires_at=checkout.expires_at)
        return Redirect(wompi.checkout_url(fields, settings.wompi_checkout_url))
    if account.kind == "payu":
        return PostForm(payu.checkout_form(
            api_key=account.secret("api_key"), merchant_id=account.settings["merchant_id"],
            account_id=account.settings["account_id"], reference=checkout.reference,
            description=description(checkout.account_ref), amount=checkout.amount, currency=checkout.currency,
            response_url=back, confirmation_url=webhook_url(public_url, account.webhook_id),
            action=settings.payu_checkout_url))
    expires_at = checkout.expires_at or now + CHECKOUT_TTL
    timeout_s = settings.gateway_api_timeout_s
    try:
        if account.kind == "mercadopago":
            body = mp.preference_body(
                reference=checkout.reference, title=description(checkout.account_ref), amount=checkout.amount,
                currency=checkout.currency, return_url=back,
                notification_url=webhook_url(public_url, account.webhook_id), now=now, expires_at=expires_at)
            gateway_id, url = await gateway_apis.mercadopago_preference(
                api_base_url=account.settings["api_base_url"], access_token=account.secret("access_token"),
                body=body, timeout_s=timeout_s)
        else:
            fields = stripe.session_fields(
                reference=checkout.reference, name=description(checkout.account_ref), amount=checkout.amount,
                currency=checkout.currency, success_url=f"{back}?session_id={stripe.SESSION_ID}", cancel_url=back,
                expires_at=expires_at)
            gateway_id, url = await gateway_apis.stripe_session(
                api_base_url=settings.stripe_api_base_url, secret_key=account.secret("secret_key"), fields=fields,
                idempotency_key=checkout.reference, timeout_s=timeout_s)
    except GatewayUnreachable:
        raise CheckoutUnavailable("gateway_unreachable", GATEWAY_UNREACHABLE) from None
    except ValueError:
        raise CheckoutUnavailable("invalid_amount", "Este valor no se puede pagar en línea.", 422) from None
    async with db.transaction() as s:
        await checkouts.set_gateway_checkout(s, checkout.reference, gateway_payment_id=gateway_id, gateway_url=url,
                                             now=now)
    return Redirect(url)


async def outcome(db: Database, reference: str) -> tuple[Checkout, ClientCopy]:
    """The checkout (and its client company, for the money's format) the outcome page shows."""
    async with db.transaction() as s:
        checkout = await checkouts.of_reference(s, reference)
        copy = None if checkout is None else await get_client(s, ledger.SCHEMA, checkout.client)
    if checkout is None or copy is None:
        raise NotFound("checkout")
    return checkout, copy


async def operator_view(db: Database, *, client: str, reference: str) -> Checkout:
    async with db.transaction() as s:
        checkout = await checkouts.of_reference(s, reference, client=client)
    if checkout is None:
        raise NotFound(f"checkout {reference!r}")
    return checkout
