"""A client company's file that restates an account payments has closed (MISSION §4, §7: payments books the stated
balance's change as an adjustment, and payment.adjusted says the ledger's word after it), against a real
PostgreSQL: a paid account owed again is open and worked again, from the days it stood still at; a settled one stays
settled; the balance is the ledger's, whichever of the restatement and the adjustment arrives first."""

import datetime as dt
from decimal import Decimal

import pytest

from recaudo_common.events import AccountSettled, AccountUpdated, PaymentAdjusted
from recaudo_common.runtime import Platform

from .test_aging import CLIENT, LATE_EVENING, account, deliver, last_said, placed
from .test_closed_days_stand_still import APRIL_10, MAY_10, payment
from .test_payments_together import balances

pytestmark = pytest.mark.integration


def restated(ref: str, balance: str, days_past_due: int = 60) -> AccountUpdated:
    """The client's file of May 10th: its balance, and the days past due its own books count as of that day."""
    return AccountUpdated(**{**placed(ref, days_past_due, balance).model_dump(), "as_of": MAY_10.date()},
                          previous_balance=Decimal("500000"))


def adjusted(ref: str, amount: str, new_balance: str, status: str) -> PaymentAdjusted:
    return PaymentAdjusted(account_ref=ref, amount=Decimal(amount), currency="COP", adjusted_at=MAY_10,
                           new_balance=Decimal(new_balance), account_status=status)  # type: ignore[arg-type]


@pytest.mark.parametrize("adjustment_first", [False, True], ids=["restatement-first", "adjustment-first"])
async def test_a_paid_account_owed_again_is_worked_again(platform: Platform, adjustment_first: bool) -> None:
    await deliver(platform, [CLIENT, placed("U-1", 45)], LATE_EVENING)
    await deliver(platform, [payment("U-1", "500000", "0", "paid", APRIL_10)], APRIL_10)  # 55 days, paid
    # The client's file of May 10th states 520,000 (interest its books added): 20,000 is owed again.
    events = [restated("U-1", "520000"), adjusted("U-1", "20000", "20000", "open")]
    for event in reversed(events) if adjustment_first else events:
        await deliver(platform, [event], MAY_10)
    assert (await balances(platform))["U-1"] == (Decimal("20000"), "open")
    after = await account(platform, "U-1")
    assert after["treatment"] not in ("stopped", "do_not_pursue") and after["history"][-1][0] in (
        "adjustment", "balance_update")
    assert await last_said(platform, "U-1") == (60, "2026-05-10", False)  # the days the file states, growing


async def test_a_settled_account_restated_stays_settled(platform: Platform) -> None:
    await deliver(platform, [CLIENT, placed("U-2", 45)], LATE_EVENING)
    await deliver(platform, [payment("U-2", "350000", "150000", "settled", APRIL_10),
                             AccountSettled(account_ref="U-2", settled_at=APRIL_10)], APRIL_10)
    await deliver(platform, [restated("U-2", "530000"), adjusted("U-2", "30000", "180000", "settled")], MAY_10)
    assert (await balances(platform))["U-2"] == (Decimal("180000"), "settled")
    after = await account(platform, "U-2")
    assert (after["status"], after["treatment"]) == ("settled", "stopped")


async def test_an_open_account_restated_takes_the_ledgers_balance_not_the_files(platform: Platform) -> None:
    # Placed 500,000, 200,000 paid: the file restates 510,000; the ledger says 310,000 (its payments count).
    await deliver(platform, [CLIENT, placed("U-3", 45)], LATE_EVENING)
    await deliver(platform, [payment("U-3", "200000", "300000", "open", APRIL_10)], APRIL_10)
    await deliver(platform, [adjusted("U-3", "10000", "310000", "open")], MAY_10)
    await deliver(platform, [restated("U-3", "510000")], MAY_10 + dt.timedelta(minutes=1))
    assert (await balances(platform))["U-3"] == (Decimal("310000"), "open")
