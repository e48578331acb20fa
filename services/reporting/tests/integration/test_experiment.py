"""The strategy's experiment read out through reporting's API on PostgreSQL: a challenger whose accounts pay twice
as often as the champion's, about 500 accounts an arm, every event through reporting's consumer runtime."""

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal

import pytest

from recaudo_common.bus.base import Message
from recaudo_common.bus.consumer import ConsumerRuntime
from recaudo_common.events import (
    AccountPlaced,
    AccountSegmented,
    ClientRegistered,
    Event,
    PaymentApplied,
    PaymentReversed,
)
from recaudo_common.runtime import Platform, make_platform
from recaudo_common.testing import settings_for_test
from reporting.consumers import SUBSCRIPTIONS

from .conftest import reporting_client

pytestmark = pytest.mark.integration
UTC = dt.UTC
MARCH_2 = dt.datetime(2026, 3, 2, 15, tzinfo=UTC)
ARM_SIZE = 500


def placed(ref: str) -> AccountPlaced:
    return AccountPlaced(account_ref=ref, portfolio_id=uuid.uuid4(), debtor_ref=None, personal=None, has_phone=True,
                         has_email=False, product="tarjeta", balance=Decimal("1000000"), currency="COP",
                         days_past_due=40, as_of=dt.date(2026, 3, 2), authorised_channels=["sms"])


def segmented(ref: str, arm: str) -> AccountSegmented:
    return AccountSegmented(
        account_ref=ref, days_past_due=40, bucket="31-60", bucket_at_placement="31-60", segment="31-60/high",
        treatment="digital", channels=["sms"], propensity=Decimal("0.3"), cost_to_collect=Decimal("1000"),
        expected_net_recovery=Decimal("1"), strategy_version=3, strategy_arm=arm,
        model_version="m", why="w", trigger="placement")


def paid(payment_id: uuid.UUID, ref: str, when: dt.datetime) -> PaymentApplied:
    return PaymentApplied(payment_id=payment_id, account_ref=ref, amount=Decimal("100000"), currency="COP",
                          paid_at=when, source="gateway", new_balance=Decimal("900000"), account_status="open")


def story() -> list[tuple[dt.datetime, Event]]:
    """Champion C-0..C-499, 50 paying (every 10th); challenger X-0..X-499, 100 paying (every 5th): each pays
    100,000 of 1,000,000, half of them in March and half in April. One more challenger account's payment is
    reversed whole: it recovered nothing, so it does not pay. Accounts of no arm (unsegmented) are not counted."""
    out: list[tuple[dt.datetime, Event]] = [(MARCH_2, ClientRegistered(
        slug="banco", name="Banco", country="CO", currency="COP", timezone="America/Bogota", locale="es-CO",
        default_authorised_channels=["sms"]))]
    for prefix, arm, every in (("C", "champion", 10), ("X", "challenger", 5)):
        refs = [f"{prefix}-{i}" for i in range(ARM_SIZE)]
        out += [(MARCH_2, placed(r)) for r in refs] + [(MARCH_2, segmented(r, arm)) for r in refs]
        for n, r in enumerate(refs[::every]):
            when = dt.datetime(2026, 3 if n % 2 == 0 else 4, 10, 15, tzinfo=UTC)
            out.append((when, paid(uuid.uuid4(), r, when)))
    out += [(MARCH_2, placed(f"U-{i}")) for i in range(20)]
    reversed_id = uuid.uuid4()
    out += [(dt.datetime(2026, 3, 11, tzinfo=UTC), paid(reversed_id, "X-1", dt.datetime(2026, 3, 11, tzinfo=UTC))),
            (dt.datetime(2026, 3, 12, tzinfo=UTC), PaymentReversed(
                payment_id=reversed_id, reversal_id=uuid.uuid4(), account_ref="X-1", amount=Decimal("100000"),
                kind="chargeback", reversed_at=dt.datetime(2026, 3, 12, tzinfo=UTC),
                new_balance=Decimal("1000000"), account_status="open"))]
    return out


async def deliver_in_batches(platform: Platform, events: list[tuple[dt.datetime, Event]], *, now: dt.datetime,
                             size: int = 250) -> None:
    """Each event through reporting's consumer runtime, in order, in batches as a topic's poll hands them over."""
    runtime = ConsumerRuntime(platform.db, platform.transport, SUBSCRIPTIONS, "t", lambda: now)
    batch: list[Message] = []

    async def flush() -> None:
        assert await runtime.handle_batch(batch) == ["processed"] * len(batch)
        batch.clear()

    for occurred, event in events:
        if batch and (len(batch) >= size or batch[-1].envelope.type != event.type):
            await flush()
        batch.append(Message(f"t.{event.family}", event.key("banco"),
                             event.envelope(client="banco", occurred_at=occurred), {}))
    await flush()


@asynccontextmanager
async def platform_told(database_url: str, events: list[tuple[dt.datetime, Event]]) -> AsyncIterator[Platform]:
    """A platform whose reporting was told `events` by its consumers, in batches, on 2 May 2026."""
    now = dt.datetime(2026, 5, 2, 12, tzinfo=UTC)
    p: Platform = make_platform(settings_for_test(database_url), pool_size=3, clock=lambda: now)
    try:
        await deliver_in_batches(p, events, now=now)
        yield p
    finally:
        await p.db.dispose()


@pytest.fixture
async def platform(database_url: str) -> AsyncIterator[Platform]:
    async with platform_told(database_url, story()) as p:
        yield p


async def test_a_challenger_paying_twice_as_often_shows_that_lift_with_p_below_a_thousandth(
        platform: Platform) -> None:
    _, key = await platform.keys.create(role="client", client_slug="banco", now=platform.clock())
    async with reporting_client(platform, key) as http:
        body = (await http.get("/v1/clients/banco/strategy/experiment")).json()
    assert body["arms"] == {
        "champion": {"accounts": 500, "paying_accounts": 50, "placed": "500000000.00", "recovered": "5000000.00",
                     "recovery_rate": 0.01},
        "challenger": {"accounts": 500, "paying_accounts": 100, "placed": "500000000.00",
                       "recovered": "10000000.00", "recovery_rate": 0.02}}
    assert body["lift"] == pytest.approx(1.0)
    assert body["p_value"] < 0.001  # z = 4.43 on 10 % against 20 % paying
    assert body["ci95"][0] == pytest.approx(0.1 - 0.0438269, abs=1e-6) and body["ci95"][0] > 0
    assert (body["verdict"], body["min_accounts_per_arm"]) == ("challenger_better", 400)


async def test_from_and_to_count_only_the_payments_in_the_period(platform: Platform) -> None:
    _, key = await platform.keys.create(role="operator", now=platform.clock())
    async with reporting_client(platform, key) as http:
        march = (await http.get("/v1/clients/banco/strategy/experiment", params={
            "from": "2026-03-01T00:00:00-05:00", "to": "2026-04-01T00:00:00-05:00"})).json()
        by_day = (await http.get("/v1/clients/banco/strategy/experiment", params={
            "from": "2026-03-01", "to": "2026-04-01"})).json()  # March on the client company's calendar
        naive = await http.get("/v1/clients/banco/strategy/experiment", params={"from": "2026-03-01T00:00:00"})
        _, other = await platform.keys.create(role="client", client_slug="otro", now=platform.clock())
        http.headers["Authorization"] = f"Bearer {other}"
        foreign = await http.get("/v1/clients/banco/strategy/experiment")
    # The even-numbered payers of each arm paid in March: 25 and 50.
    assert {a: (v["accounts"], v["paying_accounts"], v["recovered"]) for a, v in march["arms"].items()} == {
        "champion": (500, 25, "2500000.00"), "challenger": (500, 50, "5000000.00")}
    assert march["lift"] == pytest.approx(1.0) and march["p_value"] < 0.01
    assert march["date_to"] is not None
    assert (by_day["arms"], by_day["date_from"], by_day["date_to"]) == (march["arms"], march["date_from"],
                                                                        march["date_to"])
    assert (naive.status_code, naive.json()["code"]) == (422, "naive_datetime")
    assert foreign.status_code == 404
