"""No collection message and no agent call for an account while its debtor's promise to pay on it is pending or an
arrangement stands on it (outreach/holds.py, domain/collection_holds.py): the attempt due is held, its decision says
why, and it goes once the promise is broken, or its due date plus the grace day has passed without a verdict, or the
arrangement is broken. The debtor's other accounts are worked as before; verdicts that come before their promise or
arrangement, or again, leave no hold."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from recaudo_common.events import (
    ArrangementBroken,
    ArrangementMade,
    CheckoutUpdated,
    Instalment,
    PromiseBroken,
    PromiseKept,
    PromiseMade,
)

from .conftest import Outreach, segmented

pytestmark = pytest.mark.integration

BOGOTA = dt.timezone(dt.timedelta(hours=-5))


def at_bogota(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=BOGOTA).astimezone(dt.UTC)


def promise(ref: str, due: dt.date, made_at: dt.datetime, promise_id: uuid.UUID | None = None) -> PromiseMade:
    return PromiseMade(promise_id=promise_id or uuid.uuid4(), account_ref=ref, amount=Decimal("300000"),
                       due_date=due, source="agent", made_at=made_at)


async def sent(o: Outreach, ref: str) -> int:
    [(n,)] = await o.sql("SELECT count(*) FROM outreach.sandbox_messages m JOIN outreach.attempts a "
                         "ON a.id = m.attempt_id WHERE a.account_ref = :r", r=ref)
    return int(n)


async def first_due(o: Outreach, ref: str) -> dt.datetime:
    [(at,)] = await o.sql("SELECT min(scheduled_at) FROM outreach.attempts WHERE account_ref = :r "
                          "AND status = 'scheduled'", r=ref)
    assert isinstance(at, dt.datetime)
    return at


async def last_decision(o: Outreach, ref: str) -> tuple[list[str], dt.datetime | None, dt.datetime]:
    """The reasons and next allowed instant of the account's latest decision, and where its attempt waits now."""
    [(reasons, next_at, scheduled_at)] = await o.sql(
        "SELECT d.reasons, d.next_allowed_at, a.scheduled_at FROM outreach.decisions d "
        "JOIN outreach.attempts a ON a.id = d.attempt_id WHERE a.account_ref = :r ORDER BY d.id DESC LIMIT 1", r=ref)
    return list(reasons), next_at, scheduled_at


async def test_a_pending_promise_holds_its_account_not_the_debtors_other_and_ends_when_broken(
        outreach: Outreach) -> None:
    o = outreach
    today = o.clock.now.date()  # Wednesday 2026-03-04, 10:00 in Bogotá
    made = promise("H-1", today + dt.timedelta(days=1), o.clock.now)  # due Thursday: held to Saturday 00:00
    await o.deliver(await o.placed("H-1"), await o.placed("H-2"), made, segmented("H-1"), segmented("H-2"))
    await o.tick()
    # The other account of the same debtor gets the day's one contact; the promised one is held.
    assert (await sent(o, "H-1"), await sent(o, "H-2")) == (0, 1)
    assert (await o.attempts("H-1"))[0] == ("sms", "scheduled")
    reasons, next_at, scheduled_at = await last_decision(o, "H-1")
    assert reasons[0] == "promise_pending"
    # The first instant the law allows after the grace day: Saturday 08:00 in Bogotá (Saturdays open at 08:00);
    # the plan waits for it by whole days, its hour and spacing kept.
    assert next_at == at_bogota(dt.date(2026, 3, 7), 8)
    assert next_at <= scheduled_at < next_at + dt.timedelta(days=1)
    assert (scheduled_at - o.clock.now) % dt.timedelta(days=1) == dt.timedelta(0)
    [(detail,)] = await o.sql("SELECT detail FROM outreach.trail WHERE account_ref = 'H-1' AND kind = 'decision'")
    assert detail["allowed"] is False and detail["reasons"][0] == "promise_pending"
    blocked = await o.sql("SELECT envelope->'payload'->'reasons' FROM outreach.outbox "
                          "WHERE envelope->>'type' = 'contact.blocked'")
    assert [r[0][0] for r in blocked] == ["promise_pending"]

    # Friday: still held (nothing due yet); Saturday 09:00 the evaluator broke it, and the message goes.
    o.clock.now = at_bogota(dt.date(2026, 3, 6), 10)
    await o.tick()
    assert await sent(o, "H-1") == 0
    o.clock.now = at_bogota(dt.date(2026, 3, 7), 8)
    await o.deliver(PromiseBroken(promise_id=made.promise_id, account_ref="H-1", broken_at=o.clock.now,
                                  paid_amount=Decimal("0")))
    o.clock.now = await first_due(o, "H-1")
    await o.tick()
    assert await sent(o, "H-1") == 1


async def test_a_hold_ends_by_itself_at_the_grace_days_end_and_a_promise_far_out_by_the_window(
        outreach: Outreach) -> None:
    o = outreach
    today = o.clock.now.date()
    # No verdict will ever come for either; the second is due past the client company's 30-day promise window.
    await o.deliver(await o.placed("N-1", debtor="11"), await o.placed("N-2", debtor="22"),
                    promise("N-1", today + dt.timedelta(days=1), o.clock.now),
                    promise("N-2", today + dt.timedelta(days=90), o.clock.now),
                    segmented("N-1"), segmented("N-2"))
    await o.tick()
    assert (await sent(o, "N-1"), await sent(o, "N-2")) == (0, 0)
    assert (await last_decision(o, "N-1"))[1] == at_bogota(dt.date(2026, 3, 7), 8)
    # Held no further than the window's last day (April 3) plus the grace day: Sunday April 5, so Monday 07:00.
    assert (await last_decision(o, "N-2"))[1] == at_bogota(dt.date(2026, 4, 6), 7)
    o.clock.now = await first_due(o, "N-1")
    await o.tick()
    assert (await sent(o, "N-1"), await sent(o, "N-2")) == (1, 0)
    o.clock.now = await first_due(o, "N-2")
    assert o.clock.now >= at_bogota(dt.date(2026, 4, 6), 7)
    await o.tick()
    assert await sent(o, "N-2") == 1


async def test_a_standing_instalment_plan_holds_messages_and_agent_calls_until_it_is_broken(
        outreach: Outreach) -> None:
    o = outreach
    plan = ArrangementMade(
        arrangement_id=uuid.uuid4(), account_ref="P-1", kind="instalment_plan", total_amount=Decimal("1500000"),
        instalments=[Instalment(due_date=dt.date(2026, 3, 11), amount=Decimal("500000")),
                     Instalment(due_date=dt.date(2026, 4, 11), amount=Decimal("500000")),
                     Instalment(due_date=dt.date(2026, 5, 11), amount=Decimal("500000"))],
        made_at=o.clock.now, source="operator")
    call = plan.model_copy(update={"arrangement_id": uuid.uuid4(), "account_ref": "P-2"})
    await o.deliver(await o.placed("P-1", debtor="33"), plan, segmented("P-1"),
                    await o.placed("P-2", debtor="44", channels=("agent",)), call, segmented("P-2", ("agent",)))
    await o.tick()
    assert await sent(o, "P-1") == 0
    reasons, next_at, _ = await last_decision(o, "P-1")
    # Looked at again once its next instalment could have been missed: the grace day after March 11, and the wait
    # for payments' verdict (Friday March 13, 06:00; the law opens at 07:00).
    assert reasons[0] == "arrangement_standing" and next_at == at_bogota(dt.date(2026, 3, 13), 7)
    taken = await o.http.get("/v1/agent/next?client=banco", headers=o.auth)
    assert taken.status_code == 200 and taken.json()["item"] is None
    assert (await last_decision(o, "P-2"))[0][0] == "arrangement_standing"

    # One instalment missed: the plan stands, the message is held again (to after the next instalment).
    o.clock.now = await first_due(o, "P-1")
    assert o.clock.now >= at_bogota(dt.date(2026, 3, 13), 7)
    await o.tick()
    assert await sent(o, "P-1") == 0
    assert (await last_decision(o, "P-1"))[1] == at_bogota(dt.date(2026, 4, 13), 7)
    # The second missed: payments' evaluator breaks the plan after the message was looked at again.
    o.clock.now = await first_due(o, "P-1")
    assert o.clock.now >= at_bogota(dt.date(2026, 4, 13), 7)
    await o.tick()
    assert await sent(o, "P-1") == 0
    assert await first_due(o, "P-1") >= at_bogota(dt.date(2026, 5, 13), 7)
    o.clock.now += dt.timedelta(hours=1)
    await o.deliver(ArrangementBroken(arrangement_id=plan.arrangement_id, account_ref="P-1", broken_at=o.clock.now,
                                      missed_instalments=2),
                    ArrangementBroken(arrangement_id=call.arrangement_id, account_ref="P-2", broken_at=o.clock.now,
                                      missed_instalments=2))
    released = await o.sql("SELECT DISTINCT detail->>'reason' FROM outreach.trail WHERE account_ref = 'P-1' "
                           "AND kind = 'rescheduled' AND detail->>'reason' LIKE 'hold ended%'")
    assert released == [("hold ended: arrangement_standing",)]
    due = await first_due(o, "P-1")
    assert o.clock.now <= due < o.clock.now + dt.timedelta(days=1)  # within a day, not a month later
    o.clock.now = due
    await o.tick()
    assert await sent(o, "P-1") == 1
    taken = await o.http.get("/v1/agent/next?client=banco", headers=o.auth)
    assert taken.status_code == 200 and taken.json()["item"]["account_ref"] == "P-2"


async def test_a_verdict_before_its_promise_or_plan_or_again_leaves_no_hold(outreach: Outreach) -> None:
    o = outreach
    today = o.clock.now.date()
    kept, broken = promise("V-1", today + dt.timedelta(days=2), o.clock.now), promise(
        "V-2", today + dt.timedelta(days=2), o.clock.now)
    plan = ArrangementMade(arrangement_id=uuid.uuid4(), account_ref="V-3", kind="settlement",
                           total_amount=Decimal("900000"),
                           instalments=[Instalment(due_date=today + dt.timedelta(days=10), amount=Decimal("900000"))],
                           made_at=o.clock.now, source="debtor_page")
    later = o.clock.now + dt.timedelta(minutes=1)
    await o.deliver(await o.placed("V-1", debtor="55"), await o.placed("V-2", debtor="66"),
                    await o.placed("V-3", debtor="77"),
                    PromiseKept(promise_id=kept.promise_id, account_ref="V-1", kept_at=later),
                    PromiseBroken(promise_id=broken.promise_id, account_ref="V-2", broken_at=later,
                                  paid_amount=Decimal("0")),
                    ArrangementBroken(arrangement_id=plan.arrangement_id, account_ref="V-3", broken_at=later,
                                      missed_instalments=1))
    await o.deliver(kept, broken, plan, kept, broken, plan)  # then their promises and plan, twice
    await o.deliver(segmented("V-1"), segmented("V-2"), segmented("V-3"))
    await o.tick()
    assert [await sent(o, ref) for ref in ("V-1", "V-2", "V-3")] == [1, 1, 1]


async def test_a_payments_confirmation_still_goes_while_the_promise_holds_the_collection(outreach: Outreach) -> None:
    o = outreach
    await o.deliver(await o.placed("R-1"), promise("R-1", o.clock.now.date() + dt.timedelta(days=5), o.clock.now),
                    segmented("R-1"))
    # The debtor pays part of it online: the receipt is no collection message.
    await o.deliver(CheckoutUpdated(reference="RC-HOLD-1", account_ref="R-1", gateway="wompi", method="online",
                                    status="approved", amount=Decimal("100000"), currency="COP",
                                    changed_at=o.clock.now))
    await o.tick()
    went = await o.sql("SELECT a.confirmation->>'kind' FROM outreach.sandbox_messages m JOIN outreach.attempts a "
                       "ON a.id = m.attempt_id WHERE a.account_ref = 'R-1'")
    assert went == [("approved",)]  # and no collection message beside it
