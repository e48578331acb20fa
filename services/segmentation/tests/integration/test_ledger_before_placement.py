"""The ledger's events that reach segmentation before the account's placement (the payment topic ran ahead of the
account topic), against a real PostgreSQL: the placement takes the ledger's latest word, whatever it was."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from recaudo_common.events import AccountUpdated, PaymentApplied, PaymentReversedV2
from recaudo_common.runtime import Platform
from segmentation.handlers import run_aging

from .test_aging import CLIENT, LATE_EVENING, account, deliver, placed

pytestmark = pytest.mark.integration


async def test_a_payment_and_its_reversal_before_the_placement_leave_the_account_open(platform: Platform) -> None:
    payment_id = uuid.uuid4()
    paid = PaymentApplied(payment_id=payment_id, account_ref="E-2", amount=Decimal("500000"), currency="COP",
                          paid_at=LATE_EVENING, source="gateway", new_balance=Decimal("0"), account_status="paid")
    charged_back = PaymentReversedV2(
        payment_id=payment_id, reversal_id=uuid.uuid4(), account_ref="E-2", amount=Decimal("500000"),
        kind="chargeback", reversed_at=LATE_EVENING + dt.timedelta(minutes=5), new_balance=Decimal("500000"),
        account_status="open", payment_amount=Decimal("500000"), reversed_total=Decimal("500000"))
    await deliver(platform, [CLIENT, paid], LATE_EVENING)
    await deliver(platform, [charged_back], LATE_EVENING)
    await deliver(platform, [placed("E-2", 45)], LATE_EVENING)
    after = await account(platform, "E-2")
    assert after["status"] == "open" and after["treatment"] not in ("stopped", "do_not_pursue")
    assert await run_aging(platform.db, client="banco", day=dt.date(2026, 4, 16), now=LATE_EVENING) == 1  # 61 days


async def test_the_placement_takes_the_ledgers_last_payment_not_the_one_with_the_latest_date(
        platform: Platform) -> None:
    # The gateway's payment (March 31st) is applied first; a bank file's line dated March 30th is applied after it
    # and pays the rest: the ledger's last word is paid, though its payment carries the earlier date.
    gateway = PaymentApplied(payment_id=uuid.uuid4(), account_ref="E-3", amount=Decimal("200000"), currency="COP",
                             paid_at=LATE_EVENING, source="gateway", new_balance=Decimal("300000"),
                             account_status="open")
    bank_line = PaymentApplied(payment_id=uuid.uuid4(), account_ref="E-3", amount=Decimal("300000"), currency="COP",
                               paid_at=LATE_EVENING - dt.timedelta(days=1), source="bank_file",
                               new_balance=Decimal("0"), account_status="paid")
    await deliver(platform, [CLIENT, gateway], LATE_EVENING)
    await deliver(platform, [bank_line], LATE_EVENING)
    await deliver(platform, [placed("E-3", 45)], LATE_EVENING)
    after = await account(platform, "E-3")
    assert (after["status"], after["treatment"]) == ("paid", "stopped")


async def test_a_restatement_before_the_placement_takes_the_ledgers_word_and_a_late_placement_no_stale_one(
        platform: Platform) -> None:
    # The placement went to the dead letters; the client company's next file restated the account, which made its
    # row here: the ledger's word (paid) is the account's from then on, and the chargeback that reopens it after
    # is applied to it. The placement replayed later must not bring the old word back.
    payment_id = uuid.uuid4()
    await deliver(platform, [CLIENT, PaymentApplied(
        payment_id=payment_id, account_ref="E-4", amount=Decimal("500000"), currency="COP", paid_at=LATE_EVENING,
        source="gateway", new_balance=Decimal("0"), account_status="paid")], LATE_EVENING)
    await deliver(platform, [AccountUpdated(**placed("E-4", 45).model_dump(), previous_balance=Decimal("500000"))],
                  LATE_EVENING)
    assert (await account(platform, "E-4"))["status"] == "paid"
    await deliver(platform, [PaymentReversedV2(
        payment_id=payment_id, reversal_id=uuid.uuid4(), account_ref="E-4", amount=Decimal("500000"),
        kind="chargeback", reversed_at=LATE_EVENING, new_balance=Decimal("500000"), account_status="open",
        payment_amount=Decimal("500000"), reversed_total=Decimal("500000"))], LATE_EVENING)
    await deliver(platform, [placed("E-4", 45)], LATE_EVENING)
    assert (await account(platform, "E-4"))["status"] == "open"
