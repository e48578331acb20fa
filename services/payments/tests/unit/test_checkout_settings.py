"""Checkouts' settings: production refuses a checkout URL or Stripe's API over anything but TLS (the debtor's card
and the account's secret key go there); the documented URLs are the defaults."""

from __future__ import annotations

import pytest

from payments.settings import PaymentsSettings

pytestmark = pytest.mark.unit


def test_production_refuses_checkout_urls_without_tls() -> None:
    plain = PaymentsSettings(wompi_checkout_url="http://wompi.internal/p/", payu_checkout_url="http://payu.internal/",
                             stripe_api_base_url="http://127.0.0.1:9999")
    found = [(p.variable, p.problem) for p in plain.production_problems() if "checkout URL" in p.problem
             or "Stripe" in p.problem]
    assert found == [("RECAUDO_PAYMENTS_WOMPI_CHECKOUT_URL", "Wompi's checkout URL is not https (http)"),
                     ("RECAUDO_PAYMENTS_PAYU_CHECKOUT_URL", "PayU's checkout URL is not https (http)"),
                     ("RECAUDO_PAYMENTS_STRIPE_API_BASE_URL", "Stripe's API base URL is not https (http)")]
    defaults = PaymentsSettings()
    assert defaults.wompi_checkout_url == "https://checkout.wompi.co/p/"
    assert defaults.payu_checkout_url == "https://checkout.payulatam.com/ppp-web-gateway-payu/"
    assert not [p for p in defaults.production_problems() if "checkout URL" in p.problem or "Stripe" in p.problem]
