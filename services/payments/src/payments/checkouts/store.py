"""Checkouts' table: one row per click on the debtor page (the ticket's nonce), found by the payment reference the
platform issued, with the state the gateway's notifications left it in. References and amounts only."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from payments.checkouts.domain import Checkout, CheckoutStatus, Voucher
from recaudo_common.db import sql

_COLUMNS = ("reference, client_slug, account_ref, gateway_account, gateway, method, amount, currency, status, "
            "gateway_payment_id, gateway_url, voucher_network, voucher_reference, voucher_url, expires_at, "
            "link_token, created_at, updated_at")


def _checkout(row: Row[Any]) -> Checkout:
    voucher = None if row.voucher_reference is None else Voucher(
        network=row.voucher_network, reference=row.voucher_reference, expires_at=row.expires_at,
        voucher_url=row.voucher_url)
    return Checkout(reference=row.reference, client=row.client_slug, account_ref=row.account_ref,
                    gateway_account=row.gateway_account, gateway=row.gateway, method=row.method,
                    amount=row.amount, currency=row.currency, status=row.status,
                    gateway_payment_id=row.gateway_payment_id, gateway_url=row.gateway_url, voucher=voucher,
                    expires_at=row.expires_at, link_token=row.link_token, created_at=row.created_at,
                    updated_at=row.updated_at)


async def insert(s: AsyncSession, checkout: Checkout, *, nonce: str) -> bool:
    """Inserts the checkout unless the ticket's nonce already made one (False: the earlier one stands)."""
    inserted = await s.scalar(sql(
        f"""INSERT INTO payments.checkouts ({_COLUMNS}, ticket_nonce)
            VALUES (:reference, :client, :account_ref, :gateway_account, :gateway, :method, :amount, :currency,
                    :status, NULL, NULL, NULL, NULL, NULL, :expires_at, :link_token, :now, :now, :nonce)
            ON CONFLICT (client_slug, ticket_nonce) DO NOTHING RETURNING 1"""),
        {"reference": checkout.reference, "client": checkout.client, "account_ref": checkout.account_ref,
         "gateway_account": checkout.gateway_account, "gateway": checkout.gateway, "method": checkout.method,
         "amount": checkout.amount, "currency": checkout.currency, "status": checkout.status,
         "expires_at": checkout.expires_at, "link_token": checkout.link_token, "now": checkout.created_at,
         "nonce": nonce})
    return inserted is not None


async def of_nonce(s: AsyncSession, client: str, nonce: str) -> Checkout | None:
    row = (await s.execute(sql(f"SELECT {_COLUMNS} FROM payments.checkouts WHERE client_slug = :c "
                               "AND ticket_nonce = :n"), {"c": client, "n": nonce})).first()
    return None if row is None else _checkout(row)


async def of_reference(s: AsyncSession, reference: str, *, client: str | None = None,
                       for_update: bool = False) -> Checkout | None:
    """The checkout under this reference (of this client company when one is given)."""
    row = (await s.execute(sql(
        f"SELECT {_COLUMNS} FROM payments.checkouts WHERE reference = :r "
        "AND (CAST(:c AS text) IS NULL OR client_slug = :c)" + (" FOR UPDATE" if for_update else "")),
        {"r": reference, "c": client})).first()
    return None if row is None else _checkout(row)


async def set_gateway_checkout(s: AsyncSession, reference: str, *, gateway_payment_id: str | None,
                               gateway_url: str | None, now: dt.datetime) -> None:
    """Keeps what the gateway answered when the checkout was opened there (a repeated click is sent to it again)."""
    await s.execute(sql("UPDATE payments.checkouts SET gateway_payment_id = :g, gateway_url = :u, updated_at = :now "
                        "WHERE reference = :r"), {"r": reference, "g": gateway_payment_id, "u": gateway_url,
                                                  "now": now})


async def set_voucher(s: AsyncSession, reference: str, voucher: Voucher, *, gateway_payment_id: str | None,
                      now: dt.datetime) -> None:
    """Keeps the cash voucher the gateway issued for the checkout (it is pending until the debtor pays it)."""
    await s.execute(sql(
        """UPDATE payments.checkouts SET voucher_network = :n, voucher_reference = :v, voucher_url = :u,
               expires_at = coalesce(:x, expires_at), gateway_payment_id = coalesce(:g, gateway_payment_id),
               updated_at = :now WHERE reference = :r"""),
        {"r": reference, "n": voucher.network, "v": voucher.reference, "u": voucher.voucher_url,
         "x": voucher.expires_at, "g": gateway_payment_id, "now": now})


async def set_status(s: AsyncSession, reference: str, status: CheckoutStatus, *, now: dt.datetime) -> None:
    await s.execute(sql("UPDATE payments.checkouts SET status = :st, updated_at = :now WHERE reference = :r"),
                    {"r": reference, "st": status, "now": now})
