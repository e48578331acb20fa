"""A debtor who pays is left in peace (#20): segmentation re-decides an account on every payment, and the plan it
replaces must not message the debtor a second after paying, whichever of the payment and the decision reaches
outreach first; a new plan also keeps the rhythm of the messages already sent. Payments that arrive together are
applied together (planning.handlers.on_payments), each account as if its payment had come alone."""

import datetime as dt
import itertools
import math
import uuid
from decimal import Decimal

import pytest

from recaudo_common.events import AccountRecalled, PaymentApplied

from .conftest import Outreach, segmented

pytestmark = pytest.mark.integration

DAY = dt.timedelta(days=1)


def partial_payment(ref: str, at: dt.datetime) -> PaymentApplied:
    return PaymentApplied(payment_id=uuid.uuid4(), account_ref=ref, amount=100000, currency="COP",  # type: ignore[arg-type]
                          paid_at=at, source="gateway", new_balance=1400000,  # type: ignore[arg-type]
                          account_status="open")


async def first_due(outreach: Outreach, ref: str) -> dt.datetime:
    [(at,)] = await outreach.sql("SELECT min(scheduled_at) FROM outreach.attempts WHERE account_ref = :r "
                                 "AND status = 'scheduled'", r=ref)
    assert isinstance(at, dt.datetime)
    return at


async def test_the_decision_a_payment_causes_does_not_message_the_debtor_who_just_paid(outreach: Outreach) -> None:
    await outreach.deliver(await outreach.placed("A-1"), segmented("A-1", cadence_days=3))
    assert await outreach.tick() == 1  # the first message, with its payment link
    paid_at = outreach.clock.now
    # Segmentation's decision after the payment arrives before the payment itself.
    await outreach.deliver(segmented("A-1", cadence_days=3).model_copy(update={"trigger": "payment"}))
    assert await first_due(outreach, "A-1") >= paid_at + 3 * DAY
    await outreach.deliver(partial_payment("A-1", paid_at))
    outreach.clock.now = paid_at + 2 * DAY
    assert await outreach.tick() == 0  # still in peace two days later
    [(n,)] = await outreach.sql("SELECT count(*) FROM outreach.sandbox_messages")
    assert n == 1
    # The cadence goes on after it: the plan (the same treatment, kept) moved by whole days, keeping its hour, so
    # its next touch is one spacing after the payment or, the decision a moment after it, a day more.
    due = await first_due(outreach, "A-1")
    assert paid_at + 3 * DAY <= due <= paid_at + 4 * DAY
    outreach.clock.now = due + dt.timedelta(minutes=1)
    assert await outreach.tick() == 1


async def test_a_payment_defers_what_was_already_planned_keeping_its_spacing(outreach: Outreach) -> None:
    await outreach.deliver(await outreach.placed("B-1"), segmented("B-1", ("sms", "email"), cadence_days=3))
    before = [r[0] for r in await outreach.sql("SELECT scheduled_at FROM outreach.attempts WHERE account_ref = 'B-1' "
                                               "ORDER BY sequence")]
    paid_at = outreach.clock.now
    await outreach.deliver(partial_payment("B-1", paid_at))
    after = [r[0] for r in await outreach.sql("SELECT scheduled_at FROM outreach.attempts WHERE account_ref = 'B-1' "
                                              "ORDER BY sequence")]
    assert after[0] == paid_at + 3 * DAY
    assert [b - a for a, b in itertools.pairwise(after)] == [
        b - a for a, b in itertools.pairwise(before)]
    history = (await outreach.http.get("/v1/clients/banco/accounts/B-1/contacts", headers=outreach.auth)).json()
    moved = [t for t in history["trail"] if t["kind"] == "rescheduled"]
    assert len(moved) == 4 and {t["detail"]["reason"] for t in moved} == {"payment received"}
    assert await outreach.tick() == 0


async def test_a_payment_long_ago_or_a_full_one_changes_nothing_here(outreach: Outreach) -> None:
    await outreach.deliver(await outreach.placed("C-1"), segmented("C-1", cadence_days=3))
    planned = await first_due(outreach, "C-1")
    await outreach.deliver(partial_payment("C-1", outreach.clock.now - 10 * DAY))  # a bank file's late line
    assert await first_due(outreach, "C-1") == planned
    assert await outreach.tick() == 1


async def test_a_new_treatment_keeps_the_rhythm_of_the_messages_already_sent(outreach: Outreach) -> None:
    await outreach.deliver(await outreach.placed("D-1"), segmented("D-1", cadence_days=2))
    assert await outreach.tick() == 1
    sent_at = outreach.clock.now
    outreach.clock.now = sent_at + dt.timedelta(hours=1)
    # The account ages into the next bucket: a new treatment replaces the plan, but not with a message today.
    await outreach.deliver(segmented("D-1", ("sms", "email"), cadence_days=5).model_copy(update={"trigger": "aging"}))
    assert await first_due(outreach, "D-1") >= sent_at + 5 * DAY
    assert await outreach.tick() == 0


async def test_deferred_attempts_keep_the_hour_they_were_put_at(outreach: Outreach) -> None:
    """Best time chose each attempt's hour: deferring moves whole days, never to the hour of the payment."""
    await outreach.deliver(await outreach.placed("E-1"), segmented("E-1", ("sms", "email"), cadence_days=3))
    before = [r[0] for r in await outreach.sql("SELECT scheduled_at FROM outreach.attempts WHERE account_ref = 'E-1' "
                                               "ORDER BY sequence")]
    paid_at = outreach.clock.now + dt.timedelta(hours=5, minutes=17)
    await outreach.deliver(partial_payment("E-1", paid_at))
    after = [r[0] for r in await outreach.sql("SELECT scheduled_at FROM outreach.attempts WHERE account_ref = 'E-1' "
                                              "ORDER BY sequence")]
    assert after[0] >= paid_at + 3 * DAY
    assert {b - a for a, b in zip(before, after, strict=True)} == {4 * DAY}  # whole days: the hour kept


def payment(ref: str, at: dt.datetime, new_balance: str, status: str = "open") -> PaymentApplied:
    return PaymentApplied(payment_id=uuid.uuid4(), account_ref=ref, amount=Decimal("100000"), currency="COP",
                          paid_at=at, source="gateway", new_balance=Decimal(new_balance), account_status=status)


async def test_a_run_of_payments_is_applied_as_each_would_be_alone(outreach: Outreach) -> None:
    paid_at = outreach.clock.now
    for ref, cadence in (("F-1", 3), ("F-3", 3), ("F-4", 3)):
        await outreach.deliver(await outreach.placed(ref), segmented(ref, ("sms", "email"), cadence_days=cadence))
    await outreach.deliver(AccountRecalled(account_ref="F-4", recalled_at=paid_at))
    # F-2 is planned a day later: its attempts to come move by its own first one, not by another account's.
    outreach.clock.now = paid_at + DAY
    await outreach.deliver(await outreach.placed("F-2"), segmented("F-2", ("sms", "email"), cadence_days=5))
    f2_before = await first_due(outreach, "F-2")
    assert f2_before > paid_at
    await outreach.deliver(payment("F-1", paid_at, "1400000"), payment("F-2", paid_at, "900000"),
                           payment("F-3", paid_at, "0", "paid"), payment("F-4", paid_at, "500000"),
                           payment("F-9", paid_at, "700000"), together=True)

    due = dict(await outreach.sql(
        "SELECT account_ref, min(scheduled_at) FROM outreach.attempts WHERE status = 'scheduled' "
        "GROUP BY account_ref"))
    assert due["F-1"] == paid_at + 3 * DAY  # each its own cadence, in whole days from its own first attempt
    assert due["F-2"] == f2_before + math.ceil((paid_at + 5 * DAY - f2_before) / DAY) * DAY
    assert "F-3" not in due and "F-4" not in due
    statuses = {r[0]: (r[1], r[2]) for r in await outreach.sql(
        "SELECT account_ref, status, balance FROM outreach.account_status")}
    assert statuses == {"F-1": ("open", Decimal("1400000")), "F-2": ("open", Decimal("900000")),
                        "F-3": ("paid", Decimal("0")), "F-4": ("recalled", Decimal("500000")),
                        "F-9": ("open", Decimal("700000"))}  # F-9's placement may come after its payment
    remembered = {r[0] for r in await outreach.sql("SELECT account_ref FROM outreach.last_payments")}
    assert remembered == {"F-1", "F-2", "F-9"}  # open after the payment: their next decision waits a spacing
    trail = await outreach.sql("SELECT account_ref, kind, detail->>'reason' FROM outreach.trail "
                               "WHERE kind IN ('rescheduled', 'cancelled') ORDER BY account_ref")
    assert {tuple(t) for t in trail} == {("F-1", "rescheduled", "payment received"),
                                         ("F-2", "rescheduled", "payment received"),
                                         ("F-3", "cancelled", "account paid"), ("F-4", "cancelled", "account recalled")}
    assert sum(1 for t in trail if t[0] == "F-1") == 4  # each of its attempts to come moved, with the trail's word
