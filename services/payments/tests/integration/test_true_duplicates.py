"""Only a true duplicate is a duplicate: the same (gateway, id) with the same content. Any other refusal by the real
PostgreSQL (a unique index that is not the gateway's, a CHECK) fails loudly with a 5xx problem, applies nothing,
and the same payment sent again once the cause is gone is applied."""

from decimal import Decimal

import pytest
from sqlalchemy import text

from .conftest import Gateway, payment

pytestmark = pytest.mark.integration


async def ddl(gateway: Gateway, statement: str) -> None:
    async with gateway.platform.db.transaction() as s:
        await s.execute(text(statement))


async def stored_payments(gateway: Gateway) -> int:
    async with gateway.platform.db.transaction() as s:
        return int(await s.scalar(text("SELECT count(*) FROM payments.payments")))


async def test_a_unique_violation_that_is_not_the_gateways_fails_loudly_and_is_applied_when_sent_again(
        gateway: Gateway) -> None:
    # A constraint the payments table might one day carry, unrelated to (gateway, payment_id).
    await ddl(gateway, "CREATE UNIQUE INDEX one_payment_per_method ON payments.payments (client_slug, method)")
    first = await gateway.send(payment("u-1", amount="10000.00"))
    assert first.json()["status"] == "applied"
    refused = await gateway.send(payment("u-2", ref="A-2", amount="20000.00"))  # same method, another payment
    assert refused.status_code == 500, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "payment_not_recorded"
    assert "one_payment_per_method" in refused.json()["detail"]
    assert await gateway.balance("A-2") == (Decimal("100000.00"), "open", Decimal("100000.00"))
    assert await stored_payments(gateway) == 1
    await ddl(gateway, "DROP INDEX payments.one_payment_per_method")
    again = await gateway.send(payment("u-2", ref="A-2", amount="20000.00"))  # the gateway's retry
    assert (again.status_code, again.json()["status"]) == (200, "applied")
    assert await gateway.balance("A-2") == (Decimal("80000.00"), "open", Decimal("80000.00"))


async def test_a_check_violation_on_a_manual_payment_fails_loudly_and_frees_its_key(gateway: Gateway) -> None:
    await ddl(gateway, "ALTER TABLE payments.payments ADD CONSTRAINT below_a_limit CHECK (amount < 50000)")
    body = {"account_ref": "A-1", "amount": "60000.00", "paid_at": "2026-03-31T10:00:00-05:00", "method": "cash"}
    refused = await gateway.manual("manual-key-1", body)
    assert (refused.status_code, refused.json()["code"]) == (500, "payment_not_recorded")
    assert await gateway.balance("A-1") == (Decimal("100000.00"), "open", Decimal("100000.00"))
    await ddl(gateway, "ALTER TABLE payments.payments DROP CONSTRAINT below_a_limit")
    applied = await gateway.manual("manual-key-1", body)  # the key was not spent on the refused attempt
    assert (applied.status_code, applied.json()["status"]) == (200, "applied")
    assert (await gateway.manual("manual-key-1", body)).json() == applied.json()


async def test_the_same_gateway_id_with_other_content_is_a_conflict_not_a_duplicate(gateway: Gateway) -> None:
    assert (await gateway.send(payment("c-1", amount="10000.00"))).json()["status"] == "applied"
    assert (await gateway.send(payment("c-1", amount="10000.00"))).json()["status"] == "duplicate"
    other = await gateway.send(payment("c-1", amount="99000.00"))
    assert (other.status_code, other.json()["code"]) == (409, "gateway_id_reused")
    refund = {**payment("r-1", amount="1000.00"), "type": "refund", "refers_to": "c-1"}
    assert (await gateway.send(refund)).json()["status"] == "reversed"
    assert (await gateway.send(refund)).json()["status"] == "duplicate"
    bigger = await gateway.send({**refund, "amount": "2000.00"})
    assert (bigger.status_code, bigger.json()["code"]) == (409, "gateway_id_reused")
    assert await gateway.balance("A-1") == (Decimal("91000.00"), "open", Decimal("91000.00"))


async def test_a_redelivery_stamped_anew_is_still_the_same_payment(gateway: Gateway) -> None:
    assert (await gateway.send(payment("t-1", paid_at="2026-03-31T10:00:00-05:00"))).json()["status"] == "applied"
    again = await gateway.send(payment("t-1", paid_at="2026-03-31T10:00:07-05:00", method="card"))
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    other_account = await gateway.send(payment("t-1", ref="A-2", paid_at="2026-03-31T10:00:00-05:00"))
    assert (other_account.status_code, other_account.json()["code"]) == (409, "gateway_id_reused")


async def test_a_retry_writing_the_same_amount_otherwise_is_the_same_payment_by_hand(gateway: Gateway) -> None:
    """30000, 30000.0 and "30000.00" are one amount: a retry under the same Idempotency-Key that writes it another
    way answers what the first answered (as a gateway's redelivery, a reversal or a write-off does), and is never
    refused as another body; another amount still is."""
    body = {"account_ref": "A-1", "amount": "30000", "paid_at": "2026-03-31T10:00:00-05:00"}
    first = await gateway.manual("manual-key-2", body)
    assert (first.status_code, first.json()["status"]) == (200, "applied")
    for amount in ("30000.00", "30000.0", 30000, 30000.00):
        again = await gateway.manual("manual-key-2", {**body, "amount": amount})
        assert (again.status_code, again.json()) == (200, first.json()), amount
    other = await gateway.manual("manual-key-2", {**body, "amount": "30000.01"})
    assert (other.status_code, other.json()["code"]) == (409, "idempotency_key_reused")
    assert await gateway.balance("A-1") == (Decimal("70000.00"), "open", Decimal("70000.00"))
