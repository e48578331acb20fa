"""Cash vouchers (Efecty, Baloto, Su Red, OXXO, PagoEfectivo): which networks each gateway issues in which country,
what it must be told about the payer, and the request and voucher types its builders and readers share. Pure."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
from dataclasses import dataclass, field, fields
from decimal import Decimal

from recaudo_common.events import CashVoucher

# Kind -> the client company's country -> the platform's network name -> the gateway's own method id for it.
# Mercado Pago: https://www.mercadopago.com.co/developers/es/docs/checkout-api/payment-methods/other-payment-methods
# (efecty; oxxo in Mexico; pagoefectivo_atm in Peru). PayU: the Payments API of each country, "Submit transactions
# using cash" (https://developers.payulatam.com/latam/en/docs/integrations/api-integration/payments-api-colombia.html:
# EFECTY, BALOTO, OTHERS_CASH = Su Red; ...-mexico.html: OXXO; ...-peru.html: PAGOEFECTIVO). Stripe: OXXO only, in
# MXN (https://docs.stripe.com/payments/oxxo/accept-a-payment). Wompi's Bancolombia corresponsales are left out: its
# POST /v1/transactions needs an acceptance token that stands for the payer's own acceptance of Wompi's terms and
# data policy, which only the debtor can give on a page that shows them (see docs/gateways.md, "Cash references").
NETWORKS: dict[str, dict[str, dict[str, str]]] = {
    "mercadopago": {"CO": {"efecty": "efecty"}, "MX": {"oxxo": "oxxo"}, "PE": {"pagoefectivo": "pagoefectivo_atm"}},
    "payu": {"CO": {"efecty": "EFECTY", "baloto": "BALOTO", "su_red": "OTHERS_CASH"}, "MX": {"oxxo": "OXXO"},
             "PE": {"pagoefectivo": "PAGOEFECTIVO"}},
    "stripe": {"MX": {"oxxo": "oxxo"}},
}
# The one currency each country's cash networks take.
CURRENCIES = {"CO": "COP", "MX": "MXN", "PE": "PEN"}
# The credentials each gateway's voucher API needs besides what notifications need (optional in the account).
CREDENTIALS: dict[str, tuple[str, ...]] = {"mercadopago": ("access_token",), "payu": ("api_key", "api_login"),
                                           "stripe": ("secret_key",)}

# What each gateway demands of the payer (the CashPayer fields), by kind and country:
# - Mercado Pago: payer.email is the only required payer field of POST /v1/payments
#   (https://www.mercadopago.com.co/developers/es/reference/payments/_payments/post).
# - PayU Colombia and Mexico: the request tables mark the buyer's and payer's full name, e-mail, phone, id number and
#   address (street, city, state, postal code) mandatory, and the device's IP address; Peru's cash section asks only
#   the names and an e-mail ("For cash payments, the following parameters are mandatory"), and the IP address.
# - Stripe OXXO: billing_details name and email (https://docs.stripe.com/payments/oxxo/accept-a-payment).
_PAYU_FULL = ("full_name", "email", "phone", "id_number", "street", "city", "state", "postal_code", "ip_address")
PAYER_FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    "mercadopago": {"CO": ("email",), "MX": ("email",), "PE": ("email",)},
    "payu": {"CO": _PAYU_FULL, "MX": _PAYU_FULL, "PE": ("full_name", "email", "ip_address")},
    "stripe": {"MX": ("full_name", "email")},
}
HTTPS_URL = re.compile(r"https://[^\s\"'<>\\]{1,2040}")
VOUCHER_NUMBER = re.compile(r"[A-Za-z0-9-]{1,64}")


class CashRefused(Exception):
    """The gateway (or the platform, before asking it) declines to issue the voucher. `reason` is a short code
    (the gateway's own error or status code, or payer_data_missing, currency_not_accepted, network_not_offered):
    never the gateway's free text, which may repeat what the payer typed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class CashPayer:
    """What a gateway demands of the payer to issue a voucher. Personal data: passed through to the gateway only,
    never stored or logged (every field is out of the repr)."""

    full_name: str | None = field(default=None, repr=False)
    email: str | None = field(default=None, repr=False)
    phone: str | None = field(default=None, repr=False)
    id_type: str | None = field(default=None, repr=False)  # CC, CE, NIT, DNI, ... as the gateway names them
    id_number: str | None = field(default=None, repr=False)
    street: str | None = field(default=None, repr=False)
    city: str | None = field(default=None, repr=False)
    state: str | None = field(default=None, repr=False)
    postal_code: str | None = field(default=None, repr=False)
    ip_address: str | None = field(default=None, repr=False)  # the debtor's browser, as PayU asks

    def given(self) -> frozenset[str]:
        return frozenset(f.name for f in fields(self) if getattr(self, f.name))


@dataclass(frozen=True)
class CashRequest:
    """A voucher to issue: the platform's payment reference (unique per order) and what it pays."""

    reference: str
    amount: Decimal
    currency: str
    country: str
    description: str
    expires_at: dt.datetime  # aware
    notification_url: str
    payer: CashPayer | None = field(default=None, repr=False)


@dataclass(frozen=True)
class IssuedVoucher:
    """The voucher a gateway issued and its id of the pending payment (what its later notification names)."""

    gateway_payment_id: str | None
    voucher: CashVoucher


def networks_of(kind: str, country: str) -> dict[str, str]:
    return NETWORKS.get(kind, {}).get(country.upper(), {})


def payer_fields_needed(kind: str, country: str) -> tuple[str, ...]:
    return PAYER_FIELDS.get(kind, {}).get(country.upper(), ())


def check_request(kind: str, request: CashRequest, network: str) -> str:
    """The gateway's method id for the network, once the request is one it can take: refused (CashRefused) when the
    network is not the gateway's in that country, the currency not the country's, or payer data missing."""
    method = networks_of(kind, request.country).get(network)
    if method is None:
        raise CashRefused("network_not_offered")
    if CURRENCIES.get(request.country.upper()) != request.currency.upper():
        raise CashRefused("currency_not_accepted")
    if request.expires_at.tzinfo is None:
        raise ValueError("a voucher's expiry must be timezone-aware")
    given = request.payer.given() if request.payer else frozenset()
    missing = [name for name in payer_fields_needed(kind, request.country) if name not in given]
    if missing:
        raise CashRefused("payer_data_missing:" + ",".join(missing))
    return method


def idempotency_key(reference: str, network: str, body: bytes) -> str:
    """One key per (reference, network, request): a retry after a lost answer finds the voucher already issued
    instead of issuing a second one, while a corrected request (the payer's e-mail fixed) is a new one (both
    gateways refuse a key reused with other parameters). A UUID, as Mercado Pago's X-Idempotency-Key suggests; the
    body enters only as a SHA-256 digest."""
    digest = hashlib.sha256(body).hexdigest()
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"recaudo:cash:{reference}:{network}:{digest}"))


def two_decimals(amount: Decimal) -> Decimal:
    """The amount as gateways take it (two decimals at most); one with fractions of a cent is refused."""
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise ValueError(f"{amount} is not a positive amount in cents")
    return amount


def voucher_url(value: object) -> str | None:
    """A printable voucher's address, only when it is https (the page links to it: nothing else may be a link)."""
    return value if isinstance(value, str) and HTTPS_URL.fullmatch(value) else None


def voucher_reference(value: object) -> str | None:
    """The number the debtor gives at the cash point: digits, letters and dashes, as gateways write them."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    return text if VOUCHER_NUMBER.fullmatch(text) else None
