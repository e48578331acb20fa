"""An instalment plan agreed on payments before segmentation placed its account (payments reads the account topic in
its own group; segmentation was behind), against a real PostgreSQL: the placement holds the days past due from the
day the plan was agreed, and a plan that ended before the placement moves them as if it had been seen."""

import datetime as dt

import pytest
from sqlalchemy import text

from recaudo_common.events import ArrangementBroken, ArrangementKept
from recaudo_common.runtime import Platform
from segmentation import handlers
from segmentation.handlers import run_aging

from .test_aging import CLIENT, LATE_EVENING, deliver, last_said, placed
from .test_placement_and_payment_at_once import first_then_second
from .test_plan_hold_days import plan_for

pytestmark = pytest.mark.integration


async def test_a_plan_made_before_the_placement_holds_the_days_from_the_day_it_was_agreed(
        platform: Platform) -> None:
    plan = plan_for("P-1", LATE_EVENING)  # agreed the evening of March 31st in Bogotá, right after the upload
    await deliver(platform, [CLIENT, plan], LATE_EVENING)
    handled = dt.datetime(2026, 4, 3, 15, 0, tzinfo=dt.UTC)  # the placement reaches segmentation three days later
    await deliver(platform, [placed("P-1", 25)], handled)  # 25 days past due on March 31st
    assert await last_said(platform, "P-1") == (25, "2026-04-03", True)
    assert await run_aging(platform.db, client="banco", day=dt.date(2026, 4, 30), now=handled) == 0  # still 25
    # The plan is broken on May 11th: aging resumes from the days it held.
    broken_at = dt.datetime(2026, 5, 11, 15, 0, tzinfo=dt.UTC)
    await deliver(platform, [ArrangementBroken(arrangement_id=plan.arrangement_id, account_ref="P-1",
                                               broken_at=broken_at, missed_instalments=1)], broken_at)
    assert await last_said(platform, "P-1") == (25, "2026-05-11", False)
    assert await run_aging(platform.db, client="banco", day=dt.date(2026, 5, 16), now=broken_at) == 0  # 30 days
    assert await run_aging(platform.db, client="banco", day=dt.date(2026, 5, 17), now=broken_at) == 1  # 31 days


@pytest.mark.parametrize("ended", ["broken", "kept"])
async def test_a_plan_that_ended_before_the_placement_held_the_days_while_it_lasted(platform: Platform,
                                                                                    ended: str) -> None:
    plan = plan_for("P-2", LATE_EVENING)
    end_at = dt.datetime(2026, 5, 11, 15, 0, tzinfo=dt.UTC)  # May 11th in Bogotá: 41 days held
    end = ArrangementBroken(arrangement_id=plan.arrangement_id, account_ref="P-2", broken_at=end_at,
                            missed_instalments=1) if ended == "broken" else \
        ArrangementKept(arrangement_id=plan.arrangement_id, account_ref="P-2", kept_at=end_at)
    await deliver(platform, [CLIENT, plan], LATE_EVENING)
    await deliver(platform, [end], end_at)
    handled = dt.datetime(2026, 5, 13, 15, 0, tzinfo=dt.UTC)
    await deliver(platform, [placed("P-2", 25)], handled)
    assert await last_said(platform, "P-2") == (27, "2026-05-13", False)  # 25 + the two days since it ended
    assert await run_aging(platform.db, client="banco", day=dt.date(2026, 5, 16), now=handled) == 0  # 30 days
    assert await run_aging(platform.db, client="banco", day=dt.date(2026, 5, 17), now=handled) == 1  # 31 days


async def test_a_plan_made_before_the_placement_and_placed_in_one_batch_with_other_accounts(
        platform: Platform) -> None:
    # The placement's batch holds accounts with and without a plan kept for them: only the plan's account is held.
    await deliver(platform, [CLIENT, plan_for("P-3", LATE_EVENING)], LATE_EVENING)
    handled = dt.datetime(2026, 4, 3, 15, 0, tzinfo=dt.UTC)
    await deliver(platform, [placed("P-3", 25), placed("P-4", 25)], handled, together=True)
    assert await last_said(platform, "P-3") == (25, "2026-04-03", True)
    assert await last_said(platform, "P-4") == (28, "2026-04-03", False)


@pytest.mark.parametrize("plan_first", [True, False], ids=["plan-holds", "placement-holds"])
async def test_a_plan_and_the_placement_handled_at_once_hold_the_days(platform: Platform, plan_first: bool) -> None:
    # Two workers, each holding its transaction open after its handler ran while the other runs: whichever commits
    # second sees the other (account_locks), so the plan's hold is neither lost nor left waiting for nobody.
    await deliver(platform, [CLIENT], LATE_EVENING)
    plan, placement = plan_for("P-5", LATE_EVENING), placed("P-5", 25)
    first, second = (plan, placement) if plan_first else (placement, plan)
    await first_then_second(platform, first, second,
                            handlers.on_arrangement if plan_first else handlers.on_account_stated)
    assert await run_aging(platform.db, client="banco", day=dt.date(2026, 4, 30), now=LATE_EVENING) == 0  # held
    async with platform.db.transaction() as s:
        assert await s.scalar(text("SELECT count(*) FROM segmentation.plan_words")) == 0  # none left over
