"""The strategy's write-offs on PostgreSQL (#22): payments remembers what segmentation's strategy does not pursue,
and its periodic job writes off, once and in batches, the open accounts that met the client company's rules
(client.updated's write_off_rules); nothing without rules, nothing pursued again, nothing under an arrangement."""

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from payments.write_offs import strategy
from payments.write_offs.strategy import write_off_due
from recaudo_common.events import AccountSegmented, ClientUpdated, WriteOffRules

from .conftest import NOW, Gateway, deliver, placed
from .test_instalment_plans import SIX, plan_body

pytestmark = pytest.mark.integration
DAY = dt.timedelta(days=1)


def segmented(ref: str, treatment: str, days_past_due: int = 200) -> AccountSegmented:
    return AccountSegmented(
        account_ref=ref, days_past_due=days_past_due, bucket="181+", bucket_at_placement="181+",
        segment="181+/low", treatment=treatment, channels=[], propensity=Decimal("0.01"),
        cost_to_collect=Decimal("100"), expected_net_recovery=Decimal("-5"), strategy_version=1,
        strategy_arm="champion", model_version="scorecard-v1", why="test", trigger="aging")


def rules(after_days: int = 30, min_days_past_due: int = 180) -> ClientUpdated:
    return ClientUpdated(slug="banco", name="Banco", country="CO", currency="COP", timezone="America/Bogota",
                         locale="es-CO", default_authorised_channels=["sms"],
                         write_off_rules=WriteOffRules(after_days=after_days, min_days_past_due=min_days_past_due))


async def written_off(gateway: Gateway) -> list[dict[str, Any]]:
    async with gateway.platform.db.transaction() as s:
        rows = (await s.execute(text("SELECT envelope->'payload' FROM payments.outbox "
                                     "WHERE envelope->>'type' = 'payment.written_off' ORDER BY id"))).scalars().all()
    return list(rows)


async def test_what_the_strategy_does_not_pursue_is_written_off_after_the_clients_rules(gateway: Gateway) -> None:
    platform = gateway.platform
    await deliver(platform, *[await placed(platform, ref, debtor_id=f"3{i}") for i, ref in enumerate(
        ("N-1", "N-2", "N-3", "N-4"))])
    await deliver(platform, segmented("A-1", "do_not_pursue"), segmented("A-2", "digital"),
                  segmented("N-1", "do_not_pursue", days_past_due=100),  # too young for the rules
                  segmented("N-2", "do_not_pursue"), segmented("N-3", "do_not_pursue"), one_by_one=True)
    # Without rules nothing is written off, however long.
    assert await write_off_due(platform.db, now=NOW + 400 * DAY) == 0
    await deliver(platform, rules(after_days=30, min_days_past_due=180))
    # N-3 is pursued again before its time; an arrangement stands on N-2.
    await deliver(platform, segmented("N-3", "digital"))
    made = await gateway.http.post("/v1/clients/banco/accounts/N-2/arrangements", headers=gateway.as_operator(),
                                   json=plan_body(SIX))
    assert made.status_code == 201, made.text
    assert await write_off_due(platform.db, now=NOW + 29 * DAY) == 0  # not 30 days yet
    assert await write_off_due(platform.db, now=NOW + 30 * DAY) == 1
    assert await write_off_due(platform.db, now=NOW + 30 * DAY) == 0  # once
    # N-1 was 100 days past due when the strategy stopped: 180 by 80 days later.
    assert await write_off_due(platform.db, now=NOW + 79 * DAY) == 0
    assert await write_off_due(platform.db, now=NOW + 80 * DAY) == 1
    events = await written_off(gateway)
    assert [(e["account_ref"], e["reason"], e["source"], e["amount"], e["account_status"]) for e in events] == [
        ("A-1", "uneconomic", "strategy", "100000.00", "written_off"),
        ("N-1", "uneconomic", "strategy", "100000.00", "written_off")]
    assert await gateway.balance("A-1") == (Decimal("0.00"), "written_off", Decimal("0.00"))
    assert (await gateway.balance("N-2"))[1] == (await gateway.balance("N-3"))[1] == "open"
    # An operator reverses the strategy's write-off of A-1: it is pursued again, never written off again by the
    # strategy's earlier decision (only a new do_not_pursue starts the days again).
    reversed_ = await gateway.http.post("/v1/clients/banco/accounts/A-1/write-off/reversal",
                                        json={"reason": "el cliente pidió seguir"},
                                        headers={**gateway.as_operator(), "Idempotency-Key": "reverso-A-1"})
    assert reversed_.json()["account_status"] == "open"
    assert await write_off_due(platform.db, now=NOW + 200 * DAY) == 0


async def test_a_full_batch_is_followed_by_the_next(gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    platform = gateway.platform
    refs = [f"B-{i}" for i in range(5)]
    await deliver(platform, *[await placed(platform, ref, debtor_id=f"5{i}") for i, ref in enumerate(refs)])
    await deliver(platform, rules(after_days=1, min_days_past_due=0),
                  *[segmented(ref, "do_not_pursue") for ref in refs], one_by_one=True)
    monkeypatch.setattr(strategy, "BATCH", 2)
    assert [await write_off_due(platform.db, now=NOW + DAY) for _ in range(4)] == [2, 2, 1, 0]
    assert sorted(e["account_ref"] for e in await written_off(gateway)) == refs


async def test_a_batch_of_decisions_ends_as_one_at_a_time_does(gateway: Gateway) -> None:
    """The set-based form (#24) against one event at a time: the same decisions, at their own moments, delivered one
    at a time to accounts X-* and as one batch to accounts Y-* (the runtime splits it where an account comes
    again), leave the same memory of what is not pursued."""
    from recaudo_common.bus.base import Message
    from recaudo_common.bus.consumer import ConsumerRuntime

    from .conftest import consumer

    platform = gateway.platform
    runtime = ConsumerRuntime(platform.db, platform.transport, consumer(platform), "t", lambda: NOW)
    stories = {  # an account's decisions in order (D: do_not_pursue, P: pursued by some treatment)
        "1": "D", "2": "P", "3": "DP", "4": "PD", "5": "DD", "6": "DPDD", "7": "PDPD", "8": "DDP"}
    already = {"5", "8", "6"}  # remembered before the batch, from an earlier day

    def message(prefix: str, ref: str, decision: str, at: dt.datetime) -> Message:
        event = segmented(f"{prefix}-{ref}", "do_not_pursue" if decision == "D" else "digital",
                          days_past_due=150 + int(ref))
        return Message("t.segmentation", event.key("banco"), event.envelope(client="banco", occurred_at=at), {})

    for prefix in ("X", "Y"):
        for ref in sorted(already):
            assert await runtime.handle_batch([message(prefix, ref, "D", NOW - 10 * DAY)]) == ["processed"]
    interleaved = [(ref, d, NOW + dt.timedelta(minutes=10 * i + int(ref)))
                   for i in range(4) for ref, story in stories.items() if i < len(story) for d in story[i]]
    for ref, decision, at in interleaved:
        assert await runtime.handle_batch([message("X", ref, decision, at)]) == ["processed"]
    assert set(await runtime.handle_batch([message("Y", ref, d, at) for ref, d, at in interleaved])) == {"processed"}
    async with platform.db.transaction() as s:
        rows = (await s.execute(text("SELECT account_ref, since, days_past_due FROM payments.not_pursued"))).all()
    one_at_a_time = {r[0][2:]: (r[1], r[2]) for r in rows if r[0].startswith("X-")}
    batched = {r[0][2:]: (r[1], r[2]) for r in rows if r[0].startswith("Y-")}
    assert batched == one_at_a_time
    assert set(one_at_a_time) == {"1", "4", "5", "6", "7"}  # the stories that end not pursued
    assert one_at_a_time["5"][0] == NOW - 10 * DAY  # remembered from before, kept
    assert one_at_a_time["6"][0] > NOW  # pursued in between: remembered afresh
