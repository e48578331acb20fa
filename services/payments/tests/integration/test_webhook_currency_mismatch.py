"""A payment the generic webhook tells of in another currency than the client company's, through payments' real
API and PostgreSQL: the gateway took the money, so it waits in the suspense queue (reason currency_mismatch), as a
gateway account's does, never against a balance and never refused (a refusal would make the gateway send it for
days and the money would be on no operator's screen). Sent alone or with others (the group commit), redelivered."""

import asyncio
from decimal import Decimal

import pytest

from .conftest import Gateway, payment

pytestmark = pytest.mark.integration


async def test_a_webhook_payment_in_another_currency_waits_in_suspense(gateway: Gateway) -> None:
    dollars = payment("usd-1", amount="25.50", currency="USD")
    sent = await gateway.send(dollars)
    assert (sent.status_code, sent.json()["status"]) == (200, "unmatched"), sent.text
    # With others at once (a group commit takes the plain ones): it still waits, they are applied.
    together = await asyncio.gather(gateway.send(payment("cop-1", amount="10000.00")),
                                    gateway.send(payment("usd-2", amount="7", currency="USD")),
                                    gateway.send(payment("cop-2", amount="5000.00")))
    assert [r.json()["status"] for r in together] == ["applied", "unmatched", "applied"]
    assert (await gateway.send(dollars)).json()["status"] == "duplicate"
    assert await gateway.balance("A-1") == (Decimal("85000.00"), "open", Decimal("85000.00"))

    queue = (await gateway.http.get("/v1/clients/banco/payments/unmatched",
                                    headers=gateway.as_operator())).json()["items"]
    assert sorted((q["gateway_payment_id"], q["currency"], q["amount"], q["reason"]) for q in queue) == [
        ("usd-1", "USD", "25.50", "currency_mismatch"), ("usd-2", "USD", "7.00", "currency_mismatch")]
    refused = (await gateway.http.get("/v1/webhooks/payments/rejections", headers=gateway.as_operator())).json()
    assert refused["items"] == []
    waiting = next(q for q in queue if q["gateway_payment_id"] == "usd-1")
    assigned = await gateway.http.post(f"/v1/clients/banco/payments/unmatched/{waiting['id']}/assign",
                                       json={"account_ref": "A-1"}, headers=gateway.as_operator())
    assert (assigned.status_code, assigned.json()["code"]) == (422, "invalid_currency")
