"""Checkouts' wire contract (v1): what an operator reads of a debtor's checkout. Nothing about the payer."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

from payments.checkouts.domain import Checkout
from recaudo_common.events import CashVoucher


class CheckoutOut(BaseModel):
    """v1: a checkout's state (`pending` while a voucher or a delayed method waits to be paid), the money it asks,
    the gateway account it was opened at and, for cash, the voucher."""

    model_config = ConfigDict(frozen=True, json_schema_extra={"examples": [{
        "version": 1, "reference": "RCWUHOLAK5BI5GO6ULSYVZ", "account_ref": "CR-2024-000187",
        "gateway": "mercadopago", "gateway_account": "efectivo", "method": "cash", "status": "pending",
        "amount": "200000.00", "currency": "COP",
        "voucher": {"network": "efecty", "reference": "1325678901", "expires_at": "2026-12-08T23:59:59-05:00",
                    "voucher_url": "https://www.mercadopago.com.co/payments/1325678901/ticket"},
        "expires_at": "2026-12-08T23:59:59-05:00", "created_at": "2026-12-05T11:20:33-05:00",
        "updated_at": "2026-12-05T11:20:35-05:00"}]})

    version: Literal[1] = 1
    reference: str
    account_ref: str
    gateway: str
    gateway_account: str
    method: Literal["online", "cash"]
    status: Literal["created", "pending", "approved", "declined", "expired"]
    amount: Decimal
    currency: str
    voucher: CashVoucher | None = None
    expires_at: dt.datetime | None = None
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def of(cls, checkout: Checkout) -> CheckoutOut:
        voucher = None if checkout.voucher is None else CashVoucher(
            network=checkout.voucher.network, reference=checkout.voucher.reference,
            expires_at=checkout.voucher.expires_at, voucher_url=checkout.voucher.voucher_url)
        return cls(reference=checkout.reference, account_ref=checkout.account_ref, gateway=checkout.gateway,
                   gateway_account=checkout.gateway_account, method=checkout.method, status=checkout.status,
                   amount=checkout.amount, currency=checkout.currency, voucher=voucher,
                   expires_at=checkout.expires_at, created_at=checkout.created_at, updated_at=checkout.updated_at)
