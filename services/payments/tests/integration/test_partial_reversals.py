"""Partial reversals, refunds and chargebacks through the real API and PostgreSQL: each takes back what it says (all
that remains when it says nothing), never more than remains, several until the whole payment; the balance, the
ledger, the payment.reversed v2 events and the promises all follow to the cent."""

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from payments.promises import store
from payments.promises.handlers import evaluate_due_promises
from recaudo_common.events import PromiseMade

from .conftest import NOW, Gateway, deliver, payment

pytestmark = pytest.mark.integration


async def reverse(gateway: Gateway, payment_id: str, *, key: str | None = None, client: str = "banco",
                  **body: Any) -> Any:
    """An operator's reversal; each call is a new one unless it repeats another's Idempotency-Key."""
    return await gateway.http.post(f"/v1/clients/{client}/payments/{payment_id}/reversal", json=body,
                                   headers={**gateway.as_operator(), "Idempotency-Key": key or f"rev-{uuid.uuid4()}"})


async def reversed_events(gateway: Gateway) -> list[tuple[int, str, str, str, str]]:
    async with gateway.platform.db.transaction() as s:
        rows = (await s.execute(text(
            "SELECT (envelope->>'version')::int, envelope->'payload'->>'kind', envelope->'payload'->>'amount', "
            "envelope->'payload'->>'reversed_total', envelope->'payload'->>'new_balance' FROM payments.outbox "
            "WHERE envelope->>'type' = 'payment.reversed' ORDER BY id"))).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


async def test_partial_reversals_refunds_and_chargebacks_add_up_to_the_payment(gateway: Gateway) -> None:
    paid = (await gateway.send(payment("pp-1", amount="60000.00"))).json()
    assert paid["status"] == "applied"
    async with gateway.platform.db.transaction() as s:
        payment_id = str(await s.scalar(text("SELECT id FROM payments.payments WHERE external_id = 'pp-1'")))

    first = await reverse(gateway, payment_id, amount="10000.55", reason="cobro duplicado parcial")
    assert first.status_code == 200, first.text
    assert {k: first.json()[k] for k in ("status", "amount", "reversed_total", "remaining", "new_balance")} == {
        "status": "reversed", "amount": "10000.55", "reversed_total": "10000.55", "remaining": "49999.45",
        "new_balance": "50000.55"}
    refund = {**payment("rf-1", amount="20000.00"), "type": "refund", "refers_to": "pp-1"}
    assert (await gateway.send(refund)).json()["status"] == "reversed"
    assert (await gateway.send(refund)).json()["status"] == "duplicate"  # redelivered: counted once

    too_much = await reverse(gateway, payment_id, amount="29999.46")
    assert (too_much.status_code, too_much.json()["code"]) == (422, "reversal_exceeds_payment")
    assert "29999.45" in too_much.json()["detail"]
    zero = await reverse(gateway, payment_id, amount="0")
    assert (zero.status_code, zero.json()["code"]) == (422, "validation_error")
    fractions = await reverse(gateway, payment_id, amount="0.001")
    assert fractions.status_code == 422
    assert await gateway.balance("A-1") == (Decimal("70000.55"), "open", Decimal("70000.55"))

    # A chargeback without an amount takes back all that remains.
    chargeback = {**payment("cb-1"), "type": "chargeback", "refers_to": "pp-1"}
    del chargeback["amount"]
    assert (await gateway.send(chargeback)).json()["status"] == "reversed"
    assert await gateway.balance("A-1") == (Decimal("100000.00"), "open", Decimal("100000.00"))
    assert (await reverse(gateway, payment_id)).json()["status"] == "duplicate"  # nothing remains
    after_all = await reverse(gateway, payment_id, amount="0.01")
    assert (after_all.status_code, after_all.json()["code"]) == (422, "reversal_exceeds_payment")
    over_refund = await gateway.send({**payment("rf-2", amount="0.01"), "type": "refund", "refers_to": "pp-1"})
    assert (over_refund.status_code, over_refund.json()["code"]) == (422, "reversal_exceeds_payment")

    assert await reversed_events(gateway) == [
        (3, "reversal", "10000.55", "10000.55", "50000.55"),
        (3, "refund", "20000.00", "30000.55", "70000.55"),
        (3, "chargeback", "29999.45", "60000.00", "100000.00")]
    async with gateway.platform.db.transaction() as s:
        status, reversed_amount = (await s.execute(text(
            "SELECT status, reversed_amount FROM payments.payments WHERE id = :p"), {"p": payment_id})).one()
        kinds = [r[0] for r in await s.execute(text(
            "SELECT kind FROM payments.ledger_entries WHERE account_ref = 'A-1' ORDER BY id"))]
    assert (status, reversed_amount) == ("reversed", Decimal("60000.00"))
    assert kinds == ["placement", "payment", "reversal", "reversal", "chargeback"]


async def test_a_paid_account_reopens_on_a_partial_refund_and_promises_count_what_stayed_paid(
        gateway: Gateway) -> None:
    promise = PromiseMade(promise_id=uuid.uuid4(), account_ref="A-2", amount=Decimal("100000"),
                          due_date=dt.date(2026, 4, 2), source="agent", made_at=NOW)
    await deliver(gateway.platform, promise)
    await gateway.send(payment("full-1", ref="A-2", amount="100000.00"))
    assert (await gateway.balance("A-2"))[1] == "paid"
    refund = {**payment("rf-9", ref="A-2", amount="0.50"), "type": "refund", "refers_to": "full-1"}
    assert (await gateway.send(refund)).json()["status"] == "reversed"
    assert await gateway.balance("A-2") == (Decimal("0.50"), "open", Decimal("0.50"))
    # The promise was kept when the payment arrived; the partial refund leaves it short (what is counted as paid
    # toward a promise is net of reversals): pending again before its date, broken by the evaluator after it.
    async with gateway.platform.db.transaction() as s:
        paid = await store.paid_between(s, "banco", "A-2", NOW - dt.timedelta(days=1), NOW + dt.timedelta(days=1))
        status = await s.scalar(text("SELECT status FROM payments.promises WHERE promise_id = :p"),
                                {"p": promise.promise_id})
    assert (paid, status) == (Decimal("99999.50"), "pending")
    assert await evaluate_due_promises(gateway.platform.db, now=NOW + dt.timedelta(days=10)) == {
        "kept": 0, "broken": 1}
