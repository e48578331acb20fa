"""Planning's audit trail on a real PostgreSQL: each attempt a batch schedules has its `scheduled` entry, written by
the statement that schedules it (#24), exactly as the entries built in Python were (the treatment, the sequence,
scheduled_at as Python's isoformat in UTC, the why), after the batch's other entries; and an attempt its plan
already has is neither scheduled nor entered again."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from outreach.planning import schedule

from .conftest import Outreach, segmented

pytestmark = pytest.mark.integration


async def test_a_batch_enters_each_attempt_it_schedules_after_its_other_entries(outreach: Outreach) -> None:
    # A moment with microseconds: the first touch is now, and its isoformat shows them.
    outreach.clock.now += dt.timedelta(microseconds=123_457)
    await outreach.deliver(await outreach.placed("T-1", channels=("sms", "whatsapp")),
                           await outreach.placed("T-2", phones=(), email=None), together=True)
    await outreach.deliver(segmented("T-1", ("sms", "whatsapp")), segmented("T-2", ("sms",)), together=True)
    attempts = await outreach.sql("SELECT id, channel, sequence, scheduled_at FROM outreach.attempts "
                                  "WHERE account_ref = 'T-1' ORDER BY sequence")
    assert [(a.channel, a.sequence) for a in attempts] == [("sms", 1), ("whatsapp", 2), ("sms", 3), ("whatsapp", 4)]
    assert attempts[0].scheduled_at == outreach.clock.now
    trail = await outreach.sql("SELECT account_ref, at, kind, attempt_id, channel, detail FROM outreach.trail "
                               "WHERE kind IN ('scheduled', 'not_planned') ORDER BY id")
    assert [tuple(row) for row in trail] == [
        ("T-2", outreach.clock.now, "not_planned", None, None,
         {"treatment": "digital", "reason": "no contact data on file"}),
        *[("T-1", outreach.clock.now, "scheduled", a.id, a.channel,
           {"treatment": "digital", "sequence": a.sequence, "scheduled_at": a.scheduled_at.isoformat()})
          for a in attempts]]
    assert trail[1].detail["scheduled_at"] == "2026-03-04T15:00:00.123457+00:00"


async def test_an_attempt_its_plan_has_is_neither_scheduled_nor_entered_again(outreach: Outreach) -> None:
    await outreach.deliver(await outreach.placed("T-3"))
    plan = uuid.uuid4()
    at = dt.datetime(2026, 3, 5, 12, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))  # 17:30 UTC, in Bogotá
    first = [schedule.Planned("banco", "T-3", plan, 1, "sms", at, why="best_time: jueves 12h", treatment="digital")]
    again = [*first, schedule.Planned("banco", "T-3", plan, 2, "email", at + dt.timedelta(days=3),
                                      treatment="digital")]
    for batch in (first, again):
        async with outreach.platform.db.transaction() as s:
            await schedule.schedule_attempts_many(s, batch, outreach.clock.now)
    assert await outreach.sql("SELECT channel, sequence, best_time_arm FROM outreach.attempts WHERE plan_id = :p "
                              "ORDER BY sequence", p=plan) == [("sms", 1, None), ("email", 2, None)]
    assert [r.detail for r in await outreach.sql(
        "SELECT detail FROM outreach.trail WHERE account_ref = 'T-3' AND kind = 'scheduled' ORDER BY id")] == [
        {"treatment": "digital", "sequence": 1, "scheduled_at": "2026-03-05T17:30:00+00:00",
         "why": "best_time: jueves 12h"},
        {"treatment": "digital", "sequence": 2, "scheduled_at": "2026-03-08T17:30:00+00:00"}]
