"""A payment dated after the moment it is recorded, through payments' real API and PostgreSQL: refused on every
path that brings one (a payment by hand 422, the generic webhook 422 and recorded among the refused webhooks, a
gateway account's notification likewise, a bank statement's line rejected on its own), nothing booked; a date a
few minutes ahead (a payer's clock, a gateway's) is within the tolerance and applied."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from payments.settings import PaymentsSettings
from recaudo_common.runtime import make_platform
from recaudo_common.testing import settings_for_test

from .conftest import NOW, Gateway, gateway_on, payment
from .fake_gateways import FakeGatewayApis, gateway_apis
from .test_deposits_recorded_by_hand import statement
from .test_gateway_accounts import STRIPE, configure, rejections, session, stripe_send_args

pytestmark = pytest.mark.integration
TOMORROW = NOW + dt.timedelta(days=1)


async def test_a_payment_by_hand_dated_tomorrow_is_refused_and_one_a_minute_ahead_applied(gateway: Gateway) -> None:
    body = {"account_ref": "A-1", "amount": "30000.00", "paid_at": TOMORROW.isoformat(), "method": "consignacion"}
    refused = await gateway.manual("futuro-0001", body)
    assert (refused.status_code, refused.json()["code"]) == (422, "paid_at_in_future"), refused.text
    assert await gateway.balance("A-1") == (Decimal("100000.00"), "open", Decimal("100000.00"))
    ahead = await gateway.manual("futuro-0002", {**body, "paid_at": (NOW + dt.timedelta(minutes=1)).isoformat()})
    assert (ahead.status_code, ahead.json()["status"]) == (200, "applied"), ahead.text


async def test_a_webhook_dated_tomorrow_is_refused_and_recorded(gateway: Gateway) -> None:
    sent = await gateway.send(payment("fut-1", paid_at=TOMORROW.isoformat()))
    assert (sent.status_code, sent.json()["code"]) == (422, "paid_at_in_future"), sent.text
    assert await gateway.balance("A-1") == (Decimal("100000.00"), "open", Decimal("100000.00"))
    listed = await gateway.http.get("/v1/webhooks/payments/rejections", headers=gateway.as_operator())
    assert [(r["gateway"], r["reason"]) for r in listed.json()["items"]] == [("pasarela", "paid_at_in_future")]
    # Sent again once the day has come (a gateway retries), nothing stands in its way; a plain one a minute ahead
    # (applied in a group commit) is within the tolerance.
    ahead = await gateway.send(payment("fut-2", paid_at=(NOW + dt.timedelta(minutes=1)).isoformat()))
    assert ahead.json()["status"] == "applied", ahead.text


async def test_a_statements_line_dated_tomorrow_is_rejected_the_others_applied(gateway: Gateway) -> None:
    body = await statement(gateway, "extracto.csv", f"{TOMORROW:%d/%m/%Y};A-1;10.000,00;TX-1",
                           f"{NOW:%d/%m/%Y};A-2;20.000,00;TX-2")
    assert [(r["status"], r.get("reason")) for r in body["results"]] == [("rejected", "paid_at_in_future"),
                                                                         ("applied", None)]
    assert (await gateway.balance("A-1"))[0] == Decimal("100000.00")
    assert (await gateway.balance("A-2"))[0] == Decimal("80000.00")


@pytest.fixture
async def gw(database_url: str) -> AsyncIterator[Gateway]:
    async with gateway_apis() as apis:
        assert isinstance(apis, FakeGatewayApis)
        platform = make_platform(settings_for_test(database_url), pool_size=8, clock=lambda: NOW)
        settings = PaymentsSettings(wompi_api_base_url=apis.base_url, gateway_api_timeout_s=2.0)
        async with gateway_on(platform, settings) as opened:
            yield opened
        await platform.db.dispose()


async def test_a_gateway_accounts_approval_dated_tomorrow_is_refused_and_recorded(gw: Gateway) -> None:
    hook = await configure(gw, "stripe", STRIPE)
    raw, headers = stripe_send_args("checkout.session.completed",
                                    {**session("paid"), "created": int(TOMORROW.timestamp())})
    sent = await gw.http.post(hook, content=raw, headers=headers)
    assert (sent.status_code, sent.json()["code"]) == (422, "paid_at_in_future"), sent.text
    assert (await gw.balance("A-1"))[0] == Decimal("100000.00")
    assert ("stripe/banco/stripe", "paid_at_in_future", 1) in await rejections(gw)
