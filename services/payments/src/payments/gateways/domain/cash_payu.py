"""PayU Latam cash vouchers as documented: the Payments API's SUBMIT_TRANSACTION for a cash method and the voucher
its answer holds."""

# Payments API, "Submit transactions using cash" of each country
# (https://developers.payulatam.com/latam/en/docs/integrations/api-integration/payments-api-colombia.html, and the
# -mexico.html and -peru.html pages): POST JSON to .../payments-api/4.0/service.cgi (sandbox.api.payulatam.com for
# tests) with language, command SUBMIT_TRANSACTION, test, merchant {apiLogin, apiKey}, transaction {order {accountId,
# referenceCode, description, language, signature, notifyUrl, additionalValues {TX_VALUE {value, currency}}, buyer},
# payer, type AUTHORIZATION_AND_CAPTURE, paymentMethod, paymentCountry, expirationDate, ipAddress}.
# The order's `signature` is MD5 of "ApiKey~merchantId~referenceCode~tx_value~currency" (the value as sent: the
# Colombian and Mexican examples verify with "65000" and "1000"; the Peruvian example's signature does not verify
# with any value form, see the unit test). `expirationDate` is "YYYY-MM-DDTHH:MM:SS.sss" and, as every example's
# answer shows (EXPIRATION_DATE 1624568315804 for 2021-06-24T20:58:35.804), read in UTC.
# The answer: code SUCCESS or ERROR (with `error`); transactionResponse {orderId, transactionId, state PENDING,
# responseCode PENDING_TRANSACTION_CONFIRMATION, extraParameters {REFERENCE, EXPIRATION_DATE (epoch ms),
# URL_PAYMENT_RECEIPT_HTML, URL_PAYMENT_RECEIPT_PDF, BAR_CODE (Mexico, Peru)}}. The later confirmation carries the
# transactionId as `transaction_id` and our referenceCode as `reference_sale`.
# Colombia's TX_TAX: "If this parameter is not set, PayU applies the current tax value (19%). If the amount does not
# have IVA, send 0": a debt payment has none, so 0 (and its base 0) is sent.

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from payments.gateways.domain.cash import (
    CashRefused,
    CashRequest,
    IssuedVoucher,
    two_decimals,
    voucher_reference,
    voucher_url,
)
from payments.gateways.domain.notifications import (
    Json,
    MalformedNotification,
    epoch_seconds,
    load_object,
    obj,
    text,
)
from payments.gateways.domain.payu import checkout_signature
from recaudo_common.events import CashVoucher

PRODUCTION_URL = "https://api.payulatam.com/payments-api/4.0/service.cgi"
SANDBOX_URL = "https://sandbox.api.payulatam.com/payments-api/4.0/service.cgi"
# PayU's public test merchant (https://developers.payulatam.com/latam/en/docs/getting-started/test-your-solution.html):
# an account with it is a sandbox account, asked at the sandbox host in test mode, as Wompi's pub_test_ keys are.
SANDBOX_MERCHANT = "508029"
_VALUE = "\u0000TX_VALUE\u0000"  # stands for the value's exact text while the rest is serialised


def is_sandbox(merchant_id: str) -> bool:
    return merchant_id == SANDBOX_MERCHANT


def base_url(merchant_id: str, override: str | None) -> str:
    if override:
        return override.rstrip("/")
    return SANDBOX_URL if is_sandbox(merchant_id) else PRODUCTION_URL


def value_text(amount: Decimal) -> str:
    """TX_VALUE as sent and signed: whole amounts without decimals (65000), others with two (150.50)."""
    amount = two_decimals(amount)
    return str(int(amount)) if amount == amount.to_integral_value() else f"{amount:.2f}"


def expiration_date(at: dt.datetime) -> str:
    utc = at.astimezone(dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}"


def submit_transaction(request: CashRequest, *, method: str, api_key: str, api_login: str, merchant_id: str,
                       account_id: str, test: bool) -> bytes:
    """The SUBMIT_TRANSACTION body (UTF-8 JSON) for a cash method."""
    payer = request.payer
    assert payer is not None  # check_request refused a request without one
    country, currency, value = request.country.upper(), request.currency.upper(), value_text(request.amount)
    address = {k: v for k, v in (("street1", payer.street), ("city", payer.city), ("state", payer.state),
                                 ("country", country), ("postalCode", payer.postal_code),
                                 ("phone", payer.phone)) if v}
    person: dict[str, Json] = {k: v for k, v in (("fullName", payer.full_name), ("emailAddress", payer.email),
                                                 ("contactPhone", payer.phone), ("dniNumber", payer.id_number))
                               if v}
    buyer: dict[str, Json] = {**person, **({"shippingAddress": dict(address)} if payer.street else {})}
    payer_json: dict[str, Json] = {**person, **({"billingAddress": dict(address)} if payer.street else {})}
    if payer.id_type:
        payer_json["dniType"] = payer.id_type
    additional: dict[str, Json] = {"TX_VALUE": {"value": _VALUE, "currency": currency}}
    if country == "CO":
        additional["TX_TAX"] = {"value": 0, "currency": currency}
        additional["TX_TAX_RETURN_BASE"] = {"value": 0, "currency": currency}
    body: dict[str, Json] = {
        "language": "es",
        "command": "SUBMIT_TRANSACTION",
        "merchant": {"apiKey": api_key, "apiLogin": api_login},
        "transaction": {
            "order": {
                "accountId": account_id,
                "referenceCode": request.reference,
                "description": request.description[:255],
                "language": "es",
                "signature": checkout_signature(api_key=api_key, merchant_id=merchant_id,
                                                reference_code=request.reference, amount=value, currency=currency),
                "notifyUrl": request.notification_url,
                "additionalValues": additional,
                "buyer": buyer,
            },
            "payer": payer_json,
            "type": "AUTHORIZATION_AND_CAPTURE",
            "paymentMethod": method,
            "expirationDate": expiration_date(request.expires_at),
            "paymentCountry": country,
            "ipAddress": payer.ip_address,
        },
        "test": test,
    }
    # The value goes as a JSON number whose text is exactly the one signed.
    return json.dumps(body, ensure_ascii=False).replace(json.dumps(_VALUE), value).encode("utf-8")


def read_voucher(raw: bytes, *, network: str) -> IssuedVoucher:
    """The answer as a voucher: code ERROR, or a state other than PENDING, is a refusal (by PayU's responseCode);
    an answer of another shape is MalformedNotification."""
    answer = load_object(raw)
    code = text(answer, "code", required=False, max_len=16)
    if code == "ERROR":
        raise CashRefused("payu_error")
    if code != "SUCCESS":
        raise MalformedNotification("code is neither SUCCESS nor ERROR")
    response = obj(answer, "transactionResponse")
    state = text(response, "state", max_len=32)
    if state != "PENDING":
        reason = text(response, "responseCode", required=False, max_len=64) or state or "declined"
        raise CashRefused(f"payu_{reason}" if reason.replace("_", "").isalnum() else "payu_declined")
    transaction_id = text(response, "transactionId", max_len=64)
    extra = obj(response, "extraParameters")
    # BAR_CODE is what the cash point keys in where PayU gives one (Mexico, Peru's CIP); else REFERENCE.
    number = voucher_reference(extra.get("BAR_CODE")) or voucher_reference(extra.get("REFERENCE"))
    if number is None:
        raise MalformedNotification("extraParameters has no REFERENCE")
    return IssuedVoucher(gateway_payment_id=transaction_id, voucher=CashVoucher(
        network=network, reference=number, expires_at=_expires(extra.get("EXPIRATION_DATE")),
        voucher_url=voucher_url(extra.get("URL_PAYMENT_RECEIPT_HTML"))))


def _expires(value: Json) -> dt.datetime | None:
    """EXPIRATION_DATE in JSON is epoch milliseconds."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 10**14:
        return None
    return epoch_seconds(value // 1000, "EXPIRATION_DATE") + dt.timedelta(milliseconds=value % 1000)
