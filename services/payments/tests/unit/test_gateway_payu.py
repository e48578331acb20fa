"""PayU's confirmation `sign` and WebCheckout signature, against the examples its documentation publishes."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payments.gateways.domain.notifications import MalformedNotification, UnverifiedNotification
from payments.gateways.domain.payu import (
    checkout_signature,
    confirmation_signature,
    form_fields,
    new_value,
    read_confirmation,
)
from recaudo_common.domain_errors import DomainError

pytestmark = pytest.mark.unit

# PayU's public sandbox credentials, as its documentation prints them.
API_KEY, MERCHANT = "4Vj8eK4rloUd272L48hsrarnUA", "508029"


# https://developers.payulatam.com/latam/es/docs/integrations/webcheckout-integration/payment-form.html
# ("Firma para el formulario de pago"): one string, three published digests.
@pytest.mark.parametrize("algorithm,expected", [
    ("MD5", "7ee7cf808ce6a39b17481c54f2c57acc"),
    ("SHA1", "fa890d3f94e12b5cdb62e8771453b99b78e7ccdc"),
    ("SHA256", "af3899a22336b79db46006491d15813158826f944599bf3bf601e2327f898022"),
])
def test_the_documented_checkout_signatures(algorithm: str, expected: str) -> None:
    assert checkout_signature(api_key=API_KEY, merchant_id=MERCHANT, reference_code="TestPayU", amount="20000",
                              currency="COP", algorithm=algorithm) == expected  # type: ignore[arg-type]


# https://developers.payulatam.com/latam/es/docs/integrations/confirmation-url.html ("Ejemplos de Firma"):
# HMAC-SHA256 with the secret key test123, one example per rounding branch.
@pytest.mark.parametrize("value,formatted,expected", [
    ("150.00", "150.0", "65fb2b3452572784e23e7d6480359fd2507c54dd285ca3c4dceffb8764cfb66f"),
    ("150.25", "150.25", "7770a7933b90570a078fcacce1790eb13079cdf8f8a6e900b79f4f5eb96b8024"),
])
def test_the_documented_confirmation_signatures(value: str, formatted: str, expected: str) -> None:
    assert new_value(value) == formatted
    assert confirmation_signature(api_key=API_KEY, merchant_id=MERCHANT, reference_sale="PayUTest01", value=value,
                                  currency="USD", state_pol="4", algorithm="HMAC_SHA256", key="test123") == expected
    fields = {"merchant_id": MERCHANT, "reference_sale": "PayUTest01", "value": value, "currency": "USD",
              "state_pol": "4", "transaction_id": "t-1", "sign": expected}
    payment = read_confirmation(urlencode(fields).encode(), api_key=API_KEY, merchant_id=MERCHANT, hmac_key="test123")
    assert (payment.status, payment.amount, payment.currency) == ("approved", Decimal(value), "USD")
    with pytest.raises(UnverifiedNotification):  # without the secret key, an HMAC sign cannot be checked
        read_confirmation(urlencode(fields).encode(), api_key=API_KEY, merchant_id=MERCHANT)


# The same page's "Ejemplo de Petición POST", as published.
DOC_POST = {
    "response_code_pol": "5", "phone": "", "additional_value": "0.00", "test": "1",
    "transaction_date": "2015-05-27 13:07:35", "cc_number": "************0004", "cc_holder": "test_buyer",
    "error_code_bank": "", "billing_country": "CO", "bank_referenced_name": "", "description": "test_payu_01",
    "administrative_fee_tax": "0.00", "value": "100.00", "administrative_fee": "0.00", "payment_method_type": "2",
    "office_phone": "", "email_buyer": "test@payulatam.com", "response_message_pol": "ENTITY_DECLINED",
    "error_message_bank": "", "shipping_city": "", "transaction_id": "f5e668f1-7ecc-4b83-a4d1-0aaa68260862",
    "sign": "e1b0939bbdc99ea84387bee9b90e4f5c", "tax": "0.00", "payment_method": "10", "billing_address": "cll 93",
    "payment_method_name": "VISA", "pse_bank": "", "state_pol": "6", "date": "2015.05.27 01:07:35",
    "nickname_buyer": "", "reference_pol": "7069375", "currency": "USD", "risk": "1.0", "shipping_address": "",
    "bank_id": "10", "payment_request_state": "R", "customer_number": "", "administrative_fee_base": "0.00",
    "attempts": "1", "merchant_id": "508029", "exchange_rate": "2541.15", "shipping_country": "",
    "installments_number": "1", "franchise": "VISA", "payment_method_id": "2", "extra1": "", "extra2": "",
    "antifraudMerchantId": "", "extra3": "", "nickname_seller": "", "ip": "190.242.116.98", "airline_code": "",
    "billing_city": "Bogota", "pse_reference1": "", "reference_sale": "2015-05-27 13:04:37", "pse_reference3": "",
    "pse_reference2": "",
}
# PayU's older public sandbox account (merchant 500238), printed in its earlier docs and SDK samples.
OLD_API_KEY, OLD_MERCHANT = "6u39nqhq8ftd0hlvnjfs66eh8c", "500238"


def test_the_documented_post_is_signed_for_another_merchant_than_it_names() -> None:
    """The example POST says merchant_id=508029, but its sign e1b0939b…4f5c is the MD5 of the documented string
    made with merchant 500238 and that account's API key; with 508029 it verifies under neither sandbox key. The
    example is internally inconsistent: the algorithm (rounding 100.00 -> 100.0 included) is checked on the values
    that produce the published sign, and the example as published is refused."""
    assert hashlib.md5(f"{OLD_API_KEY}~{OLD_MERCHANT}~2015-05-27 13:04:37~100.0~USD~6".encode()).hexdigest() \
        == DOC_POST["sign"]  # noqa: S324
    assert confirmation_signature(api_key=OLD_API_KEY, merchant_id=OLD_MERCHANT, reference_sale="2015-05-27 13:04:37",
                                  value="100.00", currency="USD", state_pol="6") == DOC_POST["sign"]
    consistent = {**DOC_POST, "merchant_id": OLD_MERCHANT}
    payment = read_confirmation(urlencode(consistent).encode(), api_key=OLD_API_KEY, merchant_id=OLD_MERCHANT)
    assert (payment.gateway, payment.payment_id, payment.reference, payment.status, payment.amount, payment.currency,
            payment.method) == ("payu", "f5e668f1-7ecc-4b83-a4d1-0aaa68260862", "2015-05-27 13:04:37", "declined",
                                Decimal("100.0"), "USD", "VISA")
    assert (payment.payer.email, payment.payer.name) == ("test@payulatam.com", "test_buyer")
    assert "test@payulatam.com" not in repr(payment) and "payment_id" not in payment.authenticated
    for api_key in (API_KEY, OLD_API_KEY):
        with pytest.raises(UnverifiedNotification) as refused:
            read_confirmation(urlencode(DOC_POST).encode(), api_key=api_key, merchant_id=MERCHANT)
        assert refused.value.code == "bad_signature"


@pytest.mark.parametrize("value,expected", [
    ("150.00", "150.0"), ("150.0", "150.0"), ("150", "150.0"), ("150.5", "150.5"), ("150.50", "150.5"),
    ("150.25", "150.25"), ("150.26", "150.26"), ("150.20", "150.2"), ("150.05", "150.05"), ("0.00", "0.0"),
    ("100000.01", "100000.01"), ("99999999999999.99", "99999999999999.99"),
])
def test_the_rounding_table(value: str, expected: str) -> None:
    assert new_value(value) == expected


@pytest.mark.parametrize("value", ["", "150.", ".5", "150.255", "-1", "1e3", "150,00", " 150", "1" * 15, "NaN"])
def test_values_not_of_payus_shape_are_refused(value: str) -> None:
    with pytest.raises(MalformedNotification):
        new_value(value)


def signed_fields(**overrides: str) -> dict[str, str]:
    fields = {"merchant_id": MERCHANT, "reference_sale": "REC-7F3K9", "value": "350000.00", "currency": "COP",
              "state_pol": "4", "transaction_id": "0b3b0f2e-6a53-4d6f-a3b1-1c2f0c8e9d11",
              "email_buyer": "ana@example.com", "payment_method_name": "PSE", **overrides}
    fields["sign"] = confirmation_signature(api_key=API_KEY, merchant_id=fields["merchant_id"],
                                            reference_sale=fields["reference_sale"], value=fields["value"],
                                            currency=fields["currency"], state_pol=fields["state_pol"])
    return fields


def test_an_md5_confirmation_reads_as_a_payment() -> None:
    payment = read_confirmation(urlencode(signed_fields()).encode(), api_key=API_KEY, merchant_id=MERCHANT)
    assert (payment.payment_id, payment.reference, payment.status, payment.amount, payment.currency) == (
        "0b3b0f2e-6a53-4d6f-a3b1-1c2f0c8e9d11", "REC-7F3K9", "approved", Decimal("350000.0"), "COP")


def test_the_sign_compares_without_regard_to_case_and_sha256_is_accepted() -> None:
    fields = signed_fields()
    fields["sign"] = fields["sign"].upper()
    assert read_confirmation(urlencode(fields).encode(), api_key=API_KEY, merchant_id=MERCHANT).status == "approved"
    fields["sign"] = confirmation_signature(api_key=API_KEY, merchant_id=MERCHANT, reference_sale="REC-7F3K9",
                                            value="350000.00", currency="COP", state_pol="4", algorithm="SHA256")
    assert read_confirmation(urlencode(fields).encode(), api_key=API_KEY, merchant_id=MERCHANT).status == "approved"


@pytest.mark.parametrize("field,value", [
    ("value", "350001.00"), ("value", "350000.01"), ("reference_sale", "REC-7F3K8"), ("currency", "USD"),
    ("state_pol", "6"), ("merchant_id", "508028"),
])
def test_one_changed_signed_field_fails(field: str, value: str) -> None:
    fields = {**signed_fields(), field: value}
    with pytest.raises(UnverifiedNotification):
        read_confirmation(urlencode(fields).encode(), api_key=API_KEY, merchant_id=MERCHANT)


def test_a_changed_sign_a_wrong_key_and_another_merchant_fail() -> None:
    fields = signed_fields()
    fields["sign"] = fields["sign"][:-1] + ("0" if fields["sign"][-1] != "0" else "1")
    with pytest.raises(UnverifiedNotification):
        read_confirmation(urlencode(fields).encode(), api_key=API_KEY, merchant_id=MERCHANT)
    with pytest.raises(UnverifiedNotification):
        read_confirmation(urlencode(signed_fields()).encode(), api_key="another-key", merchant_id=MERCHANT)
    with pytest.raises(UnverifiedNotification) as other:
        read_confirmation(urlencode(signed_fields()).encode(), api_key=API_KEY, merchant_id="999999")
    assert other.value.code == "wrong_merchant"


def test_a_150_00_confirmation_signed_as_150_00_is_refused() -> None:
    """Signing the value as sent (not rounded) is the classic integration bug; PayU never signs it that way."""
    fields = signed_fields(value="150.00")
    fields["sign"] = hashlib.md5(f"{API_KEY}~{MERCHANT}~REC-7F3K9~150.00~COP~4".encode()).hexdigest()  # noqa: S324
    with pytest.raises(UnverifiedNotification):
        read_confirmation(urlencode(fields).encode(), api_key=API_KEY, merchant_id=MERCHANT)


@pytest.mark.parametrize("state,status", [("4", "approved"), ("5", "expired"), ("6", "declined"), ("7", "pending"),
                                          ("104", "declined"), ("99", "pending")])
def test_every_documented_state_maps(state: str, status: str) -> None:
    payment = read_confirmation(urlencode(signed_fields(state_pol=state)).encode(), api_key=API_KEY,
                                merchant_id=MERCHANT)
    assert (payment.status, payment.gateway_status) == (status, state)


@pytest.mark.parametrize("body", [
    b"", b"sign=", b"&&&", b"value=1&value=2&sign=abc", "x=1&".join([""] * 300).encode() + b"x=1" * 300,
    b"\xff\xfe\x00", b"a" * 300_000,
    urlencode({**signed_fields(), "sign": "nothex" * 6}).encode(),
    urlencode({**signed_fields(), "transaction_id": ""}).encode(),
    urlencode({**signed_fields(), "transaction_id": "x" * 100}).encode(),
    urlencode({**signed_fields(), "reference_sale": "r" * 1000}).encode(),
    urlencode({k: v for k, v in signed_fields().items() if k != "value"}).encode(),
    urlencode({**signed_fields(), "currency": "PESOS"}).encode(),
    urlencode({**signed_fields(), "value": "1e10"}).encode(),
    urlencode({**signed_fields(), "value": "99999999999999999999.99"}).encode(),
    urlencode(signed_fields(currency="C0P")).encode(),
])
def test_hostile_forms_are_refused_as_domain_errors(body: bytes) -> None:
    with pytest.raises(DomainError):
        read_confirmation(body, api_key=API_KEY, merchant_id=MERCHANT)


def test_a_repeated_signed_field_is_refused() -> None:
    body = urlencode(signed_fields()).encode() + b"&value=1.00"
    with pytest.raises(MalformedNotification):
        form_fields(body)


@given(body=st.binary(max_size=400))
def test_any_bytes_are_refused_not_crashed(body: bytes) -> None:
    with pytest.raises(DomainError):
        read_confirmation(body, api_key=API_KEY, merchant_id=MERCHANT)


@given(whole=st.integers(0, 10**14 - 1), decimals=st.sampled_from(["", ".0", ".5", ".00", ".05", ".10", ".25", ".99"]))
def test_the_rounding_keeps_the_amount_and_drops_only_a_trailing_zero(whole: int, decimals: str) -> None:
    value = f"{whole}{decimals}"
    rounded = new_value(value)
    assert Decimal(rounded) == Decimal(value)
    assert len(rounded.split(".")[1]) == (2 if len(decimals) == 3 and decimals[2] != "0" else 1)


@given(fields=st.dictionaries(st.sampled_from(["merchant_id", "reference_sale", "value", "currency", "state_pol",
                                               "transaction_id", "email_buyer", "sign"]) | st.text(max_size=6),
                              st.text(max_size=30), max_size=10))
def test_any_form_is_read_or_refused_never_crashed(fields: dict[str, str]) -> None:
    signable = {**signed_fields(), **{k: v for k, v in fields.items() if k != "sign"}}
    try:
        signable["sign"] = confirmation_signature(
            api_key=API_KEY, merchant_id=signable["merchant_id"], reference_sale=signable["reference_sale"],
            value=signable["value"], currency=signable["currency"], state_pol=signable["state_pol"])
    except DomainError:
        pass
    try:
        read_confirmation(urlencode(signable).encode(), api_key=API_KEY, merchant_id=MERCHANT)
    except DomainError:
        pass
