"""Stripe disputes through the real HTTP API and PostgreSQL, each event signed as Stripe signs it: an inquiry takes
nothing back; a formal dispute takes its amount back once, however many of its events (created, funds_withdrawn)
arrive; won, the money comes back as a payment of its own, once; and in whatever order the events arrive (the
reinstatement before the withdrawal, both before the payment) the account ends as if the payment had never been
disputed."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from payments.settings import PaymentsSettings
from recaudo_common.runtime import make_platform
from recaudo_common.testing import settings_for_test

from .conftest import NOW, Clock, Gateway, gateway_on
from .test_gateway_accounts import STRIPE, balance, configure, session, stripe_send_args, suspense

pytestmark = pytest.mark.integration


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def gw(database_url: str, clock: Clock) -> AsyncIterator[Gateway]:
    platform = make_platform(settings_for_test(database_url), pool_size=8, clock=clock)
    async with gateway_on(platform, PaymentsSettings()) as opened:
        yield opened
    await platform.db.dispose()


def disputed(status: str, amount: int = 1200000, dispute_id: str = "dp_1") -> dict[str, Any]:
    """A Dispute object as the API reference documents it (amounts in the currency's minor unit)."""
    return {"id": dispute_id, "object": "dispute", "amount": amount, "currency": "cop", "charge": "ch_3Q1",
            "payment_intent": "pi_3Q1", "status": status, "reason": "fraudulent", "is_charge_refundable": False,
            "created": int(NOW.timestamp())}


class Stripe:
    def __init__(self, gw: Gateway, hook: str) -> None:
        self.gw, self.hook, self.sent = gw, hook, 0

    async def send(self, event_type: str, data_object: dict[str, Any]) -> str:
        self.sent += 1
        raw, headers = stripe_send_args(event_type, data_object, event_id=f"evt_{self.sent}")
        answer = await self.gw.http.post(self.hook, content=raw, headers=headers)
        assert answer.status_code == 200, answer.text
        status: str = answer.json()["status"]
        return status


async def stripe_on(gw: Gateway) -> Stripe:
    return Stripe(gw, await configure(gw, "stripe", STRIPE))


async def payments_of(gw: Gateway) -> list[tuple[str | None, str, str, str]]:
    async with gw.platform.db.transaction() as s:
        rows = (await s.execute(text(
            "SELECT external_id, amount::text, reversed_amount::text, status FROM payments.payments "
            "ORDER BY received_at, id"))).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


async def test_an_inquiry_takes_nothing_and_its_escalation_takes_the_amount_once(gw: Gateway) -> None:
    stripe = await stripe_on(gw)
    assert await stripe.send("checkout.session.completed", session("paid")) == "applied"
    assert await balance(gw) == "70000.00"
    # An inquiry (Amex, Discover): "no funds have been withdrawn" (docs.stripe.com/disputes).
    assert await stripe.send("charge.dispute.created", disputed("warning_needs_response")) == "ignored"
    assert await balance(gw) == "70000.00"
    # Escalated to a chargeback: funds_withdrawn, then the created of a formal dispute redelivered: one chargeback.
    assert await stripe.send("charge.dispute.funds_withdrawn", disputed("needs_response")) == "reversed"
    assert await stripe.send("charge.dispute.created", disputed("needs_response")) == "duplicate"
    assert await balance(gw) == "82000.00"


async def test_a_dispute_won_gives_the_money_back_once(gw: Gateway) -> None:
    stripe = await stripe_on(gw)
    assert await stripe.send("checkout.session.completed", session("paid")) == "applied"
    assert await stripe.send("charge.dispute.created", disputed("needs_response")) == "reversed"
    assert await balance(gw) == "82000.00"
    won = disputed("won")
    assert [await stripe.send("charge.dispute.funds_reinstated", won) for _ in range(2)] == ["applied", "duplicate"]
    assert await balance(gw) == "70000.00"
    # The trail: the payment, its 12,000 taken back, and the 12,000 given back as a payment of its own.
    assert await payments_of(gw) == [("pi_3Q1", "30000.00", "12000.00", "applied"),
                                     ("dp_1:reinstated", "12000.00", "0.00", "applied")]
    # A withdrawal redelivered after the decision takes nothing more.
    assert await stripe.send("charge.dispute.funds_withdrawn", disputed("won")) == "duplicate"
    assert await balance(gw) == "70000.00"


async def test_a_reinstatement_before_its_withdrawal_leaves_the_payment_whole(gw: Gateway) -> None:
    stripe = await stripe_on(gw)
    # Both before the payment itself: Stripe does not promise any order.
    assert await stripe.send("charge.dispute.funds_reinstated", disputed("won")) == "ignored"
    assert await stripe.send("charge.dispute.created", disputed("needs_response")) == "reversal_waiting"
    assert await stripe.send("checkout.session.completed", session("paid")) == "applied"
    assert await balance(gw) == "70000.00"
    assert await payments_of(gw) == [("pi_3Q1", "30000.00", "0.00", "applied")]
    # Once the payment is known, the withdrawal redelivered still takes nothing: the dispute was won.
    assert await stripe.send("charge.dispute.funds_withdrawn", disputed("won")) == "duplicate"
    assert await balance(gw) == "70000.00"


async def test_a_dispute_won_of_a_payment_in_suspense_waits_in_suspense(gw: Gateway) -> None:
    stripe = await stripe_on(gw)
    assert await stripe.send("checkout.session.completed", session("paid", reference="NO-SUCH")) == "unmatched"
    assert await stripe.send("charge.dispute.created", disputed("needs_response", amount=3000000)) == "reversed"
    assert await suspense(gw) == []  # given back whole, it left the queue
    assert await stripe.send("charge.dispute.funds_reinstated", disputed("won", amount=3000000)) == "unmatched"
    queue = await suspense(gw)
    assert [(q["reason"], q["amount"]) for q in queue] == [("dispute_won", "30000.00")]
    assert await balance(gw) == "100000.00"


async def test_a_dispute_won_over_a_settlement_keeps_the_settlement_again(gw: Gateway) -> None:
    """The chargeback undid the settlement the payment kept (its discount owed again); the decision for the
    merchant says that payment stood: the settlement is kept again and its discount forgiven again."""
    made = await gw.http.post("/v1/clients/banco/accounts/A-1/arrangements", headers=gw.as_operator(), json={
        "kind": "settlement", "instalments": [{"due_date": "2026-04-15", "amount": "70000.00"}]})
    assert made.status_code == 201, made.text
    stripe = await stripe_on(gw)
    assert await stripe.send("checkout.session.completed", {**session("paid"), "amount_total": 7000000}) == "applied"
    assert await gw.balance("A-1") == (Decimal("0.00"), "settled", Decimal("0.00"))
    assert await stripe.send("charge.dispute.created", disputed("needs_response", amount=7000000)) == "reversed"
    assert await gw.balance("A-1") == (Decimal("100000.00"), "open", Decimal("100000.00"))
    won = disputed("won", amount=7000000)
    assert await stripe.send("charge.dispute.funds_reinstated", won) == "applied"
    assert await gw.balance("A-1") == (Decimal("0.00"), "settled", Decimal("0.00"))
    async with gw.platform.db.transaction() as s:
        decided = (await s.execute(text(
            "SELECT envelope->>'type' FROM payments.outbox WHERE envelope->>'type' LIKE 'arrangement.%' "
            "OR envelope->>'type' = 'account.settled' ORDER BY id"))).scalars().all()
        status = await s.scalar(text("SELECT status FROM payments.arrangements WHERE account_ref = 'A-1'"))
    assert decided == ["arrangement.made", "arrangement.kept", "account.settled", "arrangement.broken",
                       "arrangement.kept", "account.settled"]
    assert status == "kept"


async def test_a_settlement_kept_again_forgives_what_it_forgave_whatever_was_paid_since(gw: Gateway,
                                                                                       clock: Clock) -> None:
    """Charged back, the account was pursued for all of it and paid it after the settlement's deadline; the dispute
    won then says the settlement stood: its discount is forgiven again, and everything paid since is a credit."""
    made = await gw.http.post("/v1/clients/banco/accounts/A-1/arrangements", headers=gw.as_operator(), json={
        "kind": "settlement", "instalments": [{"due_date": "2026-04-15", "amount": "70000.00"}]})
    assert made.status_code == 201, made.text
    stripe = await stripe_on(gw)
    assert await stripe.send("checkout.session.completed", {**session("paid"), "amount_total": 7000000}) == "applied"
    assert await stripe.send("charge.dispute.created", disputed("needs_response", amount=7000000)) == "reversed"
    clock.now = dt.datetime(2026, 4, 20, 16, 0, tzinfo=dt.UTC)  # recorded when it was paid
    paid_late = await gw.manual("pago-tardio-0001", {"account_ref": "A-1", "amount": "100000.00",
                                                     "paid_at": "2026-04-20T10:00:00-05:00"})
    assert (paid_late.status_code, paid_late.json()["account_status"]) == (200, "paid"), paid_late.text
    clock.now = NOW  # Stripe's events below are signed at NOW
    assert await stripe.send("charge.dispute.funds_reinstated", disputed("won", amount=7000000)) == "applied"
    # As if the chargeback had never been: 70,000 settled 100,000, and the 100,000 paid since is the debtor's.
    assert await gw.balance("A-1") == (Decimal("-100000.00"), "settled", Decimal("-100000.00"))
