"""A cash voucher's payment, notified later, through payments' real webhook and ledger on PostgreSQL: a PayU Efecty
voucher issued at the local fake for an account's reference, then PayU's confirmations of it (pending, then paid,
then redelivered) as PayU sends them; a Stripe OXXO voucher's payment_intent events; a Checkout Session's intent
event, which carries no reference of ours, changes nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from payments.checkouts.cash import CashPayer, CashRequest, issue_voucher
from payments.gateways.domain import payu
from payments.gateways.store import account_of
from recaudo_common.personal_data import MasterKeyring

from .conftest import NOW, Gateway
from .fake_cash_gateways import FakeCashGateways, cash_gateway_apis
from .test_gateway_accounts import STRIPE, balance, configure, stripe_send_args, suspense

pytestmark = pytest.mark.integration

PAYU = {"kind": "payu", "api_key": "4Vj8eK4rloUd272L48hsrarnUA", "api_login": "pRRXKOl8ikMmt9u",
        "merchant_id": "508029", "account_id": "512321"}
PAYER = CashPayer(full_name="Ana María Pérez", email="ana@example.co", phone="3001234567", id_number="1020304050",
                  street="Cra 7 # 12-34", city="Bogotá", state="Bogotá D.C.", postal_code="110111",
                  ip_address="190.85.1.2")
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
async def fake() -> AsyncIterator[FakeCashGateways]:
    async with cash_gateway_apis() as apis:
        yield apis


def confirmation(reference: str, state: str, transaction_id: str, value: str = "30000.00") -> bytes:
    """PayU's confirmation of a cash payment, as its confirmation page documents it."""
    sign = payu.confirmation_signature(api_key=PAYU["api_key"], merchant_id="508029", reference_sale=reference,
                                       value=value, currency="COP", state_pol=state)
    return urlencode({"merchant_id": "508029", "state_pol": state, "response_code_pol": "1" if state == "4" else "25",
                      "reference_sale": reference, "reference_pol": "1400449740", "sign": sign, "value": value,
                      "currency": "COP", "transaction_id": transaction_id, "payment_method_type": "7",
                      "payment_method_name": "EFECTY", "email_buyer": "ana@example.co"}).encode()


async def test_an_efecty_voucher_is_applied_once_when_payu_confirms_it(gateway: Gateway,
                                                                      fake: FakeCashGateways) -> None:
    hook = await configure(gateway, "payu", PAYU)
    async with gateway.platform.db.transaction() as s:
        account = await account_of(s, MasterKeyring.of_settings(gateway.platform.settings), "banco", "payu")
    assert account is not None
    issued = await issue_voucher(account, CashRequest(
        reference="A-1", amount=Decimal("30000"), currency="COP", country="CO", description="Pago obligación A-1",
        expires_at=NOW + dt.timedelta(days=3), notification_url=f"https://recaudo.example{hook}", payer=PAYER),
        network="efecty", base_url=f"{fake.base_url}/payments-api/4.0/service.cgi", timeout_s=5)
    assert fake.malformed == [] and fake.asked[0].body["transaction"]["order"]["notifyUrl"].endswith(hook)
    tid = issued.gateway_payment_id
    assert tid is not None
    answers = [await gateway.http.post(hook, content=confirmation("A-1", state, tid), headers=FORM)
               for state in ("7", "4", "4")]
    assert [(a.status_code, a.json()["status"]) for a in answers] == [(200, "pending"), (200, "applied"),
                                                                      (200, "duplicate")]
    assert await balance(gateway) == "70000.00"


def intent(reference: str | None, status: str = "succeeded", intent_id: str = "pi_oxxo1") -> dict[str, Any]:
    return {"id": intent_id, "object": "payment_intent", "amount": 3000000,
            "amount_received": 3000000 if status == "succeeded" else 0, "currency": "cop", "status": status,
            "payment_method_types": ["oxxo"], "created": int(NOW.timestamp()),
            "metadata": {} if reference is None else {"reference": reference}}


async def test_an_oxxo_vouchers_intent_events_through_the_webhook(gateway: Gateway) -> None:
    hook = urlsplit(await configure(gateway, "stripe", STRIPE)).path

    async def send(event_type: str, data_object: dict[str, Any], event_id: str) -> Any:
        raw, headers = stripe_send_args(event_type, data_object, event_id=event_id)
        answer = await gateway.http.post(hook, content=raw, headers=headers)
        assert answer.status_code == 200, answer.text
        return answer.json()["status"]

    # The voucher lapsed unpaid: nothing applied.
    assert await send("payment_intent.payment_failed", intent("A-1", "requires_payment_method", "pi_lapsed"),
                      "evt_1") == "declined"
    assert await balance(gateway) == "100000.00"
    # Paid at OXXO: applied once, whatever the redelivery.
    outcomes = [await send("payment_intent.succeeded", intent("A-2"), f"evt_{i}") for i in (2, 3)]
    assert outcomes == ["applied", "duplicate"]
    assert await balance(gateway, "A-2") == "70000.00"
    # A Checkout Session's intent (no reference of ours) is the session's events' to book: nothing, no suspense.
    assert await send("payment_intent.succeeded", intent(None, intent_id="pi_session"), "evt_4") == "ignored"
    assert await suspense(gateway) == []
