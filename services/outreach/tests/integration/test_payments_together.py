"""Payments that arrive together are applied together (planning.handlers.on_payments: a few statements for the
whole run) on a real PostgreSQL, each account as if its payment had come alone: each plan waits one spacing of
its own cadence, an account paid off stops, a recalled one stays recalled."""

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from recaudo_common.events import AccountRecalled, PaymentApplied

from .conftest import Outreach, make_outreach, segmented

pytestmark = pytest.mark.integration

DAY = dt.timedelta(days=1)


@pytest.fixture
async def outreach(database_url: str) -> AsyncIterator[Outreach]:
    o, http = await make_outreach(database_url, sandbox_delivery_rate=1.0)
    yield o
    await http.aclose()
    await o.platform.db.dispose()


def payment(ref: str, at: dt.datetime, new_balance: str, status: str = "open") -> PaymentApplied:
    return PaymentApplied(payment_id=uuid.uuid4(), account_ref=ref, amount=Decimal("100000"), currency="COP",
                          paid_at=at, source="gateway", new_balance=Decimal(new_balance), account_status=status)


async def test_a_run_of_payments_is_applied_as_each_would_be_alone(outreach: Outreach) -> None:
    for ref, cadence in (("F-1", 3), ("F-2", 5), ("F-3", 3), ("F-4", 3)):
        await outreach.deliver(await outreach.placed(ref), segmented(ref, ("sms", "email"), cadence_days=cadence))
    await outreach.deliver(AccountRecalled(account_ref="F-4", recalled_at=outreach.clock.now))
    paid_at = outreach.clock.now
    await outreach.deliver(payment("F-1", paid_at, "1400000"), payment("F-2", paid_at, "900000"),
                           payment("F-3", paid_at, "0", "paid"), payment("F-4", paid_at, "500000"),
                           payment("F-9", paid_at, "700000"))

    due = dict(await outreach.sql(
        "SELECT account_ref, min(scheduled_at) FROM outreach.attempts WHERE status = 'scheduled' "
        "GROUP BY account_ref"))
    assert due["F-1"] == paid_at + 3 * DAY and due["F-2"] == paid_at + 5 * DAY  # each its own cadence
    assert "F-3" not in due and "F-4" not in due
    statuses = {r[0]: (r[1], r[2]) for r in await outreach.sql(
        "SELECT account_ref, status, balance FROM outreach.account_status")}
    assert statuses == {"F-1": ("open", Decimal("1400000")), "F-2": ("open", Decimal("900000")),
                        "F-3": ("paid", Decimal("0")), "F-4": ("recalled", Decimal("500000")),
                        "F-9": ("open", Decimal("700000"))}  # F-9's placement may come after its payment
    remembered = {r[0] for r in await outreach.sql("SELECT account_ref FROM outreach.last_payments")}
    assert remembered == {"F-1", "F-2", "F-9"}  # open after the payment: their next decision waits a spacing
    trail = await outreach.sql("SELECT account_ref, kind, detail->>'reason' FROM outreach.trail "
                               "WHERE kind IN ('rescheduled', 'cancelled') ORDER BY account_ref")
    assert {tuple(t) for t in trail} == {("F-1", "rescheduled", "payment received"),
                                         ("F-2", "rescheduled", "payment received"),
                                         ("F-3", "cancelled", "account paid"), ("F-4", "cancelled", "account recalled")}
    assert sum(1 for t in trail if t[0] == "F-1") == 4  # each of its attempts to come moved, with the trail's word
