"""Gateway accounts' wire contracts (v1): the configuration an operator puts, discriminated by `kind`, what the
API answers (never a secret: only whether each optional credential is set), and what a notification did."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from recaudo_common.pagination import Page

DEFAULT_MERCADOPAGO_API = "https://api.mercadopago.com"
NAME = r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"  # the client company's label for the account: a safe slug
HTTP_URL = r"^https?://[^\s/?#@]+(/[^\s?#]*)?$"

Secret = Annotated[str, Field(min_length=1, max_length=512, description="sealed at rest, never returned")]
Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WompiIn(_In):
    kind: Literal["wompi"]
    events_secret: Secret
    integrity_secret: Secret
    public_key: str = Field(pattern=r"^pub_(prod|test)_[A-Za-z0-9]{1,128}$",
                            description="pub_prod_… or pub_test_…: which of Wompi's environments the account is in")
    private_key: Secret | None = Field(None, description="optional: only what checkout or reconciliation needs")


class MercadoPagoIn(_In):
    kind: Literal["mercadopago"]
    access_token: Secret
    webhook_secret: Secret
    api_base_url: str = Field(DEFAULT_MERCADOPAGO_API, pattern=HTTP_URL, max_length=300)


class PayUIn(_In):
    kind: Literal["payu"]
    api_key: Secret
    merchant_id: str = Field(pattern=r"^[0-9]{1,20}$")
    account_id: str = Field(pattern=r"^[0-9]{1,20}$")
    api_login: Secret | None = None


class StripeIn(_In):
    kind: Literal["stripe"]
    webhook_secret: Secret
    secret_key: Secret | None = None


GatewayAccountIn = Annotated[WompiIn | MercadoPagoIn | PayUIn | StripeIn, Field(discriminator="kind")]


class GatewayAccountOut(BaseModel):
    """v1: a gateway account without any secret. `webhook_url` is where the gateway must send its notifications;
    `*_set` say which optional credentials were given (the features needing them stay off until they are)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "name": "principal", "kind": "wompi",
        "webhook_url": "https://pagos.recaudo.example/v1/webhooks/gateways/wh_3kT9qZ7mX2vB8nL4",
        "public_key": "pub_test_Q5yDA9xoKdePzhSGeVe9HAez7HgGORGf", "private_key_set": False,
        "created_at": "2026-11-20T10:14:03-05:00", "updated_at": "2026-12-01T16:40:55-05:00"}]})
    name: str
    kind: Literal["wompi", "mercadopago", "payu", "stripe"]
    webhook_url: str
    public_key: str | None = None
    api_base_url: str | None = None
    merchant_id: str | None = None
    account_id: str | None = None
    private_key_set: bool | None = None
    api_login_set: bool | None = None
    secret_key_set: bool | None = None
    created_at: dt.datetime
    updated_at: dt.datetime


# reversal_waiting (added in v1, compatible): a refund or chargeback of a payment not notified yet, recorded and
# applied once the payment is. refund_unconfirmed (added in v1, compatible): a PayU refund confirmation at an account
# without its API login: nothing taken back, the claim recorded for an operator (GET .../refunds/unconfirmed).
NotificationStatus = Literal["applied", "unmatched", "duplicate", "pending", "declined", "voided", "expired",
                             "reversed", "ignored", "reversal_waiting", "refund_unconfirmed"]


class GatewayNotificationOut(BaseModel):
    """v1: what a verified notification did (gateways read only the status code)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "applied",
                                                               "gateway_payment_id": "118594-1764706800-27344"}]})

    status: NotificationStatus
    gateway_payment_id: str | None = None


class UnconfirmedRefundOut(BaseModel):
    """v1: a refund a gateway's notification claimed but its API could not confirm (PayU without the API login), one
    per signed reference, amount and currency; `times` how often it was sent."""

    reference: str
    amount: Decimal
    currency: str
    first_seen: dt.datetime
    last_seen: dt.datetime
    times: int


class UnconfirmedRefundList(Page[UnconfirmedRefundOut]):
    """v1: a page of the account's unconfirmed refunds, the most recently sent first; `next` links the following
    page."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "items": [{"reference": "RCYM7UKQWNNOL43MJPNW3A", "amount": "75000.00", "currency": "COP",
                   "first_seen": "2026-12-03T15:52:18-05:00", "last_seen": "2026-12-03T16:07:55-05:00", "times": 3}],
        "next": "/v1/clients/banco-andino/gateways/principal/refunds/unconfirmed?cursor=WyIyMDI2LTEyLTAzVDIxOjA3OjU1Kz"
                "AwOjAwIiwiUkNZTTdVS1FXTk5PTDQzTUpQTlczQSIsIjc1MDAwLjAwIiwiQ09QIl0&limit=100"}]})
