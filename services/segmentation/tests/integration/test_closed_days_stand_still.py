"""A closed account's days past due stand still from the day it closed (MISSION §5: they stop growing when the
account is paid, settled, written off or recalled), whatever re-segments it afterwards: against a real PostgreSQL."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from recaudo_common.events import AccountLegalHoldSet, AccountRecalled, AccountUpdated, PaymentApplied
from recaudo_common.runtime import Platform

from .test_aging import CLIENT, LATE_EVENING, deliver, last_said, placed

pytestmark = pytest.mark.integration
APRIL_10 = dt.datetime(2026, 4, 10, 15, 0, tzinfo=dt.UTC)
MAY_31 = dt.datetime(2026, 5, 31, 15, 0, tzinfo=dt.UTC)


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
