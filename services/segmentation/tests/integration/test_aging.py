"""Daily aging against a real PostgreSQL: across a bucket edge, across midnight in the client company's time
zone, idempotent re-runs, client bucket sets, and re-segmentation on payment."""

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from recaudo_common.bus.base import Message
from recaudo_common.bus.consumer import ConsumerRuntime
from recaudo_common.events import AccountPlaced, ClientRegistered, Event, PaymentApplied
from recaudo_common.runtime import Platform
from recaudo_common.testing_consumers import applied_together
from segmentation.consumers import SUBSCRIPTIONS
from segmentation.handlers import age_due_clients, run_aging

pytestmark = pytest.mark.integration
# 2026-03-31 23:30 in Bogotá (UTC-5) is 2026-04-01 04:30 UTC: the client's day is still the 31st.
LATE_EVENING = dt.datetime(2026, 4, 1, 4, 30, tzinfo=dt.UTC)


async def deliver(p: Platform, events: list[Event], now: dt.datetime, *, together: bool = False) -> list[Message]:
    """The events as one fetched batch of the consumer; `together`: applied in one transaction, as the consumer's
    fast path does, not by its fallback of one event at a time (which would hide a batch handler's failure)."""
    runtime = ConsumerRuntime(p.db, p.transport, SUBSCRIPTIONS, "t", lambda: now)
    messages = [Message(f"t.{e.family}", e.key("banco"), e.envelope(client="banco", occurred_at=now), {})
                for e in events]
    if together:
        await applied_together(runtime, messages)
    else:
        assert set(await runtime.handle_batch(messages)) == {"processed"}
    return messages


async def account(p: Platform, ref: str) -> dict[str, object]:
    async with p.db.transaction() as s:
        row = (await s.execute(text("SELECT bucket, bucket_at_placement, status, treatment FROM segmentation.accounts "
                                    "WHERE account_ref = :r"), {"r": ref})).mappings().one()
        history = (await s.execute(text("SELECT trigger, days_past_due, bucket FROM segmentation.assignments "
                                        "WHERE account_ref = :r ORDER BY id"), {"r": ref})).all()
    return {**row, "history": [tuple(h) for h in history]}


async def last_said(p: Platform, ref: str) -> tuple[Any, ...]:
    """What the account's latest account.segmented said of its days past due: the days, their day, held or not."""
    async with p.db.transaction() as s:
        return tuple((await s.execute(text(
            "SELECT (envelope->'payload'->>'days_past_due')::int, envelope->'payload'->>'as_of', "
            "(envelope->'payload'->>'aging_held')::boolean FROM segmentation.outbox WHERE envelope->>'type' = "
            "'account.segmented' AND envelope->'payload'->>'account_ref' = :r ORDER BY id DESC LIMIT 1"),
            {"r": ref})).one())


def placed(ref: str, dpd: int, balance: str = "500000") -> AccountPlaced:
    return AccountPlaced(account_ref=ref, portfolio_id=uuid.uuid4(), debtor_ref=None, personal=None, has_phone=True, has_email=False,
                         balance=Decimal(balance), currency="COP", days_past_due=dpd, as_of=dt.date(2026, 3, 31),
                         authorised_channels=["sms"])


CLIENT = ClientRegistered(slug="banco", name="Banco", country="CO", currency="COP", timezone="America/Bogota",
                          locale="es-CO", default_authorised_channels=["sms"])


async def test_aging_crosses_bucket_edges_by_the_clients_calendar(platform: Platform) -> None:
    await deliver(platform, [CLIENT, placed("A-30", 30), placed("A-29", 29), placed("A-0", 0)], LATE_EVENING)
    assert (await account(platform, "A-30"))["bucket"] == "1-30"
    # Late evening of the 31st in Bogotá, though already April 1st in UTC: nothing moves yet.
    assert await age_due_clients(platform.db, now=LATE_EVENING) == {"banco": 0}
    # Half an hour later it is April 1st in Bogotá: A-30 reaches 31 days, A-0 reaches 1 day.
    after_midnight = LATE_EVENING + dt.timedelta(minutes=31)
    assert await age_due_clients(platform.db, now=after_midnight) == {"banco": 2}
    a30, a29, a0 = [await account(platform, r) for r in ("A-30", "A-29", "A-0")]
    assert (a30["bucket"], a30["bucket_at_placement"]) == ("31-60", "1-30")
    assert a30["history"][-1] == ("aging", 31, "31-60")
    assert a29["bucket"] == "1-30" and len(a29["history"]) == 1
    assert a0["bucket"] == "1-30"
    # Idempotent: the day is done, and a forced re-run of the same day changes nothing.
    assert await age_due_clients(platform.db, now=after_midnight) == {}
    assert await run_aging(platform.db, client="banco", day=dt.date(2026, 4, 1), now=after_midnight) == 0
    # Days past due count from the stated date, not from the last run: a missed week never drifts.
    assert await run_aging(platform.db, client="banco", day=dt.date(2026, 4, 7), now=after_midnight) == 1
    assert (await account(platform, "A-29"))["history"][-1] == ("aging", 36, "31-60")
    assert await run_aging(platform.db, client="banco", day=dt.date(2026, 5, 1), now=after_midnight) == 2
    assert (await account(platform, "A-30"))["history"][-1] == ("aging", 61, "61-90")
    assert (await account(platform, "A-0"))["history"][-1] == ("aging", 31, "31-60")
    async with platform.db.transaction() as s:
        events = await s.scalar(text("SELECT count(*) FROM segmentation.outbox WHERE envelope->>'type' = "
                                     "'account.segmented' AND envelope->'payload'->>'trigger' = 'aging'"))
    assert events == 5
    # Each says the day its days past due are for, and that they go on growing (the next word: a bucket's edge).
    assert await last_said(platform, "A-30") == (61, "2026-05-01", False)


async def test_a_payment_resegments_and_a_paid_account_stops_aging(platform: Platform) -> None:
    await deliver(platform, [CLIENT, placed("P-1", 45)], LATE_EVENING)
    paid = PaymentApplied(payment_id=uuid.uuid4(), account_ref="P-1", amount=Decimal("500000"), currency="COP",
                          paid_at=LATE_EVENING, source="manual", new_balance=Decimal("0"), account_status="paid")
    await deliver(platform, [paid], LATE_EVENING)
    after = await account(platform, "P-1")
    assert (after["status"], after["treatment"]) == ("paid", "stopped")
    assert after["history"][-1][0] == "payment"
    assert await last_said(platform, "P-1") == (45, "2026-03-31", True)  # paid: its days stand still
    assert await run_aging(platform.db, client="banco", day=dt.date(2026, 6, 1), now=LATE_EVENING) == 0


async def test_client_bucket_sets_apply_from_the_next_aging(platform: Platform) -> None:
    await deliver(platform, [CLIENT, placed("B-1", 45)], LATE_EVENING)
    from segmentation import store
    from segmentation.domain.buckets import Bucket

    async with platform.db.transaction() as s:
        await store.put_buckets(s, "banco", [Bucket("al día", -365, 0), Bucket("temprana", 1, 60),
                                             Bucket("tardía", 61, 36500)], LATE_EVENING)
    assert await run_aging(platform.db, client="banco", day=dt.date(2026, 3, 31), now=LATE_EVENING) == 1
    assert (await account(platform, "B-1"))["bucket"] == "temprana"
    async with platform.db.transaction() as s:  # account.segmented v2 says the bucket's bounds with its label
        said = (await s.execute(text(
            "SELECT envelope->>'version', envelope->'payload'->>'bucket', envelope->'payload'->'bucket_low', "
            "envelope->'payload'->'bucket_high' FROM segmentation.outbox WHERE envelope->>'type' = "
            "'account.segmented' ORDER BY id DESC LIMIT 1"))).one()
    assert tuple(said) == ("2", "temprana", 1, 60)


async def test_promises_plans_and_legal_holds_move_the_segment(platform: Platform) -> None:
    from recaudo_common.events import (
        AccountLegalHoldLifted,
        AccountLegalHoldSet,
        ArrangementBroken,
        ArrangementMade,
        Instalment,
        PromiseMade,
    )

    await deliver(platform, [CLIENT, placed("H-1", 25)], LATE_EVENING)  # 25 days past due on March 31st
    await deliver(platform, [PromiseMade(promise_id=uuid.uuid4(), account_ref="H-1", amount=Decimal(1000),
                                         due_date=dt.date(2026, 4, 5), source="agent", made_at=LATE_EVENING)],
                  LATE_EVENING)
    assert (await account(platform, "H-1"))["history"][-1][0] == "promise_made"
    plan = ArrangementMade(arrangement_id=uuid.uuid4(), account_ref="H-1", kind="instalment_plan",
                           total_amount=Decimal(500000), instalments=[Instalment(due_date=dt.date(2026, 4, 30),
                                                                                 amount=Decimal(500000))],
                           made_at=LATE_EVENING, source="operator")
    await deliver(platform, [plan], LATE_EVENING)
    assert await last_said(platform, "H-1") == (25, "2026-03-31", True)  # the plan holds them
    # While the plan holds, a month of aging moves nothing: the account stays at 25 days.
    assert await run_aging(platform.db, client="banco", day=dt.date(2026, 4, 30), now=LATE_EVENING) == 0
    broken_at = dt.datetime(2026, 5, 11, 15, 0, tzinfo=dt.UTC)  # 41 days held
    await deliver(platform, [ArrangementBroken(arrangement_id=plan.arrangement_id, account_ref="H-1",
                                               broken_at=broken_at, missed_instalments=1)], broken_at)
    assert (await account(platform, "H-1"))["history"][-1] == ("arrangement_broken", 25, "1-30")
    assert await last_said(platform, "H-1") == (25, "2026-05-11", False)  # aging resumes from the day it broke
    assert await run_aging(platform.db, client="banco", day=dt.date(2026, 5, 17), now=broken_at) == 1  # 31 days
    assert (await account(platform, "H-1"))["history"][-1] == ("aging", 31, "31-60")

    await deliver(platform, [AccountLegalHoldSet(account_ref="H-1", hold="dispute", set_at=broken_at)], broken_at)
    held = await account(platform, "H-1")
    assert held["treatment"] == "stopped" and held["history"][-1][0] == "legal_hold_set"
    assert (await last_said(platform, "H-1"))[2] is False  # a legal hold stops contact, not aging
    await deliver(platform, [AccountLegalHoldLifted(account_ref="H-1", hold="dispute", lifted_at=broken_at)], broken_at)
    assert (await account(platform, "H-1"))["treatment"] not in ("stopped", "do_not_pursue")


async def test_a_payment_that_arrives_before_its_placement_still_counts(platform: Platform) -> None:
    paid = PaymentApplied(payment_id=uuid.uuid4(), account_ref="E-1", amount=Decimal("500000"), currency="COP",
                          paid_at=LATE_EVENING, source="manual", new_balance=Decimal("0"), account_status="paid")
    await deliver(platform, [CLIENT, paid], LATE_EVENING)  # the payment topic ran ahead of the account topic
    await deliver(platform, [placed("E-1", 45)], LATE_EVENING)
    after = await account(platform, "E-1")
    assert (after["status"], after["treatment"]) == ("paid", "stopped")


async def test_placements_segmented_together_match_one_at_a_time(platform: Platform, database_url: str) -> None:
    """The set-based placement handler leaves the state and events the one-event handler would: a payment
    that ran ahead, an account restated in the same batch, placements before the client's settings."""
    from recaudo_common.events import AccountUpdated

    paid = PaymentApplied(payment_id=uuid.uuid4(), account_ref="S-2", amount=Decimal("100000"), currency="COP",
                          paid_at=LATE_EVENING, source="manual", new_balance=Decimal("400000"), account_status="open")
    restated = AccountUpdated(**placed("S-1", 31, "250000").model_dump(), previous_balance=Decimal("500000"))
    first = [placed("W-1", 10), paid]  # W-1 waits for the client's settings, which arrive in the next batch
    second = [CLIENT, placed("S-1", 5), placed("S-2", 95), restated, placed("S-3", 400, "90")]

    async def outcome(p: Platform) -> tuple[list[Any], list[Any]]:
        async with p.db.transaction() as s:
            accounts = [tuple(r) for r in await s.execute(text(
                "SELECT account_ref, balance, status, bucket, bucket_at_placement, segment, treatment, propensity, "
                "cost_to_collect FROM segmentation.accounts ORDER BY account_ref"))]
            events = [(r[0], r[1]) for r in await s.execute(text(
                "SELECT key, envelope->'payload' FROM segmentation.outbox"
                " WHERE envelope->>'type' = 'account.segmented' ORDER BY id"))]
        return accounts, events

    await deliver(platform, first, LATE_EVENING)
    await deliver(platform, second, LATE_EVENING)
    together = await outcome(platform)
    assert [row[0] for row in together[0]] == ["S-1", "S-2", "S-3", "W-1"]
    assert together[0][1][1:3] == (Decimal("400000"), "open")  # S-2: the payment that ran ahead counts
    assert [key for key, _ in together[1]] == ["banco/W-1", "banco/S-1", "banco/S-2", "banco/S-1", "banco/S-3"]

    async with platform.db.transaction() as s:
        await s.execute(text("TRUNCATE segmentation.accounts, segmentation.assignments, segmentation.outcomes, "
                             "segmentation.clients, segmentation.outbox, segmentation.inbox"))
    runtime = ConsumerRuntime(platform.db, platform.transport, SUBSCRIPTIONS, "t", lambda: LATE_EVENING)
    for event in first + second:
        message = Message(f"t.{event.family}", event.key("banco"),
                          event.envelope(client="banco", occurred_at=LATE_EVENING), {})
        assert await runtime.handle(message) == "processed"
    assert await outcome(platform) == together


async def test_bucket_at_placement_is_the_files_own_however_late_the_file_arrives(platform: Platform) -> None:
    # The file states 25 days past due as of February 1st; it is placed on March 10th, 37 days later.
    weeks_late = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)
    late = AccountPlaced(account_ref="W-1", portfolio_id=uuid.uuid4(), debtor_ref=None, personal=None, has_phone=True, has_email=False,
                         balance=Decimal("500000"), currency="COP", days_past_due=25, as_of=dt.date(2026, 2, 1),
                         authorised_channels=["sms"])
    await deliver(platform, [CLIENT, late], weeks_late)
    w1 = await account(platform, "W-1")
    assert (w1["bucket_at_placement"], w1["bucket"]) == ("1-30", "61-90")  # 25 as stated; 62 on March 10th
    assert w1["history"] == [("placement", 62, "61-90")]
    # A later file restating the account, and aging, move the current bucket only.
    from recaudo_common.events import AccountUpdated

    restated = AccountUpdated(**{**late.model_dump(), "days_past_due": 100, "as_of": dt.date(2026, 3, 10)},
                              previous_balance=Decimal("500000"))
    await deliver(platform, [restated], weeks_late)
    assert await run_aging(platform.db, client="banco", day=dt.date(2026, 3, 31), now=weeks_late) == 1
    w1 = await account(platform, "W-1")
    assert (w1["bucket_at_placement"], w1["bucket"]) == ("1-30", "121-180")
    async with platform.db.transaction() as s:
        announced = (await s.execute(text(
            "SELECT envelope->'payload'->>'bucket_at_placement', envelope->'payload'->>'bucket' "
            "FROM segmentation.outbox WHERE envelope->>'type' = 'account.segmented' ORDER BY id"))).all()
    assert [tuple(a) for a in announced] == [("1-30", "61-90"), ("1-30", "91-120"), ("1-30", "121-180")]


async def test_a_restatement_while_a_plan_holds_aging_keeps_the_days_the_client_states(platform: Platform) -> None:
    from recaudo_common.events import AccountUpdated, ArrangementBroken, ArrangementMade, Instalment

    await deliver(platform, [CLIENT, placed("H-2", 25)], LATE_EVENING)  # 25 days past due on March 31st
    plan = ArrangementMade(arrangement_id=uuid.uuid4(), account_ref="H-2", kind="instalment_plan",
                           total_amount=Decimal(500000), instalments=[Instalment(due_date=dt.date(2026, 4, 30),
                                                                                 amount=Decimal(500000))],
                           made_at=LATE_EVENING, source="operator")
    await deliver(platform, [plan], LATE_EVENING)
    # On April 20th, held, the client's new file states 60 days as of that day: 60 it is (not 60 less the 20
    # days held), 31-60.
    restated_at = dt.datetime(2026, 4, 20, 15, 0, tzinfo=dt.UTC)
    await deliver(platform, [AccountUpdated(
        account_ref="H-2", portfolio_id=uuid.uuid4(), debtor_ref=None, personal=None, has_phone=True,
        has_email=False, balance=Decimal(500000), currency="COP", days_past_due=60, as_of=dt.date(2026, 4, 20),
        authorised_channels=["sms"], previous_balance=Decimal(500000))], restated_at)
    assert (await account(platform, "H-2"))["history"][-1][1:] == (60, "31-60")
    # Broken on May 1st: aging resumes from the 60 stated, and the held days are not counted.
    broken_at = dt.datetime(2026, 5, 1, 15, 0, tzinfo=dt.UTC)
    await deliver(platform, [ArrangementBroken(arrangement_id=plan.arrangement_id, account_ref="H-2",
                                               broken_at=broken_at, missed_instalments=2)], broken_at)
    assert (await account(platform, "H-2"))["history"][-1] == ("arrangement_broken", 60, "31-60")
    assert await run_aging(platform.db, client="banco", day=dt.date(2026, 5, 2), now=broken_at) == 1
    assert (await account(platform, "H-2"))["history"][-1] == ("aging", 61, "61-90")
