"""One deposit's two records meeting in flight (real PostgreSQL, two transactions): a bank statement read while the
account's placement, which applies a payment by hand that waited for it, has not committed; and one read while a
payment by hand to the account is being applied. The statement's line waits for the other transaction and then
sees the payment by hand: it is held (`possible_duplicate`), never applied as a second deposit."""

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from payments import handlers
from payments.records import Placement
from payments.settings import PaymentsSettings
from recaudo_common.testing import eventually

from .conftest import NOW, READ_AT, Gateway, gateway_at, someone_waits_for_a_lock
from .test_deposits_recorded_by_hand import statement

pytestmark = pytest.mark.integration


@pytest.fixture
async def gateway(database_url: str, payments_settings: PaymentsSettings) -> AsyncIterator[Gateway]:
    """The files below are read after the days they say were paid (a line dated after its reading is refused)."""
    async with gateway_at(database_url, payments_settings, lambda: READ_AT) as opened:
        yield opened


SLIP = {"amount": "25000.00", "paid_at": "2026-04-03T16:40:00-05:00", "method": "consignacion"}


async def test_a_statement_read_while_the_account_is_placed_holds_the_deposit_recorded_by_hand(
        gateway: Gateway) -> None:
    by_hand = await gateway.manual("consignacion-0201", {"account_ref": "NUEVA-9", **SLIP})
    assert by_hand.json()["status"] == "unmatched"
    async with gateway.platform.db.transaction() as placing:
        # The placement applies the payment by hand that waited for the account, and has not committed yet.
        await handlers.open_accounts(placing, [Placement(client="banco", account_ref="NUEVA-9", debtor_ref=None,
                                                         debtor_id="9", currency="COP", placed=Decimal("100000.00"),
                                                         event_id=None)], NOW)
        reading = asyncio.create_task(statement(gateway, "extracto.csv", "06/04/2026;NUEVA-9;25.000,00;TX-201"))
        await eventually(lambda: someone_waits_for_a_lock(gateway), timeout_s=20, message="the statement waits")
        assert not reading.done()
    body = await reading
    assert [(r["status"], r.get("reason")) for r in body["results"]] == [("unmatched", "possible_duplicate")]
    assert await gateway.balance("NUEVA-9") == (Decimal("75000.00"), "open", Decimal("75000.00"))


async def test_a_statement_read_while_a_payment_by_hand_is_applied_holds_its_line(gateway: Gateway) -> None:
    async with gateway.platform.db.transaction() as paying:
        applied = await handlers.apply_payment(
            paying, client="banco", account_ref="A-1", debtor_id=None, amount=Decimal("25000.00"), currency="COP",
            paid_at=dt.datetime.fromisoformat(str(SLIP["paid_at"])), source="manual", method="consignacion",
            reference=None, now=NOW)
        assert applied.status == "applied"
        reading = asyncio.create_task(statement(gateway, "extracto.csv", "06/04/2026;A-1;25.000,00;TX-202"))
        await eventually(lambda: someone_waits_for_a_lock(gateway), timeout_s=20, message="the statement waits")
        assert not reading.done()
    body = await reading
    assert [(r["status"], r.get("reason")) for r in body["results"]] == [("unmatched", "possible_duplicate")]
    assert await gateway.balance("A-1") == (Decimal("75000.00"), "open", Decimal("75000.00"))
