"""Checkouts' pure parts: each gateway's checkout built exactly as its documentation says (the documented worked
examples reproduced), the platform's payment reference, which accounts can open a checkout, and what each
notification does to a checkout's state."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

import pytest

from payments.checkouts.domain import REFERENCE, checkout_capable, new_reference, next_status, payu, stripe, wompi
from payments.checkouts.domain import mercadopago as mp
from payments.gateways.domain.notifications import MalformedNotification

pytestmark = pytest.mark.unit

AT = dt.datetime(2026, 3, 31, 15, 0, tzinfo=dt.UTC)


def test_the_wompi_web_checkout_is_the_documented_get_form_with_its_integrity_signature() -> None:
    """https://docs.wompi.co/docs/colombia/widget-checkout-web/: the step-3 example (reference
    sk8-438k4-xmxm392-sn2m, 2490000 cents, COP, prod_integrity_Z5mMke9x0k8gpErbDqwrJXMqsI6SFli6) signs to 37c84077..."""
    fields = wompi.checkout_fields(
        public_key="pub_prod_Kw4aC0rZVgLZQn209NbEKPuXLzBD28Zx",
        integrity_secret="prod_integrity_Z5mMke9x0k8gpErbDqwrJXMqsI6SFli6", reference="sk8-438k4-xmxm392-sn2m",
        amount=Decimal("24900"), currency="COP", redirect_url="https://recaudo.example.com/checkout/RC1",
        expires_at=None)
    assert fields == [("public-key", "pub_prod_Kw4aC0rZVgLZQn209NbEKPuXLzBD28Zx"), ("currency", "COP"),
                      ("amount-in-cents", "2490000"), ("reference", "sk8-438k4-xmxm392-sn2m"),
                      ("signature:integrity", "37c8407747e595535433ef8f6a811d853cd943046624a0ec04662b17bbf33bf5"),
                      ("redirect-url", "https://recaudo.example.com/checkout/RC1")]
    url = urlsplit(wompi.checkout_url(fields))
    assert (url.scheme, url.netloc, url.path) == ("https", "checkout.wompi.co", "/p/")
    assert parse_qsl(url.query) == fields  # what the browser's GET form would send


def test_a_wompi_checkout_with_an_expiration_signs_it_between_the_currency_and_the_secret() -> None:
    """The page's concatenation with `2023-06-09T20:28:50.000Z` (it publishes no digest for it)."""
    at = dt.datetime(2023, 6, 9, 20, 28, 50, tzinfo=dt.UTC)
    fields = dict(wompi.checkout_fields(
        public_key="pub_test_x", integrity_secret="prod_integrity_Z5mMke9x0k8gpErbDqwrJXMqsI6SFli6",
        reference="sk8-438k4-xmxm392-sn2m", amount=Decimal("24900"), currency="COP", redirect_url="https://r",
        expires_at=at))
    concatenated = "sk8-438k4-xmxm392-sn2m2490000COP2023-06-09T20:28:50.000Zprod_integrity_Z5mMke9x0k8gpErbDqwrJXMqsI6SFli6"
    assert fields["expiration-time"] == "2023-06-09T20:28:50.000Z"
    assert fields["signature:integrity"] == hashlib.sha256(concatenated.encode()).hexdigest()
    with pytest.raises(ValueError):
        wompi.checkout_fields(public_key="pub_test_x", integrity_secret="s", reference="R", amount=Decimal("1.005"),
                              currency="COP", redirect_url="https://r", expires_at=None)


def test_the_payu_form_is_the_documented_one_with_its_md5_signature() -> None:
    """https://developers.payulatam.com/latam/es/docs/integrations/webcheckout-integration/payment-form.html: the
    example form (ApiKey 4Vj8eK4rloUd272L48hsrarnUA, merchantId 508029, TestPayU, 20000, COP) signs to 7ee7cf80...
    tax and taxReturnBase are 0 here (a debt is exempt: without them PayU adds 19 % VAT); no buyerEmail (payments
    holds none: PayU's page asks the payer)."""
    form = payu.checkout_form(api_key="4Vj8eK4rloUd272L48hsrarnUA", merchant_id="508029", account_id="512321",
                              reference="TestPayU", description="Test PAYU", amount=Decimal("20000"), currency="COP",
                              response_url="http://www.test.com/response",
                              confirmation_url="http://www.test.com/confirmation", action=payu.SANDBOX_URL)
    assert form.action == "https://sandbox.checkout.payulatam.com/ppp-web-gateway-payu/"
    assert form.fields == [
        ("merchantId", "508029"), ("accountId", "512321"), ("description", "Test PAYU"),
        ("referenceCode", "TestPayU"), ("amount", "20000"), ("tax", "0"), ("taxReturnBase", "0"), ("currency", "COP"),
        ("signature", "7ee7cf808ce6a39b17481c54f2c57acc"), ("test", "1"),
        ("responseUrl", "http://www.test.com/response"), ("confirmationUrl", "http://www.test.com/confirmation")]
    production = payu.checkout_form(api_key="k", merchant_id="1", account_id="2", reference="R", description="d",
                                    amount=Decimal("150.50"), currency="COP", response_url="r", confirmation_url="c")
    assert production.action == "https://checkout.payulatam.com/ppp-web-gateway-payu/"
    assert dict(production.fields)["test"] == "0" and dict(production.fields)["amount"] == "150.50"
    assert "buyerEmail" not in dict(form.fields)


def test_the_mercado_pago_preference_is_the_documented_body_and_its_answer_is_read() -> None:
    body = json.loads(mp.preference_body(
        reference="RCAAAA", title="Pago de la obligación A-1", amount=Decimal("150000.50"), currency="COP",
        return_url="https://r/checkout/RCAAAA", notification_url="https://r/v1/webhooks/gateways/x", now=AT,
        expires_at=AT + dt.timedelta(hours=1)))
    assert body == {
        "items": [{"id": "RCAAAA", "title": "Pago de la obligación A-1", "quantity": 1, "currency_id": "COP",
                   "unit_price": 150000.5}],
        "external_reference": "RCAAAA",
        "back_urls": {"success": "https://r/checkout/RCAAAA", "pending": "https://r/checkout/RCAAAA",
                      "failure": "https://r/checkout/RCAAAA"},
        "auto_return": "approved", "notification_url": "https://r/v1/webhooks/gateways/x",
        "expires": True, "expiration_date_from": "2026-03-31T15:00:00.000+00:00",
        "expiration_date_to": "2026-03-31T16:00:00.000+00:00"}
    # An answer of the documented shape (POST /checkout/preferences, 201: id, init_point, sandbox_init_point).
    answer = json.dumps({"id": "202809963-920c288b-4ebb-40be-966f-700250fa5370",
                         "init_point": "https://www.mercadopago.com.co/checkout/v1/redirect?pref_id=202809963-920c",
                         "sandbox_init_point": "https://sandbox.mercadopago.com.co/checkout/v1/redirect?pref_id=2028"}
                        ).encode()
    assert mp.read_preference(answer, test=False) == (
        "202809963-920c288b-4ebb-40be-966f-700250fa5370",
        "https://www.mercadopago.com.co/checkout/v1/redirect?pref_id=202809963-920c")
    assert mp.read_preference(answer, test=True)[1].startswith("https://sandbox.mercadopago.com.co/")
    assert mp.is_test_token("TEST-123") and not mp.is_test_token("APP_USR-123")
    with pytest.raises(MalformedNotification):
        mp.read_preference(json.dumps({"id": "1", "init_point": "javascript:alert(1)"}).encode(), test=False)


def test_the_stripe_session_is_form_encoded_in_the_currency_s_minor_unit() -> None:
    fields = stripe.session_fields(reference="RCAAAA", name="Pago de la obligación A-1", amount=Decimal("150000.50"),
                                   currency="COP", success_url="https://r/checkout/RCAAAA?session_id={CHECKOUT_SESSION_ID}",
                                   cancel_url="https://r/checkout/RCAAAA", expires_at=AT + dt.timedelta(hours=1))
    assert fields == [
        ("mode", "payment"), ("line_items[0][price_data][currency]", "cop"),
        ("line_items[0][price_data][unit_amount]", "15000050"),
        ("line_items[0][price_data][product_data][name]", "Pago de la obligación A-1"),
        ("line_items[0][quantity]", "1"), ("client_reference_id", "RCAAAA"), ("metadata[reference]", "RCAAAA"),
        ("success_url", "https://r/checkout/RCAAAA?session_id={CHECKOUT_SESSION_ID}"),
        ("cancel_url", "https://r/checkout/RCAAAA"), ("expires_at", str(int(AT.timestamp()) + 3600))]
    # https://docs.stripe.com/currencies#zero-decimal: CLP and JPY are whole units; KWD has three decimals.
    assert stripe.unit_amount(Decimal("25000"), "CLP") == 25000
    assert stripe.unit_amount(Decimal("1.234"), "KWD") == 1234
    with pytest.raises(ValueError):
        stripe.unit_amount(Decimal("25000.5"), "CLP")
    answer = json.dumps({"id": "cs_test_a1", "object": "checkout.session",
                         "url": "https://checkout.stripe.com/c/pay/cs_test_a1"}).encode()
    assert stripe.read_session(answer) == ("cs_test_a1", "https://checkout.stripe.com/c/pay/cs_test_a1")


def test_the_platform_reference_is_unguessable_letters_and_digits() -> None:
    references = {new_reference() for _ in range(200)}
    assert len(references) == 200
    assert all(REFERENCE.fullmatch(r) and r.isalnum() for r in references)


def test_only_accounts_with_what_checkout_needs_can_open_one() -> None:
    assert checkout_capable("stripe", {"webhook_secret": "w", "secret_key": "sk_test_1"})
    assert not checkout_capable("stripe", {"webhook_secret": "w"})
    assert checkout_capable("wompi", {"public_key": "pub_test_1", "integrity_secret": "i", "events_secret": "e"})
    assert checkout_capable("payu", {"api_key": "k", "merchant_id": "1", "account_id": "2"})
    assert not checkout_capable("payu", {"api_key": "k", "merchant_id": "1"})
    assert checkout_capable("mercadopago", {"access_token": "t"})
    assert not checkout_capable("sandbox", {"secret": "s"})


@pytest.mark.parametrize(("current", "notified", "expected"), [
    ("created", "approved", "approved"), ("created", "pending", "pending"), ("created", "declined", "declined"),
    ("pending", "approved", "approved"), ("pending", "expired", "expired"), ("created", "voided", "declined"),
    ("approved", "pending", None), ("approved", "declined", None), ("approved", "approved", None),
    ("approved", "voided", "declined"), ("declined", "approved", "approved"), ("declined", "pending", None),
    ("expired", "approved", "approved"), ("created", "refunded", None), ("pending", "pending", None),
])
def test_a_notification_moves_a_checkout_as_its_payment_went(current: str, notified: str,
                                                            expected: str | None) -> None:
    assert next_status(current, notified) == expected  # type: ignore[arg-type]
