"""The collection hold (outreach/holds.py) as the compliance check answers it: what an agent or a dialer asks before
contacting says what the scheduler and the agent desk decide (not allowed, the hold's reason, and when it ends)."""

import datetime as dt
import uuid
import zoneinfo
from decimal import Decimal
from typing import Any

import pytest

from recaudo_common.events import ArrangementMade, Instalment, PromiseBroken, PromiseMade

from .conftest import Outreach, segmented

pytestmark = pytest.mark.integration

BOGOTA = zoneinfo.ZoneInfo("America/Bogota")
WEDNESDAY_10 = dt.datetime(2026, 3, 4, 10, 0, tzinfo=BOGOTA)


def promise(ref: str, due: dt.date, made_at: dt.datetime) -> PromiseMade:
    return PromiseMade(promise_id=uuid.uuid4(), account_ref=ref, amount=Decimal("300000"), due_date=due,
                       source="agent", made_at=made_at)


async def check(o: Outreach, ref: str, channel: str, at: dt.datetime) -> dict[str, Any]:
    answer = await o.http.post("/v1/compliance/check", headers=o.auth, json={
        "client": "banco", "account_ref": ref, "channel": channel, "at": at.isoformat()})
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def test_the_compliance_check_says_an_account_under_a_hold_may_not_be_contacted_and_until_when(
        outreach: Outreach) -> None:
    o = outreach
    o.clock.now = WEDNESDAY_10
    made = promise("Q-1", dt.date(2026, 3, 5), WEDNESDAY_10)  # due Thursday: held to Saturday 00:00
    await o.deliver(await o.placed("Q-1", channels=("sms", "email", "agent")), await o.placed("Q-2"),
                    segmented("Q-1"), made)
    for channel in ("sms", "agent"):
        held = await check(o, "Q-1", channel, WEDNESDAY_10)
        assert (held["allowed"], held["reasons"][0]) == (False, "promise_pending"), held
        # The first instant the law allows once the grace day has passed: Saturday 08:00 in Bogotá.
        assert dt.datetime.fromisoformat(held["next_allowed_at"]) == dt.datetime(2026, 3, 7, 8, tzinfo=BOGOTA)
    # The debtor's other account is not held; a contact asked for after the hold's end is the law's alone.
    assert (await check(o, "Q-2", "sms", WEDNESDAY_10))["allowed"] is True
    assert (await check(o, "Q-1", "sms", dt.datetime(2026, 3, 9, 10, tzinfo=BOGOTA)))["allowed"] is True
    # The promise broken, the account may be contacted again at once.
    await o.deliver(PromiseBroken(promise_id=made.promise_id, account_ref="Q-1", broken_at=WEDNESDAY_10,
                                  paid_amount=Decimal(0)))
    assert (await check(o, "Q-1", "sms", WEDNESDAY_10))["allowed"] is True
    # An instalment plan standing: held until the verdict on its next instalment may have come.
    await o.deliver(ArrangementMade(
        arrangement_id=uuid.uuid4(), account_ref="Q-1", kind="instalment_plan", total_amount=Decimal("600000"),
        instalments=[Instalment(due_date=dt.date(2026, 3, 20), amount=Decimal("300000")),
                     Instalment(due_date=dt.date(2026, 4, 20), amount=Decimal("300000"))],
        made_at=WEDNESDAY_10, source="operator"))
    plan = await check(o, "Q-1", "email", WEDNESDAY_10)
    assert (plan["allowed"], plan["reasons"][0]) == (False, "arrangement_standing"), plan
    assert plan["next_allowed_at"] is not None
