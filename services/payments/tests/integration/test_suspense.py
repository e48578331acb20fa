"""The suspense queue: what the payer and the gateway said is shown to the operator, and a payment that named an
account whose placement was still on its way is applied when the placement arrives, whatever the order in which
events and payments meet (real PostgreSQL, payments' real consumer runtime)."""

import asyncio
import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import text

from payments import handlers
from payments.records import Placement
from recaudo_common.testing import eventually

from .conftest import NOW, Gateway, deliver, payment, placed

pytestmark = pytest.mark.integration
MANUAL = {"account_ref": "LATE-1", "amount": "25000.00", "paid_at": "2026-03-31T09:00:00-05:00", "method": "cash",
          "reference": "recibo 0042"}


async def unmatched(gateway: Gateway) -> list[dict[str, object]]:
    answer = await gateway.http.get("/v1/clients/banco/payments/unmatched", headers=gateway.as_operator())
    assert answer.status_code == 200, answer.text
    items: list[dict[str, object]] = answer.json()["items"]
    return items


async def test_the_queue_shows_the_gateway_its_payment_id_and_the_reference_given(gateway: Gateway) -> None:
    await gateway.send(payment("gw-77", ref="NO-EXISTE", amount="1234.56"))
    await gateway.send(payment("gw-78", ref=None, debtor_id="999", amount="10.00"))
    queue = await unmatched(gateway)
    # Received at the same instant (the test's clock), so in no particular order between them.
    assert sorted(({k: q[k] for k in ("gateway", "gateway_payment_id", "account_ref_given", "debtor_id_given",
                                      "reason", "amount")} for q in queue), key=lambda q: str(q["gateway_payment_id"])) == [
        {"gateway": "pasarela", "gateway_payment_id": "gw-77", "account_ref_given": "NO-EXISTE",
         "debtor_id_given": None, "reason": "unknown_account_ref", "amount": "1234.56"},
        {"gateway": "pasarela", "gateway_payment_id": "gw-78", "account_ref_given": None, "debtor_id_given": "999",
         "reason": "unknown_debtor_id", "amount": "10.00"}]
    await gateway.manual("manual-suspense-1", {**MANUAL, "account_ref": "OTRA-1"})
    [manual] = [q for q in await unmatched(gateway) if q["source"] == "manual"]
    assert (manual["gateway"], manual["gateway_payment_id"], manual["account_ref_given"], manual["reference"]) == (
        None, None, "OTRA-1", "recibo 0042")


@pytest.mark.parametrize("one_by_one", [False, True], ids=["batch", "single"])
async def test_a_payment_before_its_placement_is_applied_when_the_placement_arrives(
        gateway: Gateway, one_by_one: bool) -> None:
    early = await gateway.manual("manual-early-1", MANUAL)
    assert early.json()["status"] == "unmatched"
    assert (await gateway.send(payment("gw-early", ref="LATE-1", amount="5000.00"))).json()["status"] == "unmatched"
    assert len(await unmatched(gateway)) == 2

    await deliver(gateway.platform, await placed(gateway.platform, "OTHER-9"),
                  await placed(gateway.platform, "LATE-1", "100000.00"), one_by_one=one_by_one)

    assert await unmatched(gateway) == []
    assert await gateway.balance("LATE-1") == (Decimal("70000.00"), "open", Decimal("70000.00"))
    replay = await gateway.manual("manual-early-1", MANUAL)  # the Idempotency-Key answers what it became
    assert replay.status_code == 200
    assert {k: replay.json()[k] for k in ("id", "status", "account_ref", "matched_by", "new_balance")} == {
        "id": early.json()["id"], "status": "applied", "account_ref": "LATE-1", "matched_by": "account_ref",
        "new_balance": "75000.00"}
    assert (await gateway.send(payment("gw-early", ref="LATE-1", amount="5000.00"))).json()["status"] == "duplicate"
    async with gateway.platform.db.transaction() as s:
        applied = [r[0] for r in await s.execute(text(
            "SELECT envelope->'payload'->>'amount' FROM payments.outbox WHERE envelope->>'type' = 'payment.applied' "
            "AND envelope->>'key' = 'banco/LATE-1' ORDER BY id"))]
    assert applied == ["25000.00", "5000.00"]  # in the order they were received


async def waiting_for_a_lock(gateway: Gateway) -> bool:
    async with gateway.platform.db.transaction() as s:
        return bool(await s.scalar(text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")))


async def test_a_payment_racing_a_placement_in_flight_waits_for_it_and_is_applied(gateway: Gateway) -> None:
    async with gateway.platform.db.transaction() as placing:
        await handlers.open_accounts(placing, [Placement(client="banco", account_ref="RACE-1", debtor_ref=None, debtor_id="5",
                                                         currency="COP", placed=Decimal("50000.00"),
                                                         event_id=None)], NOW)
        # The placement has looked at suspense and is not committed yet: a payment naming RACE-1 now cannot see
        # the account; without the lock it would file itself in suspense after the placement looked there.
        racing = asyncio.create_task(gateway.send(payment("gw-race", ref="RACE-1", amount="50000.00")))
        await eventually(lambda: waiting_for_a_lock(gateway), timeout_s=20, message="the payment waits")
        assert not racing.done()
    assert (await racing).json()["status"] == "applied"
    assert await gateway.balance("RACE-1") == (Decimal("0.00"), "paid", Decimal("0.00"))


async def test_a_placement_racing_a_payment_in_flight_waits_for_it_and_matches_it(gateway: Gateway) -> None:
    async with gateway.platform.db.transaction() as paying:
        filed = await handlers.apply_payment(
            paying, client="banco", account_ref="RACE-2", debtor_id=None, amount=Decimal("20000.00"), currency="COP",
            paid_at=NOW - dt.timedelta(hours=1), source="manual", method="cash", reference=None, now=NOW)
        assert filed.status == "unmatched"
        placing = asyncio.create_task(deliver(gateway.platform, await placed(gateway.platform, "RACE-2", "50000.00")))
        await eventually(lambda: waiting_for_a_lock(gateway), timeout_s=20, message="the placement waits")
        assert not placing.done()
    await placing
    assert await unmatched(gateway) == []
    assert await gateway.balance("RACE-2") == (Decimal("30000.00"), "open", Decimal("30000.00"))
