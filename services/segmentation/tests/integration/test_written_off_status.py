"""A payment on a written-off account (#22): payments says written_off; segmentation keeps it (it is not open:
no longer segmented or aged) instead of dead-lettering the payment."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from recaudo_common.events import PaymentApplied
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
