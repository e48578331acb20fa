"""PayU's confirmation of a refund (state_pol 6, response_message_pol REFUNDED) read as a reversal of the reference's
payment, on the signed fields of the documented state_pol 6 POST
(https://developers.payulatam.com/latam/es/docs/integrations/webcheckout-integration/confirmation-page.html): its
sign e1b0939b…4f5c is the MD5 under the older sandbox merchant 500238 (test_gateway_payu.py says why)."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import urlencode

import pytest

from payments.gateways.domain.notifications import GatewayPayment, GatewayReversal, UnverifiedNotification
from payments.gateways.domain.payu import confirmation_signature, read_confirmation

pytestmark = pytest.mark.unit

API_KEY, MERCHANT = "6u39nqhq8ftd0hlvnjfs66eh8c", "500238"
DOCUMENTED = {"merchant_id": MERCHANT, "reference_sale": "2015-05-27 13:04:37", "value": "100.00", "currency": "USD",
              "state_pol": "6", "sign": "e1b0939bbdc99ea84387bee9b90e4f5c", "response_code_pol": "5",
              "transaction_id": "f5e668f1-7ecc-4b83-a4d1-0aaa68260862", "reference_pol": "7069375"}


def read(**fields: str) -> GatewayPayment | GatewayReversal:
    return read_confirmation(urlencode({**DOCUMENTED, **fields}).encode(), api_key=API_KEY, merchant_id=MERCHANT)


def test_a_refund_confirmation_is_a_reversal_of_the_reference() -> None:
    refund = read(response_message_pol="REFUNDED")
    assert isinstance(refund, GatewayReversal)
    assert (refund.gateway, refund.refers_to, refund.kind, refund.amount, refund.currency, refund.cumulative) == (
        "payu", "2015-05-27 13:04:37", "refunded", Decimal("100.00"), "USD", False)
    assert refund.reversal_id == "f5e668f1-7ecc-4b83-a4d1-0aaa68260862:100.00"


def test_a_partial_refund_is_its_own_confirmation_of_what_it_gave_back() -> None:
    sign = confirmation_signature(api_key=API_KEY, merchant_id=MERCHANT, reference_sale="2015-05-27 13:04:37",
                                  value="40.50", currency="USD", state_pol="6")
    partial = read(response_message_pol="refunded", value="40.50", transaction_id="r-2", sign=sign)
    assert isinstance(partial, GatewayReversal)
    assert (partial.amount, partial.reversal_id) == (Decimal("40.50"), "r-2:40.50")


def test_a_declined_confirmation_stays_a_declined_payment() -> None:
    declined = read(response_message_pol="ENTITY_DECLINED")
    assert isinstance(declined, GatewayPayment) and declined.status == "declined"
    with pytest.raises(UnverifiedNotification):  # the amount is signed: a refund claiming more is refused
        read(response_message_pol="REFUNDED", value="1000.00")
