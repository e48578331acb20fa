"""Which ways to pay a client company's gateway accounts allow: the accounts that can open a hosted checkout, and
payment.methods_available published whenever its accounts change (the debtor page offers only what is there)."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from payments import store as ledger
from payments.checkouts import cash
from payments.checkouts.domain import checkout_capable
from payments.gateways import store as gateways
from payments.gateways.store import GatewayAccount
from payments.handlers import outbox
from recaudo_common.client_copy import get_client
from recaudo_common.db import sql
from recaudo_common.events import PaymentMethodsAvailable
from recaudo_common.personal_data import MasterKeyring

# The payer data the cash form asks the debtor (what each gateway demands of its country, `cash.payer_fields`; the
# browser's address is the request's): passed to the gateway only, never stored or logged.
CASH_PAYER_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(cash.CashPayer))


async def accounts_of(s: AsyncSession, keyring: MasterKeyring, client: str) -> list[GatewayAccount]:
    """The client company's gateway accounts with their credentials opened, the oldest first."""
    names = (await s.scalars(sql("SELECT name FROM payments.gateway_accounts WHERE client_slug = :c "
                                 "ORDER BY created_at, name"), {"c": client})).all()
    return [a for name in names if (a := await gateways.account_of(s, keyring, client, name)) is not None]


def online_capable(account: GatewayAccount) -> bool:
    return checkout_capable(account.kind, {**account.settings, **account.secrets})


def cash_networks(account: GatewayAccount, country: str) -> list[str]:
    """The cash networks the account can issue vouchers for, the payer answering the cash form."""
    return cash.cash_networks(account, country, payer_known=CASH_PAYER_FIELDS)


async def checkout_accounts(s: AsyncSession, keyring: MasterKeyring, client: str, *, method: str = "online",
                            country: str = "") -> list[GatewayAccount]:
    """The client company's accounts that can take a checkout of `method` (cash: in `country`), the oldest first."""
    accounts = await accounts_of(s, keyring, client)
    if method == "cash":
        return [a for a in accounts if cash_networks(a, country)]
    return [a for a in accounts if online_capable(a)]


async def publish_methods(s: AsyncSession, keyring: MasterKeyring, *, client: str, now: dt.datetime) -> None:
    """Publishes which ways to pay the client company's gateway accounts allow (payment.methods_available), in
    the caller's transaction: online when any can open a hosted checkout, and the cash networks they can issue."""
    accounts = await accounts_of(s, keyring, client)
    copy = await get_client(s, ledger.SCHEMA, client)
    networks = {n for a in accounts for n in cash_networks(a, copy.country)} if copy is not None else set()
    online = any(online_capable(a) for a in accounts)
    await outbox.add(s, [PaymentMethodsAvailable(online=online, cash_networks=sorted(networks), changed_at=now)
                         .envelope(client=client, occurred_at=now)])
