"""An account's status by the one rule (recaudo_common.accounts) against a real PostgreSQL: a payment that
arrives after the client company recalled the account does not put it back to work."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from recaudo_common.events import AccountRecalled, PaymentApplied, PaymentReversedV2
from recaudo_common.runtime import Platform
from segmentation.handlers import run_aging

from .test_aging import CLIENT, LATE_EVENING, account, deliver, placed

pytestmark = pytest.mark.integration


async def test_a_payment_or_reversal_after_a_recall_leaves_the_account_recalled(platform: Platform) -> None:
    await deliver(platform, [CLIENT, placed("R-1", 45, balance="900000")], LATE_EVENING)
    await deliver(platform, [AccountRecalled(account_ref="R-1", recalled_at=LATE_EVENING)], LATE_EVENING)
    payment_id = uuid.uuid4()
    await deliver(platform, [PaymentApplied(
        payment_id=payment_id, account_ref="R-1", amount=Decimal("100000"), currency="COP", paid_at=LATE_EVENING,
        source="manual", new_balance=Decimal("800000"), account_status="open")], LATE_EVENING)
    assert (await account(platform, "R-1"))["status"] == "recalled"
    await deliver(platform, [PaymentReversedV2(
        payment_id=payment_id, reversal_id=uuid.uuid4(), account_ref="R-1", amount=Decimal("100000"),
        kind="reversal", reversed_at=LATE_EVENING, new_balance=Decimal("900000"), account_status="open",
        payment_amount=Decimal("100000"), reversed_total=Decimal("100000"))], LATE_EVENING)
    after = await account(platform, "R-1")
    assert after["status"] == "recalled" and after["treatment"] != "digital"
    assert await run_aging(platform.db, client="banco", day=dt.date(2026, 6, 1), now=LATE_EVENING) == 0


async def test_a_payment_still_closes_an_account_that_was_not_recalled(platform: Platform) -> None:
    await deliver(platform, [CLIENT, placed("R-2", 45)], LATE_EVENING)
    await deliver(platform, [PaymentApplied(
        payment_id=uuid.uuid4(), account_ref="R-2", amount=Decimal("500000"), currency="COP", paid_at=LATE_EVENING,
        source="manual", new_balance=Decimal("0"), account_status="paid")], LATE_EVENING)
    assert (await account(platform, "R-2"))["status"] == "paid"


async def test_a_settlement_paid_after_a_recall_leaves_the_account_recalled(platform: Platform) -> None:
    from recaudo_common.events import AccountSettled

    await deliver(platform, [CLIENT, placed("R-3", 45)], LATE_EVENING)
    await deliver(platform, [AccountRecalled(account_ref="R-3", recalled_at=LATE_EVENING)], LATE_EVENING)
    # A settlement agreed before the recall, paid in full after it: the client company still took the account back.
    await deliver(platform, [AccountSettled(account_ref="R-3", settled_at=LATE_EVENING)], LATE_EVENING)
    assert (await account(platform, "R-3"))["status"] == "recalled"
