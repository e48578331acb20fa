"""Written-off accounts in segmentation (#22): a payment on one says written_off and segmentation keeps it (it is
not open: no longer segmented or aged) instead of dead-lettering the payment; payment.written_off stops the account
and its reversal re-segments it."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from recaudo_common.events import PaymentApplied, PaymentWriteOffReversed, PaymentWrittenOff
from recaudo_common.runtime import Platform
from segmentation.handlers import run_aging

from .test_aging import CLIENT, LATE_EVENING, account, deliver, placed

pytestmark = pytest.mark.integration


async def test_a_payment_after_a_write_off_leaves_the_account_written_off(platform: Platform) -> None:
    await deliver(platform, [CLIENT, placed("W-1", 400)], LATE_EVENING)
    recovered = PaymentApplied(payment_id=uuid.uuid4(), account_ref="W-1", amount=Decimal("1000"), currency="COP",
                               paid_at=LATE_EVENING, source="manual", new_balance=Decimal("0"),
                               account_status="written_off")
    await deliver(platform, [recovered], LATE_EVENING)
    after = await account(platform, "W-1")
    assert (after["status"], after["treatment"]) == ("written_off", "stopped")
    assert await run_aging(platform.db, client="banco", day=dt.date(2026, 6, 1), now=LATE_EVENING) == 0


async def test_a_write_off_stops_the_account_and_its_reversal_resegments_it(platform: Platform) -> None:
    await deliver(platform, [CLIENT, placed("W-2", 400)], LATE_EVENING)
    written = PaymentWrittenOff(write_off_id=uuid.uuid4(), account_ref="W-2", amount=Decimal("500000"),
                                currency="COP", reason="uneconomic", source="operator", written_off_at=LATE_EVENING,
                                new_balance=Decimal("0"), written_off_total=Decimal("500000"),
                                account_status="written_off")
    await deliver(platform, [written], LATE_EVENING)
    after = await account(platform, "W-2")
    assert (after["status"], after["treatment"]) == ("written_off", "stopped")
    assert after["history"][-1][0] == "write_off"
    assert await run_aging(platform.db, client="banco", day=dt.date(2026, 6, 1), now=LATE_EVENING) == 0
    reversed_ = PaymentWriteOffReversed(account_ref="W-2", amount=Decimal("500000"), reversed_at=LATE_EVENING,
                                        new_balance=Decimal("500000"), account_status="open")
    await deliver(platform, [reversed_], LATE_EVENING)
    again = await account(platform, "W-2")
    assert again["status"] == "open" and again["treatment"] != "stopped"
    assert again["history"][-1][0] == "write_off_reversal"
