"""PayU WebCheckout as documented: an HTML form the browser POSTs to PayU's gateway, signed with the account's API
key (https://developers.payulatam.com/latam/es/docs/integrations/webcheckout-integration/payment-form.html)."""

# Mandatory fields: merchantId, accountId, description, referenceCode (unique per transaction, no special
# characters), amount (at most two decimals), tax and taxReturnBase (0 when exempt: a debt is no sale, and without
# them PayU applies Colombia's 19 % VAT), currency, signature (MD5 of "ApiKey~merchantId~referenceCode~amount~currency"
# over the exact texts sent) and buyerEmail. Payments knows no debtor's e-mail (personal data stays in outreach's
# vault): the field is left out and PayU's page asks the payer for it. `test` is 1 only at PayU's sandbox URL.
# responseUrl is where the browser returns, confirmationUrl where PayU POSTs its confirmation (the account's webhook).
# Production: https://checkout.payulatam.com/ppp-web-gateway-payu/
# Sandbox: https://sandbox.checkout.payulatam.com/ppp-web-gateway-payu/

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from payments.gateways.domain.payu import checkout_signature
from recaudo_common.money import CENT

PRODUCTION_URL = "https://checkout.payulatam.com/ppp-web-gateway-payu/"
SANDBOX_URL = "https://sandbox.checkout.payulatam.com/ppp-web-gateway-payu/"


@dataclass(frozen=True)
class PayUForm:
    """The auto-submitting form: where it posts and its fields in the documented order."""

    action: str
    fields: list[tuple[str, str]]


def amount_text(amount: Decimal) -> str:
    """The amount as the form sends (and signs) it: 20000 when whole, 20000.50 otherwise; never over 2 decimals."""
    if amount != amount.quantize(CENT):
        raise ValueError(f"{amount} has fractions of a cent")
    return str(int(amount)) if amount == amount.to_integral_value() else str(amount.quantize(CENT))


def checkout_form(*, api_key: str, merchant_id: str, account_id: str, reference: str, description: str,
                  amount: Decimal, currency: str, response_url: str, confirmation_url: str,
                  action: str = PRODUCTION_URL) -> PayUForm:
    value = amount_text(amount)
    signature = checkout_signature(api_key=api_key, merchant_id=merchant_id, reference_code=reference,
                                   amount=value, currency=currency)
    return PayUForm(action=action, fields=[
        ("merchantId", merchant_id), ("accountId", account_id), ("description", description),
        ("referenceCode", reference), ("amount", value), ("tax", "0"), ("taxReturnBase", "0"),
        ("currency", currency), ("signature", signature), ("test", "1" if action == SANDBOX_URL else "0"),
        ("responseUrl", response_url), ("confirmationUrl", confirmation_url)])
