"""A closed account's days past due stand still from the day it closed (MISSION §5: they stop growing when the
account is paid, settled, written off or recalled), whatever re-segments it afterwards: against a real PostgreSQL."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from recaudo_common.events import (
    AccountLegalHoldSet,
    AccountRecalled,
    AccountUpdated,
    ArrangementBroken,
    ArrangementKept,
    PaymentApplied,
    PaymentReversedV3,
)
from recaudo_common.runtime import Platform
from segmentation.handlers import run_aging

from .test_aging import CLIENT, LATE_EVENING, deliver, last_said, placed
from .test_plan_hold_days import plan_for

pytestmark = pytest.mark.integration
APRIL_10 = dt.datetime(2026, 4, 10, 15, 0, tzinfo=dt.UTC)
MAY_31 = dt.datetime(2026, 5, 31, 15, 0, tzinfo=dt.UTC)
APRIL_5 = dt.datetime(2026, 4, 5, 15, 0, tzinfo=dt.UTC)
MAY_10 = dt.datetime(2026, 5, 10, 15, 0, tzinfo=dt.UTC)
MAY_20 = dt.datetime(2026, 5, 20, 15, 0, tzinfo=dt.UTC)


def payment(ref: str, amount: str, new_balance: str, status: str, at: dt.datetime) -> PaymentApplied:
    return PaymentApplied(payment_id=uuid.uuid4(), account_ref=ref, amount=Decimal(amount), currency="COP",
                          paid_at=at, source="manual", new_balance=Decimal(new_balance),
                          account_status=status)  # type: ignore[arg-type]


async def test_a_recalled_account_paid_later_keeps_the_days_it_was_recalled_at(platform: Platform) -> None:
    await deliver(platform, [CLIENT, placed("C-1", 45)], LATE_EVENING)  # 45 days on March 31st
    await deliver(platform, [AccountRecalled(account_ref="C-1", recalled_at=APRIL_10)], APRIL_10)
    assert await last_said(platform, "C-1") == (55, "2026-04-10", True)
    await deliver(platform, [payment("C-1", "100000", "400000", "open", MAY_31)], MAY_31)
    assert await last_said(platform, "C-1") == (55, "2026-05-31", True)  # not 106


async def test_a_paid_account_segmented_again_keeps_the_days_it_was_paid_at(platform: Platform) -> None:
    await deliver(platform, [CLIENT, placed("C-2", 45)], LATE_EVENING)
    await deliver(platform, [payment("C-2", "500000", "0", "paid", APRIL_10)], APRIL_10)
    assert await last_said(platform, "C-2") == (55, "2026-04-10", True)
    await deliver(platform, [AccountLegalHoldSet(account_ref="C-2", hold="dispute", set_at=MAY_31)], MAY_31)
    assert await last_said(platform, "C-2") == (55, "2026-05-31", True)


async def test_a_closed_account_the_client_restates_keeps_the_days_it_states(platform: Platform) -> None:
    await deliver(platform, [CLIENT, placed("C-3", 45)], LATE_EVENING)
    await deliver(platform, [payment("C-3", "500000", "0", "paid", APRIL_10)], APRIL_10)
    # The client's file of May 31st states 90 days as of May 30th: those, not fewer for the days since it closed.
    await deliver(platform, [AccountUpdated(**{**placed("C-3", 90).model_dump(), "as_of": dt.date(2026, 5, 30)},
                                            previous_balance=Decimal(500000))], MAY_31)
    assert await last_said(platform, "C-3") == (90, "2026-05-31", True)


def charged_back(paid: PaymentApplied, at: dt.datetime) -> PaymentReversedV3:
    return PaymentReversedV3(payment_id=paid.payment_id, reversal_id=uuid.uuid4(), account_ref=paid.account_ref,
                             amount=paid.amount, kind="chargeback", reversed_at=at, new_balance=paid.amount,
                             account_status="open", payment_amount=paid.amount, reversed_total=paid.amount)


async def test_a_reopened_account_goes_on_from_the_days_it_closed_at(platform: Platform) -> None:
    # Paid on April 10th (55 days), charged back on May 10th: 55 days again, not 85 for the 30 days it was paid.
    await deliver(platform, [CLIENT, placed("C-4", 45)], LATE_EVENING)
    paid = payment("C-4", "500000", "0", "paid", APRIL_10)
    await deliver(platform, [paid], APRIL_10)
    await deliver(platform, [charged_back(paid, MAY_10)], MAY_10)
    assert await last_said(platform, "C-4") == (55, "2026-05-10", False)
    # From there it ages one a day again: the daily aging moves it to 61-90 on May 16th, not before.
    assert await run_aging(platform.db, client="banco", day=dt.date(2026, 5, 15), now=MAY_10) == 0
    assert await run_aging(platform.db, client="banco", day=dt.date(2026, 5, 16), now=MAY_10) == 1
    assert await last_said(platform, "C-4") == (61, "2026-05-16", False)


async def test_a_reopened_account_under_a_plan_goes_on_from_the_days_the_plan_held(platform: Platform) -> None:
    # A plan agreed on April 5th holds 50 days; it is paid off and kept on April 10th, the payment charged back on
    # May 10th: 50 days again, growing from there.
    await deliver(platform, [CLIENT, placed("C-5", 45)], LATE_EVENING)
    plan = plan_for("C-5", APRIL_5)
    await deliver(platform, [plan], APRIL_5)
    paid = payment("C-5", "500000", "0", "paid", APRIL_10)
    await deliver(platform, [paid], APRIL_10)
    await deliver(platform, [ArrangementKept(arrangement_id=plan.arrangement_id, account_ref="C-5",
                                             kept_at=APRIL_10)], APRIL_10)
    assert await last_said(platform, "C-5") == (50, "2026-04-10", True)
    await deliver(platform, [charged_back(paid, MAY_10)], MAY_10)
    assert await last_said(platform, "C-5") == (50, "2026-05-10", False)


async def test_a_reopened_account_whose_plan_still_holds_ages_only_once_the_plan_ends(platform: Platform) -> None:
    # Paid off under a plan whose end has not reached segmentation when the payment is charged back: still held at
    # 50 days; the plan broken on May 20th lets them grow from 50.
    await deliver(platform, [CLIENT, placed("C-6", 45)], LATE_EVENING)
    plan = plan_for("C-6", APRIL_5)
    await deliver(platform, [plan], APRIL_5)
    paid = payment("C-6", "500000", "0", "paid", APRIL_10)
    await deliver(platform, [paid], APRIL_10)
    await deliver(platform, [charged_back(paid, MAY_10)], MAY_10)
    assert await last_said(platform, "C-6") == (50, "2026-05-10", True)
    await deliver(platform, [ArrangementBroken(arrangement_id=plan.arrangement_id, account_ref="C-6",
                                               broken_at=MAY_20, missed_instalments=1)], MAY_20)
    assert await last_said(platform, "C-6") == (50, "2026-05-20", False)
    assert await run_aging(platform.db, client="banco", day=dt.date(2026, 5, 30), now=MAY_20) == 0  # 60: 31-60
    assert await run_aging(platform.db, client="banco", day=dt.date(2026, 5, 31), now=MAY_20) == 1  # 61: 61-90
