"""Gateway refunds through the real HTTP API and PostgreSQL: a refund that arrives before the payment it names waits
and is taken back once the payment is booked, once; a second PayU approval of a reference under another
transaction waits in suspense (duplicate_reference) instead of being dropped; PayU's refund confirmations, partial
ones included, take money back through the ledger's reversal path."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import urlencode

import pytest

from payments.gateways.domain import payu
from payments.settings import PaymentsSettings
from recaudo_common.runtime import make_platform
from recaudo_common.testing import settings_for_test

from .conftest import NOW, Gateway, gateway_on
from .test_gateway_accounts import PAYU, STRIPE, balance, charge, configure, session, stripe_send_args, suspense

pytestmark = pytest.mark.integration
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
async def gw(database_url: str) -> AsyncIterator[Gateway]:
    platform = make_platform(settings_for_test(database_url), pool_size=8, clock=lambda: NOW)
    async with gateway_on(platform, PaymentsSettings()) as opened:
        yield opened
    await platform.db.dispose()


def payu_form(reference: str, state: str, *, value: str = "30000.00", transaction_id: str = "t-1",
              message: str = "APPROVED") -> bytes:
    sign = payu.confirmation_signature(api_key=PAYU["api_key"], merchant_id="508029", reference_sale=reference,
                                       value=value, currency="COP", state_pol=state)
    return urlencode({"merchant_id": "508029", "state_pol": state, "response_message_pol": message,
                      "reference_sale": reference, "sign": sign, "value": value, "currency": "COP",
                      "transaction_id": transaction_id, "payment_method_name": "PSE"}).encode()


async def test_a_refund_before_its_payment_waits_and_is_taken_back_once(gw: Gateway) -> None:
    hook = await configure(gw, "stripe", STRIPE)

    async def send(event_type: str, data_object: dict[str, object], event_id: str) -> tuple[int, str]:
        raw, headers = stripe_send_args(event_type, data_object, event_id=event_id)
        answer = await gw.http.post(hook, content=raw, headers=headers)
        return answer.status_code, answer.json()["status"]

    # Stripe delivers charge.refunded (10,000 of the payment) before checkout.session.completed.
    early = [await send("charge.refunded", charge(1000000), "evt_r") for _ in range(2)]
    assert early == [(200, "reversal_waiting")] * 2
    assert await balance(gw) == "100000.00"
    assert await send("checkout.session.completed", session("paid"), "evt_s") == (200, "applied")
    assert await balance(gw) == "80000.00"  # 30,000 applied, the 10,000 refunded taken back in the same booking
    assert await send("checkout.session.completed", session("paid"), "evt_s") == (200, "duplicate")
    assert await send("charge.refunded", charge(1000000), "evt_r") == (200, "duplicate")
    assert await balance(gw) == "80000.00"
    # The later cumulative refund books only the difference.
    assert await send("charge.refunded", charge(3000000), "evt_r2") == (200, "reversed")
    assert await balance(gw) == "100000.00"


async def test_a_second_payu_approval_of_a_reference_waits_in_suspense(gw: Gateway) -> None:
    hook = await configure(gw, "payu", PAYU)
    first = await gw.http.post(hook, content=payu_form("A-1", "4", transaction_id="t-1"), headers=FORM)
    again = await gw.http.post(hook, content=payu_form("A-1", "4", transaction_id="t-1"), headers=FORM)
    second = await gw.http.post(hook, content=payu_form("A-1", "4", transaction_id="t-2"), headers=FORM)
    second_again = await gw.http.post(hook, content=payu_form("A-1", "4", transaction_id="t-2"), headers=FORM)
    assert [(r.status_code, r.json()["status"]) for r in (first, again, second, second_again)] == [
        (200, "applied"), (200, "duplicate"), (200, "unmatched"), (200, "duplicate")]
    assert await balance(gw) == "70000.00"  # applied once; the second charge is an operator's to settle
    [waiting] = await suspense(gw)
    assert (waiting["gateway"], waiting["gateway_payment_id"], waiting["reference"], waiting["reason"],
            waiting["amount"]) == ("payu/banco/payu", "attempt:t-2", "A-1", "duplicate_reference", "30000.00")


async def test_payu_refunds_partial_and_whole_and_before_the_approval(gw: Gateway) -> None:
    hook = await configure(gw, "payu", PAYU)

    async def send(*args: str, **kw: str) -> tuple[int, str]:
        answer = await gw.http.post(hook, content=payu_form(*args, **kw), headers=FORM)
        return answer.status_code, answer.json()["status"]

    assert await send("A-1", "4", transaction_id="t-1") == (200, "applied")
    partial = dict(value="10000.00", transaction_id="r-1", message="REFUNDED")
    assert [await send("A-1", "6", **partial) for _ in range(2)] == [(200, "reversed"), (200, "duplicate")]
    assert await balance(gw) == "80000.00"
    assert await send("A-1", "6", value="20000.00", transaction_id="r-2", message="REFUNDED") == (200, "reversed")
    assert await balance(gw) == "100000.00"
    # A declined retry of another order changes nothing; a refund arriving before its approval waits for it.
    assert await send("A-2", "6", transaction_id="t-9", message="ENTITY_DECLINED") == (200, "declined")
    assert await send("A-2", "6", value="5000.00", transaction_id="r-3", message="REFUNDED") == (
        200, "reversal_waiting")
    assert await send("A-2", "4", transaction_id="t-10") == (200, "applied")
    assert await balance(gw, "A-2") == "75000.00"


async def test_a_refund_racing_its_payment_is_taken_back_once(gw: Gateway) -> None:
    """The refund and the payment it names arrive at the same time: either the booking sees the waiting refund or
    the refund sees the booked payment, never neither (a lock per gateway payment orders them)."""
    hook = await configure(gw, "stripe", STRIPE)

    async def send(event_type: str, data_object: dict[str, object], event_id: str) -> str:
        raw, headers = stripe_send_args(event_type, data_object, event_id=event_id)
        answer = await gw.http.post(hook, content=raw, headers=headers)
        assert answer.status_code == 200, answer.text
        return str(answer.json()["status"])

    for i in range(12):
        paid = {**session("paid"), "id": f"cs_race_{i}", "payment_intent": f"pi_race_{i}", "amount_total": 500000}
        refund = {**charge(250000), "id": f"ch_race_{i}", "payment_intent": f"pi_race_{i}", "amount": 500000}
        outcomes = await asyncio.gather(send("checkout.session.completed", paid, f"evt_p{i}"),
                                        send("charge.refunded", refund, f"evt_r{i}"))
        assert outcomes[0] == "applied" and outcomes[1] in ("reversal_waiting", "reversed")
    assert await balance(gw) == "70000.00"  # twelve payments of 5,000, half of each refunded: 30,000 in all
