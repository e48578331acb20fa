"""Refunds of payments in the suspense queue (Stripe, as its signed events say them), through payments' real API
and PostgreSQL: recorded against the payment, so assigning it books only what was not given back, and a refund
that waited for a payment that lands in suspense leaves nothing to assign."""

from typing import Any

import pytest

from .conftest import Gateway
from .test_gateway_accounts import (
    STRIPE,
    apis,
    balance,
    charge,
    configure,
    gw,
    session,
    stripe_send_args,
    suspense,
)

pytestmark = pytest.mark.integration
__all__ = ["apis", "gw"]


async def test_a_refund_of_a_payment_in_suspense_is_not_booked_when_it_is_assigned(gw: Gateway) -> None:
    hook = await configure(gw, "stripe", STRIPE)

    async def send(event_type: str, data_object: dict[str, Any], **kw: Any) -> Any:
        raw, headers = stripe_send_args(event_type, data_object, **kw)
        return await gw.http.post(hook, content=raw, headers=headers)

    # 30,000 for a reference no account has: in suspense. Stripe then refunds 10,000 of it to the payer.
    assert (await send("checkout.session.completed", session("paid", "NO-EXISTE"))).json()["status"] == "unmatched"
    refunded = await send("charge.refunded", charge(1000000), event_id="evt_r1")
    assert (refunded.status_code, refunded.json()["status"]) == (200, "reversed")
    assert (await send("charge.refunded", charge(1000000), event_id="evt_r2")).json()["status"] == "duplicate"
    [waiting] = await suspense(gw)
    assert waiting["amount"] == "20000.00"  # what is left to assign
    assigned = await gw.http.post(f"/v1/clients/banco/payments/unmatched/{waiting['id']}/assign",
                                  json={"account_ref": "A-1"}, headers=gw.as_operator())
    assert assigned.status_code == 200, assigned.text
    assert await balance(gw) == "80000.00"  # 20,000 booked, not the 30,000 the gateway first took
    # The rest refunded later is taken back from the account; the payment is then wholly given back.
    assert (await send("charge.refunded", charge(3000000), event_id="evt_r3")).json()["status"] == "reversed"
    assert await balance(gw) == "100000.00"


async def test_a_refund_before_its_payment_that_goes_to_suspense_leaves_nothing_to_assign(gw: Gateway) -> None:
    hook = await configure(gw, "stripe", STRIPE)

    async def send(event_type: str, data_object: dict[str, Any], **kw: Any) -> Any:
        raw, headers = stripe_send_args(event_type, data_object, **kw)
        return await gw.http.post(hook, content=raw, headers=headers)

    # The whole refund arrives first; the payment, for an unknown reference, then lands in suspense given back.
    assert (await send("charge.refunded", charge(3000000), event_id="evt_r0")).json()["status"] == "reversal_waiting"
    assert (await send("checkout.session.completed", session("paid", "NO-EXISTE"))).json()["status"] == "unmatched"
    assert await suspense(gw) == []
    assert await balance(gw) == "100000.00"
