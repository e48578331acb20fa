"""A payment that recovered written-off money, reversed after the write-off itself was reversed, on payments' real
API and PostgreSQL: the write-off no longer stands (its reversal put what was not recovered back on the balance),
so the money the payment brought is owed again, on the balance, never written off again with no write-off behind it.
While the write-off stands, the same reversal writes it off again, as before."""

from decimal import Decimal

import pytest
from sqlalchemy import text

from .conftest import Gateway, payment
from .test_arrangements_taken_back import applied_id
from .test_write_offs import reverse_write_off, write_off

pytestmark = pytest.mark.integration


async def written_off(gateway: Gateway, ref: str) -> tuple[Decimal, Decimal, Decimal]:
    """The account's written-off money, what its ledger's write-off entries leave, and what its write-offs not
    reversed say."""
    async with gateway.platform.db.transaction() as s:
        kept = await s.scalar(text("SELECT written_off FROM payments.accounts WHERE account_ref = :r"), {"r": ref})
        ledger = await s.scalar(text(
            "SELECT -coalesce(sum(amount), 0) FROM payments.ledger_entries WHERE account_ref = :r "
            "AND kind IN ('write_off', 'write_off_recovery', 'write_off_reversal')"), {"r": ref})
        standing = await s.scalar(text(
            "SELECT coalesce(sum(amount), 0) FROM payments.write_offs WHERE account_ref = :r AND reversed_at IS NULL"),
            {"r": ref})
    return Decimal(kept), Decimal(ledger), Decimal(standing)


async def reverse(gateway: Gateway, external_id: str, key: str) -> None:
    answer = await gateway.http.post(f"/v1/clients/banco/payments/{await applied_id(gateway, external_id)}/reversal",
                                     json={"reason": "cheque devuelto"},
                                     headers={**gateway.as_operator(), "Idempotency-Key": key})
    assert answer.status_code == 200, answer.text


async def test_a_recovering_payment_reversed_after_the_write_off_was_reversed_is_owed_again(gateway: Gateway) -> None:
    assert (await write_off(gateway, reason="deceased")).status_code == 200
    assert (await gateway.send(payment("wr-1", amount="30000.00"))).json()["status"] == "applied"  # recovers 30,000
    assert (await reverse_write_off(gateway, reason="el deudor no falleció")).status_code == 200
    assert await gateway.balance("A-1") == (Decimal("70000.00"), "open", Decimal("70000.00"))
    await reverse(gateway, "wr-1", "cheque-0001")
    # Nothing is written off any more: the 30,000 the cheque never paid is owed again, with the rest.
    assert await gateway.balance("A-1") == (Decimal("100000.00"), "open", Decimal("100000.00"))
    assert await written_off(gateway, "A-1") == (Decimal("0.00"), Decimal("0.00"), Decimal("0"))


async def test_while_the_write_off_stands_a_recovering_payment_reversed_is_written_off_again(
        gateway: Gateway) -> None:
    assert (await write_off(gateway, "A-2", reason="deceased")).status_code == 200
    assert (await gateway.send(payment("wr-2", ref="A-2", amount="30000.00"))).json()["status"] == "applied"
    await reverse(gateway, "wr-2", "cheque-0002")
    assert await gateway.balance("A-2") == (Decimal("0.00"), "written_off", Decimal("0.00"))
    assert await written_off(gateway, "A-2") == (Decimal("100000.00"), Decimal("100000.00"), Decimal("100000.00"))
