"""Gateway refunds through the real HTTP API and PostgreSQL: a refund that arrives before the payment it names waits
and is taken back once the payment is booked, once; a second PayU approval of a reference under another
transaction waits in suspense (duplicate_reference) instead of being dropped; PayU's refund confirmations, whose
REFUNDED is not signed, take back only what PayU's Reports API (a local fake) shows refunded, partial ones included:
a declined attempt's signed body with REFUNDED added takes nothing, the API unreachable is a 503, and an account
without the API login keeps the claim for an operator (refund_unconfirmed) and takes nothing back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import urlencode

import pytest
from sqlalchemy import text

from payments.gateways.domain import payu
from payments.settings import PaymentsSettings
from recaudo_common.runtime import make_platform
from recaudo_common.testing import settings_for_test

from .conftest import NOW, Gateway, gateway_on
from .fake_reconciliation_apis import FakeReconciliationApis, payu_order, reconciliation_apis
from .test_gateway_accounts import PAYU, STRIPE, balance, charge, configure, session, stripe_send_args, suspense

pytestmark = pytest.mark.integration
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
async def apis() -> AsyncIterator[FakeReconciliationApis]:
    async with reconciliation_apis() as fake:
        yield fake


@pytest.fixture
async def gw(database_url: str, apis: FakeReconciliationApis) -> AsyncIterator[Gateway]:
    platform = make_platform(settings_for_test(database_url), pool_size=8, clock=lambda: NOW)
    settings = PaymentsSettings(payu_reports_api_url=f"{apis.base_url}/reports-api/4.0/service.cgi",
                                gateway_api_timeout_s=10.0)  # a loaded CI machine, not a hang
    async with gateway_on(platform, settings) as opened:
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


CAPTURE = ("AUTHORIZATION_AND_CAPTURE", "APPROVED", "30000.00")


def refund(value: str | None, state: str = "APPROVED") -> tuple[str, str, str | None]:
    return ("REFUND", state, value)


async def payu_account(gw: Gateway, apis: FakeReconciliationApis, *, api_login: bool = True) -> str:
    return await configure(gw, "payu", {**PAYU, "api_login": apis.payu_login} if api_login else PAYU)


def sender(gw: Gateway, hook: str) -> Callable[..., Awaitable[tuple[int, str]]]:
    """Sends a PayU confirmation; (status code, what it did: its status, or a refusal's code)."""
    async def send(*args: str, **kw: str) -> tuple[int, str]:
        answer = await gw.http.post(hook, content=payu_form(*args, **kw), headers=FORM)
        body = answer.json()
        return answer.status_code, str(body["status"] if answer.status_code == 200 else body["code"])
    return send


async def test_payu_refunds_confirmed_by_the_reports_api_partial_and_before_the_approval(
        gw: Gateway, apis: FakeReconciliationApis) -> None:
    send = sender(gw, await payu_account(gw, apis))
    assert await send("A-1", "4", transaction_id="t-1") == (200, "applied")
    assert apis.asked == []  # an approval asks nothing: its sign covers what it books
    apis.payu_orders["A-1"] = [payu_order("A-1", "CAPTURED", CAPTURE, refund("10000.00"))]
    partial = dict(value="10000.00", transaction_id="r-1", message="REFUNDED")
    assert [await send("A-1", "6", **partial) for _ in range(2)] == [(200, "reversed"), (200, "duplicate")]
    assert await balance(gw) == "80000.00"
    apis.payu_orders["A-1"] = [payu_order("A-1", "REFUNDED", CAPTURE, refund("10000.00"), refund("20000.00"))]
    assert await send("A-1", "6", value="20000.00", transaction_id="r-2", message="REFUNDED") == (200, "reversed")
    assert await balance(gw) == "100000.00"
    assert await send("A-1", "6", **partial) == (200, "duplicate")  # the first one again: nothing more
    assert await balance(gw) == "100000.00"
    assert apis.asked == ["payu A-1"] * 4 and apis.refused == []
    # A refund arriving before its approval waits for it, at what the Reports API confirmed.
    apis.payu_orders["A-2"] = [payu_order("A-2", "CAPTURED", CAPTURE, refund("5000.00"))]
    assert await send("A-2", "6", value="5000.00", transaction_id="r-3", message="REFUNDED") == (
        200, "reversal_waiting")
    assert await send("A-2", "4", transaction_id="t-10") == (200, "applied")
    assert await balance(gw, "A-2") == "75000.00"


async def test_a_forged_payu_refund_takes_back_nothing_the_reports_api_does_not_show(
        gw: Gateway, apis: FakeReconciliationApis) -> None:
    """A declined attempt's body is signed for state_pol 6 like a refund's: with REFUNDED added (unsigned) and a
    made-up transaction_id it claims a refund of its whole value."""
    send = sender(gw, await payu_account(gw, apis))
    assert await send("A-1", "6", transaction_id="t-0", message="ENTITY_DECLINED") == (200, "declined")
    assert await send("A-1", "4", transaction_id="t-1") == (200, "applied")
    apis.payu_orders["A-1"] = [payu_order("A-1", "CAPTURED", ("AUTHORIZATION_AND_CAPTURE", "DECLINED", "30000.00"),
                                          CAPTURE, refund("30000.00", "DECLINED"), refund(None, "PENDING"))]
    forged = [await send("A-1", "6", transaction_id=f"x-{i}", message="REFUNDED") for i in range(3)]
    assert forged == [(200, "ignored")] * 3
    assert await balance(gw) == "70000.00"
    # Beside a real partial refund the forged claim of 30,000 takes back only the 10,000 PayU shows, once.
    apis.payu_orders["A-1"] = [payu_order("A-1", "CAPTURED", CAPTURE, refund("10000.00"))]
    assert await send("A-1", "6", transaction_id="x-9", message="REFUNDED") == (200, "reversed")
    assert await send("A-1", "6", value="10000.00", transaction_id="r-1", message="REFUNDED") == (200, "duplicate")
    assert await balance(gw) == "80000.00"


async def test_a_whole_payu_refund_without_its_own_value_takes_back_the_order(
        gw: Gateway, apis: FakeReconciliationApis) -> None:
    send = sender(gw, await payu_account(gw, apis))
    assert await send("A-1", "4", transaction_id="t-1") == (200, "applied")
    apis.payu_orders["A-1"] = [payu_order("A-1", "REFUNDED", CAPTURE, refund(None))]
    assert await send("A-1", "6", transaction_id="r-1", message="REFUNDED") == (200, "reversed")
    assert await balance(gw) == "100000.00"


async def test_a_payu_refund_while_the_reports_api_cannot_answer_is_503_and_takes_nothing(
        gw: Gateway, apis: FakeReconciliationApis) -> None:
    send = sender(gw, await payu_account(gw, apis))
    assert await send("A-1", "4", transaction_id="t-1") == (200, "applied")
    apis.payu_orders["A-1"] = [payu_order("A-1", "CAPTURED", CAPTURE, refund("10000.00"))]
    apis.down = True
    claim = dict(value="10000.00", transaction_id="r-1", message="REFUNDED")
    assert await send("A-1", "6", **claim) == (503, "gateway_unreachable")
    assert await balance(gw) == "70000.00"
    login = apis.payu_login
    apis.down, apis.payu_login = False, "another-login"  # PayU refuses the credentials: {"code": "ERROR"}
    assert await send("A-1", "6", **claim) == (503, "gateway_unreachable")
    assert await balance(gw) == "70000.00"
    apis.payu_login = login
    assert await send("A-1", "6", **claim) == (200, "reversed")  # PayU's retry, once the API answers
    assert await balance(gw) == "80000.00"


async def test_a_payu_refund_without_the_api_login_waits_for_an_operator(
        gw: Gateway, apis: FakeReconciliationApis) -> None:
    send = sender(gw, await payu_account(gw, apis, api_login=False))
    assert await send("A-1", "4", transaction_id="t-1") == (200, "applied")
    claims = [await send("A-1", "6", value="10000.00", transaction_id=f"r-{i}", message="REFUNDED")
              for i in range(3)]
    assert claims == [(200, "refund_unconfirmed")] * 3
    assert await send("A-2", "6", value="10000.0", transaction_id="r-9", message="REFUNDED") == (
        200, "refund_unconfirmed")  # its payment not notified yet: the claim waits all the same
    assert await balance(gw) == "70000.00" and await balance(gw, "A-2") == "100000.00"
    assert apis.asked == []
    listed = await gw.http.get("/v1/clients/banco/gateways/payu/refunds/unconfirmed", headers=gw.as_operator())
    assert listed.status_code == 200, listed.text
    assert [(u["reference"], u["amount"], u["currency"], u["times"]) for u in listed.json()["items"]] == [
        ("A-1", "10000.00", "COP", 3), ("A-2", "10000.00", "COP", 1)]
    # Given the API login, the next confirmation is checked and booked.
    await payu_account(gw, apis)
    apis.payu_orders["A-1"] = [payu_order("A-1", "CAPTURED", CAPTURE, refund("10000.00"))]
    assert await send("A-1", "6", value="10000.00", transaction_id="r-1", message="REFUNDED") == (200, "reversed")
    assert await balance(gw) == "80000.00"
    missing = await gw.http.get("/v1/clients/banco/gateways/nada/refunds/unconfirmed", headers=gw.as_operator())
    assert missing.status_code == 404


async def test_a_refund_an_operator_took_back_by_hand_is_not_taken_back_again_once_confirmed(
        gw: Gateway, apis: FakeReconciliationApis) -> None:
    send = sender(gw, await payu_account(gw, apis, api_login=False))
    assert await send("A-1", "4", transaction_id="t-1") == (200, "applied")
    assert await send("A-1", "6", value="10000.00", transaction_id="r-1", message="REFUNDED") == (
        200, "refund_unconfirmed")
    # The operator checks PayU's panel and takes the refund back by hand, as the docs say.
    async with gw.platform.db.transaction() as s:
        payment_id = await s.scalar(text("SELECT id FROM payments.payments WHERE account_ref = 'A-1'"))
    by_hand = await gw.http.post(f"/v1/clients/banco/payments/{payment_id}/reversal",
                                 json={"reason": "Reembolso PayU", "amount": "10000.00"},
                                 headers={**gw.as_operator(), "Idempotency-Key": "reembolso-payu-1"})
    assert by_hand.status_code == 200, by_hand.text
    assert await balance(gw) == "80000.00"
    # Then the account gets its API login, and PayU sends the confirmation again: the total it confirms was taken
    # back already.
    await payu_account(gw, apis)
    apis.payu_orders["A-1"] = [payu_order("A-1", "CAPTURED", CAPTURE, refund("10000.00"))]
    assert await send("A-1", "6", value="10000.00", transaction_id="r-1", message="REFUNDED") == (200, "duplicate")
    assert await balance(gw) == "80000.00"
    # A second refund PayU confirms later is taken back: its total is 15,000, of which 10,000 are back already.
    apis.payu_orders["A-1"] = [payu_order("A-1", "CAPTURED", CAPTURE, refund("10000.00"), refund("5000.00"))]
    assert await send("A-1", "6", value="5000.00", transaction_id="r-2", message="REFUNDED") == (200, "reversed")
    assert await balance(gw) == "85000.00"


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
