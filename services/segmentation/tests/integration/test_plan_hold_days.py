"""An instalment plan holds an account's days past due from the client company's day it was agreed to the day it
was kept or broken, however late segmentation handles its events (a consumer behind, a dead letter replayed):
against a real PostgreSQL."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from recaudo_common.events import AccountUpdated, ArrangementBroken, ArrangementMade, Instalment
from recaudo_common.runtime import Platform
from segmentation.handlers import run_aging

from .test_aging import CLIENT, LATE_EVENING, account, deliver, last_said, placed

pytestmark = pytest.mark.integration


def plan_for(ref: str, made_at: dt.datetime) -> ArrangementMade:
    return ArrangementMade(arrangement_id=uuid.uuid4(), account_ref=ref, kind="instalment_plan",
                           total_amount=Decimal(500000), instalments=[
                               Instalment(due_date=dt.date(2026, 4, 30), amount=Decimal(500000))],
                           made_at=made_at, source="operator")


async def test_a_plan_handled_late_holds_the_days_from_the_day_it_was_agreed(platform: Platform) -> None:
    await deliver(platform, [CLIENT, placed("L-1", 25)], LATE_EVENING)  # 25 days past due on March 31st
    plan = plan_for("L-1", LATE_EVENING)  # agreed the evening of March 31st in Bogotá
    handled = dt.datetime(2026, 4, 3, 15, 0, tzinfo=dt.UTC)  # segmentation was three days behind
    await deliver(platform, [plan], handled)
    assert await last_said(platform, "L-1") == (25, "2026-04-03", True)
    assert await run_aging(platform.db, client="banco", day=dt.date(2026, 4, 30), now=handled) == 0
    # Broken on May 11th (Bogotá), handled two days later: aging resumed on the 11th, 27 days on the 13th.
    broken_at = dt.datetime(2026, 5, 11, 15, 0, tzinfo=dt.UTC)
    late = dt.datetime(2026, 5, 13, 15, 0, tzinfo=dt.UTC)
    await deliver(platform, [ArrangementBroken(arrangement_id=plan.arrangement_id, account_ref="L-1",
                                               broken_at=broken_at, missed_instalments=1)], late)
    assert await last_said(platform, "L-1") == (27, "2026-05-13", False)
    assert await run_aging(platform.db, client="banco", day=dt.date(2026, 5, 16), now=late) == 0  # 30 days
    assert await run_aging(platform.db, client="banco", day=dt.date(2026, 5, 17), now=late) == 1  # 31 days
    assert (await account(platform, "L-1"))["history"][-1] == ("aging", 31, "31-60")


async def test_a_plan_never_holds_from_before_the_days_the_client_stated(platform: Platform) -> None:
    await deliver(platform, [CLIENT, placed("L-2", 25)], LATE_EVENING)
    # The client's next file states 40 days as of April 10th; the plan agreed on March 31st is handled after it.
    restated_at = dt.datetime(2026, 4, 10, 15, 0, tzinfo=dt.UTC)
    await deliver(platform, [AccountUpdated(**{**placed("L-2", 40).model_dump(), "as_of": dt.date(2026, 4, 10)},
                                            previous_balance=Decimal(500000))], restated_at)
    await deliver(platform, [plan_for("L-2", LATE_EVENING)], restated_at)
    assert await last_said(platform, "L-2") == (40, "2026-04-10", True)  # as stated, not 30
