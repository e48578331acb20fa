"""A cash checkout: the form asks the debtor the cash network and what the account's gateway demands of the payer in
the client company's country, the gateway issues the voucher for the checkout's reference (payments.checkouts.cash),
and the checkout waits pending with it (published as payment.checkout_updated). What the payer typed goes to the
gateway only: never stored, logged or put in a refusal."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace

from payments.checkouts import cash
from payments.checkouts import store as checkouts
from payments.checkouts.domain import CASH_TTL, Checkout, Voucher
from payments.checkouts.following import updated
from payments.checkouts.handlers import GATEWAY_UNREACHABLE, CheckoutUnavailable, description
from payments.checkouts.methods import cash_networks
from payments.gateways.gateway_http import GatewayUnreachable
from payments.gateways.handlers import webhook_url
from payments.gateways.store import GatewayAccount
from payments.handlers import outbox
from payments.settings import PaymentsSettings
from recaudo_common.client_copy import ClientCopy
from recaudo_common.db import Database

NETWORK_NAMES = {"efecty": "Efecty", "baloto": "Baloto", "su_red": "Su Red", "oxxo": "OXXO",
                 "pagoefectivo": "PagoEfectivo"}
FIELD_LABELS = {"full_name": "Nombre completo", "email": "Correo electrónico", "phone": "Teléfono",
                "id_type": "Tipo de documento", "id_number": "Número de documento", "street": "Dirección",
                "city": "Ciudad", "state": "Departamento o estado", "postal_code": "Código postal"}
FROM_REQUEST = ("ip_address",)  # what the browser's request gives, not the debtor
MAX_FIELD = 200


class CashFormInvalid(Exception):
    """The form's answer is not one to ask the gateway with; the message (Spanish) says what to fix (422)."""


@dataclass(frozen=True)
class CashForm:
    """What the cash form offers (networks) and asks (the payer's fields, labelled in Spanish)."""

    networks: list[tuple[str, str]]
    fields: list[tuple[str, str]]


def cash_form(account: GatewayAccount, copy: ClientCopy) -> CashForm:
    networks = [(n, NETWORK_NAMES.get(n, n)) for n in cash_networks(account, copy.country)]
    asked = [f for f in cash.payer_fields(account, copy.country) if f not in FROM_REQUEST]
    return CashForm(networks=networks, fields=[(f, FIELD_LABELS.get(f, f)) for f in asked])


def payer_of(form: CashForm, answer: Mapping[str, str], *, ip_address: str | None) -> tuple[str, cash.CashPayer]:
    """(the network chosen, the payer as the debtor typed it); CashFormInvalid when something is missing."""
    network = answer.get("network", "")
    if network not in {n for n, _ in form.networks}:
        raise CashFormInvalid("Elija dónde va a pagar.")
    given: dict[str, str] = {}
    for name, label in form.fields:
        value = " ".join(answer.get(name, "").split())
        if not value or len(value) > MAX_FIELD:
            raise CashFormInvalid(f"Escriba su {label.lower()} (hasta {MAX_FIELD} caracteres).")
        given[name] = value
    if "email" in given and ("@" not in given["email"] or " " in given["email"]):
        raise CashFormInvalid("Escriba un correo electrónico válido.")
    return network, cash.CashPayer(**given, ip_address=ip_address)


async def issue(db: Database, settings: PaymentsSettings, *, checkout: Checkout, account: GatewayAccount,
                copy: ClientCopy, network: str, payer: cash.CashPayer, public_url: str, now: dt.datetime) -> Checkout:
    """Asks the gateway for the voucher and keeps it: the checkout is pending with it from then on (published).
    CheckoutUnavailable (Spanish) when the gateway declines or cannot be asked; nothing is kept then."""
    request = cash.CashRequest(
        reference=checkout.reference, amount=checkout.amount, currency=checkout.currency, country=copy.country,
        description=description(checkout.account_ref), expires_at=checkout.expires_at or now + CASH_TTL,
        notification_url=webhook_url(public_url, account.webhook_id), payer=payer)
    base_url = settings.stripe_api_base_url if account.kind == "stripe" else None
    try:
        issued = await cash.issue_voucher(account, request, network=network, base_url=base_url,
                                          timeout_s=settings.gateway_api_timeout_s, now=now)
    except cash.CashRefused as e:
        # Only the gateway's code is kept (never its text, which may repeat what the payer typed).
        raise CheckoutUnavailable("gateway_declined", f"La pasarela no emitió el comprobante ({e.reason}). Revise "
                                  "sus datos o elija otro punto de pago.", 422) from None
    except GatewayUnreachable:
        raise CheckoutUnavailable("gateway_unreachable", GATEWAY_UNREACHABLE) from None
    voucher = Voucher(network=issued.voucher.network, reference=issued.voucher.reference,
                      expires_at=issued.voucher.expires_at, voucher_url=issued.voucher.voucher_url)
    async with db.transaction() as s:
        current = await checkouts.of_reference(s, checkout.reference, for_update=True)
        assert current is not None
        if current.voucher is not None:
            return current  # another submission of the form kept its voucher first (the same one, by idempotency)
        await checkouts.set_voucher(s, checkout.reference, voucher, gateway_payment_id=issued.gateway_payment_id,
                                    now=now)
        shown = replace(current, voucher=voucher, gateway_payment_id=issued.gateway_payment_id,
                        expires_at=voucher.expires_at or current.expires_at, updated_at=now)
        if current.status == "created":
            await checkouts.set_status(s, checkout.reference, "pending", now=now)
            await outbox.add(s, [updated(shown, "pending", now).envelope(client=checkout.client, occurred_at=now)])
            shown = replace(shown, status="pending")
    return shown
