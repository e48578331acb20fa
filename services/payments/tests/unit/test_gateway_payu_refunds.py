"""PayU's confirmation of a refund (state_pol 6, response_message_pol REFUNDED) read as a claim of a refund of the
reference, never a reversal by itself (REFUNDED is not signed: the documented declined POST carries the same sign), on
the signed fields of the documented state_pol 6 POST
(https://developers.payulatam.com/latam/es/docs/integrations/webcheckout-integration/confirmation-page.html): its
sign e1b0939b…4f5c is the MD5 under the older sandbox merchant 500238 (test_gateway_payu.py says why). And what the
Reports API's orders of a reference show refunded
(https://developers.payulatam.com/latam/es/docs/integrations/api-integration/queries-api.html: approved REFUND
transactions, each its TX_VALUE)."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import urlencode

import pytest

from payments.gateways.domain.notifications import GatewayPayment, MalformedNotification, UnverifiedNotification
from payments.gateways.domain.payu import (
    RefundClaim,
    confirmation_signature,
    order_refunded,
    read_confirmation,
    refunded_of_reference,
)

pytestmark = pytest.mark.unit

API_KEY, MERCHANT = "6u39nqhq8ftd0hlvnjfs66eh8c", "500238"
DOCUMENTED = {"merchant_id": MERCHANT, "reference_sale": "2015-05-27 13:04:37", "value": "100.00", "currency": "USD",
              "state_pol": "6", "sign": "e1b0939bbdc99ea84387bee9b90e4f5c", "response_code_pol": "5",
              "transaction_id": "f5e668f1-7ecc-4b83-a4d1-0aaa68260862", "reference_pol": "7069375"}


def read(**fields: str) -> GatewayPayment | RefundClaim:
    return read_confirmation(urlencode({**DOCUMENTED, **fields}).encode(), api_key=API_KEY, merchant_id=MERCHANT)


def test_a_refund_confirmation_is_only_a_claim_on_the_reference() -> None:
    claim = read(response_message_pol="REFUNDED")
    assert claim == RefundClaim(reference="2015-05-27 13:04:37", amount=Decimal("100.00"), currency="USD",
                                transaction_id="f5e668f1-7ecc-4b83-a4d1-0aaa68260862")
    # The same signed fields without the unsigned word are the documented declined attempt.
    declined = read()
    assert isinstance(declined, GatewayPayment) and declined.status == "declined"


def test_a_partial_refund_is_its_own_confirmation_of_what_it_gave_back() -> None:
    sign = confirmation_signature(api_key=API_KEY, merchant_id=MERCHANT, reference_sale="2015-05-27 13:04:37",
                                  value="40.50", currency="USD", state_pol="6")
    partial = read(response_message_pol="refunded", value="40.50", transaction_id="r-2", sign=sign)
    assert isinstance(partial, RefundClaim)
    assert (partial.amount, partial.transaction_id) == (Decimal("40.50"), "r-2")


def test_a_declined_confirmation_stays_a_declined_payment() -> None:
    declined = read(response_message_pol="ENTITY_DECLINED")
    assert isinstance(declined, GatewayPayment) and declined.status == "declined"
    with pytest.raises(UnverifiedNotification):  # the amount is signed: a refund claiming more is refused
        read(response_message_pol="REFUNDED", value="1000.00")


def value(amount: str | None) -> dict[str, object]:
    return {} if amount is None else {"TX_VALUE": {"value": Decimal(amount), "currency": "COP"}}


def order(*transactions: tuple[str, str, str | None], charged: str | None = "30000.00") -> dict[str, object]:
    return {"status": "CAPTURED", "additionalValues": value(charged),
            "transactions": [{"type": kind, "transactionResponse": {"state": state}, "additionalValues": value(amount)}
                             for kind, state, amount in transactions]}


CAPTURE = ("AUTHORIZATION_AND_CAPTURE", "APPROVED", "30000.00")


def test_what_an_order_shows_refunded() -> None:
    assert order_refunded(order(CAPTURE), "COP") == 0
    assert order_refunded(order(CAPTURE, ("REFUND", "APPROVED", "10000.00"), ("REFUND", "APPROVED", "2500.50")),
                          "COP") == Decimal("12500.50")
    # Only approved refunds count; one without its own value gave back the whole order.
    assert order_refunded(order(CAPTURE, ("REFUND", "DECLINED", "10000.00"), ("REFUND", "PENDING", None)),
                          "COP") == 0
    assert order_refunded(order(CAPTURE, ("REFUND", "APPROVED", None)), "COP") == Decimal("30000.00")
    assert order_refunded(order(CAPTURE, ("REFUND", "APPROVED", None), charged=None), "COP") == Decimal("30000.00")
    # Never more than the order charged, nothing in another currency, nothing of an order never charged.
    assert order_refunded(order(CAPTURE, ("REFUND", "APPROVED", "20000"), ("REFUND", "APPROVED", "20000")),
                          "COP") == Decimal("30000.00")
    assert order_refunded(order(CAPTURE, ("REFUND", "APPROVED", "10000.00")), "USD") == 0
    assert order_refunded(order(("AUTHORIZATION_AND_CAPTURE", "DECLINED", "30000.00"),
                                ("REFUND", "APPROVED", "30000.00")), "COP") == 0
    assert refunded_of_reference([order(CAPTURE, ("REFUND", "APPROVED", "1000")), order(CAPTURE)], "COP") == 1000


def test_an_order_not_of_the_documented_shape_is_refused() -> None:
    with pytest.raises(MalformedNotification):
        order_refunded(order(CAPTURE, ("REFUND", "APPROVED", "-5")), "COP")
    with pytest.raises((KeyError, TypeError, AttributeError)):
        order_refunded({"transactions": [CAPTURE]}, "COP")
