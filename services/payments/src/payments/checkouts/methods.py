"""Which ways to pay a client company's gateway accounts allow: the accounts that can open a hosted checkout, and
payment.methods_available published whenever its accounts change (the debtor page offers only what is there)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from payments import store as ledger
from payments.checkouts import cash
from payments.checkouts.domain import checkout_capable
from payments.gateways import store as gateways
from payments.gateways.store import GatewayAccount
from payments.handlers import outbox
from recaudo_common.client_copy import get_client
from recaudo_common.events import PaymentMethodsAvailable
from recaudo_common.personal_data import MasterKeyring

# The payer data a debtor gives payments for a cash voucher. None yet: there is no form that asks it (every gateway
# wants at least an e-mail), so no cash network is offered (see docs/gateways.md, "Checkout").
CASH_PAYER_FIELDS: tuple[str, ...] = ()


async def checkout_accounts(s: AsyncSession, keyring: MasterKeyring, client: str) -> list[GatewayAccount]:
    """The client company's gateway accounts that can open a hosted checkout, the oldest first."""
    names = (await s.scalars(text("SELECT name FROM payments.gateway_accounts WHERE client_slug = :c "
                                  "ORDER BY created_at, name"), {"c": client})).all()
    found = []
    for name in names:
        account = await gateways.account_of(s, keyring, client, name)
        if account is not None and checkout_capable(account.kind, {**account.settings, **account.secrets}):
            found.append(account)
    return found


async def publish_methods(s: AsyncSession, keyring: MasterKeyring, *, client: str, now: dt.datetime) -> None:
    """Publishes which ways to pay the client company's gateway accounts allow (payment.methods_available), in
    the caller's transaction: online when any can open a hosted checkout, the cash networks the cash-voucher flow
    knows for them."""
    capable = await checkout_accounts(s, keyring, client)
    copy = await get_client(s, ledger.SCHEMA, client)
    networks: set[str] = set()
    if copy is not None:
        for name in (await s.scalars(text("SELECT name FROM payments.gateway_accounts WHERE client_slug = :c"),
                                     {"c": client})).all():
            account = await gateways.account_of(s, keyring, client, name)
            if account is not None:
                networks.update(cash.cash_networks(account, copy.country, payer_known=CASH_PAYER_FIELDS))
    await outbox.add(s, [PaymentMethodsAvailable(online=bool(capable), cash_networks=sorted(networks), changed_at=now)
                         .envelope(client=client, occurred_at=now)])
