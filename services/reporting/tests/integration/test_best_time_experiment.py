"""Best time as an experiment read out through reporting's API on PostgreSQL: 500 accounts an arm, each account's
arm carried by the contact.attempted v2 of its attempts; the first_slot accounts pay half as often as the best_time
ones. Every event through reporting's consumer runtime."""

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from recaudo_common.events import ClientRegistered, ContactAttemptedV2, ContactDelivered, Event
from recaudo_common.runtime import Platform

from .conftest import reporting_client
from .test_experiment import ARM_SIZE, MARCH_2, paid, placed, platform_told

pytestmark = pytest.mark.integration
UTC = dt.UTC


def attempt(ref: str, arm: str | None, at: dt.datetime, *, simulated: bool = False) -> ContactAttemptedV2:
    return ContactAttemptedV2(attempt_id=uuid.uuid4(), account_ref=ref, channel="sms", provider="twilio",
                              attempted_at=at, cost=Decimal("50"), simulated=simulated, best_time_arm=arm)


def story() -> list[tuple[dt.datetime, Event]]:
    """best_time B-0..B-499, 100 paying (every 5th); first_slot F-0..F-499, 50 paying (every 10th); each pays
    100,000 of 1,000,000 in March. Every account gets one attempt in its arm on March 3; best_time's are all
    delivered, first_slot's every other one. F-0 got a second attempt in best_time later (the share changed): it
    stays in first_slot, the arm of its first attempt. Accounts attempted outside an experiment are in no arm."""
    out: list[tuple[dt.datetime, Event]] = [(MARCH_2, ClientRegistered(
        slug="banco", name="Banco", country="CO", currency="COP", timezone="America/Bogota", locale="es-CO",
        default_authorised_channels=["sms"]))]
    march_3, march_10 = dt.datetime(2026, 3, 3, 15, tzinfo=UTC), dt.datetime(2026, 3, 10, 15, tzinfo=UTC)
    for prefix, arm, every, delivered_every in (("B", "best_time", 5, 1), ("F", "first_slot", 10, 2)):
        refs = [f"{prefix}-{i}" for i in range(ARM_SIZE)]
        out += [(MARCH_2, placed(r)) for r in refs]
        attempts = [attempt(r, arm, march_3) for r in refs]
        out += [(march_3, a) for a in attempts]
        out += [(march_3, ContactDelivered(attempt_id=a.attempt_id, account_ref=a.account_ref, channel="sms",
                                           delivered_at=march_3)) for a in attempts[::delivered_every]]
        out += [(march_10, paid(uuid.uuid4(), r, march_10)) for r in refs[::every]]
    later = dt.datetime(2026, 3, 20, 15, tzinfo=UTC)
    out += [(later, attempt("F-0", "best_time", later))]
    out += [(MARCH_2, placed(f"U-{i}")) for i in range(20)] + [(march_3, attempt(f"U-{i}", None, march_3))
                                                                for i in range(20)]
    return out


@pytest.fixture
async def platform(database_url: str) -> AsyncIterator[Platform]:
    async with platform_told(database_url, story()) as p:
        yield p


async def test_first_slot_accounts_paying_half_as_often_show_best_times_lift(platform: Platform) -> None:
    _, key = await platform.keys.create(role="client", client_slug="banco", now=platform.clock())
    async with reporting_client(platform, key) as http:
        body = (await http.get("/v1/clients/banco/best-time/experiment")).json()
        before = (await http.get("/v1/clients/banco/best-time/experiment", params={
            "from": "2026-03-01T00:00:00-05:00", "to": "2026-03-03T00:00:00-05:00"})).json()
        naive = await http.get("/v1/clients/banco/best-time/experiment", params={"to": "2026-03-03T00:00:00"})
        _, other = await platform.keys.create(role="client", client_slug="otro", now=platform.clock())
        http.headers["Authorization"] = f"Bearer {other}"
        foreign = await http.get("/v1/clients/banco/best-time/experiment")
    assert body["arms"] == {
        "first_slot": {"accounts": 500, "paying_accounts": 50, "placed": "500000000.00", "recovered": "5000000.00",
                       "recovery_rate": 0.01, "attempts": 500, "reached": 250, "contact_rate": 0.5},
        "best_time": {"accounts": 500, "paying_accounts": 100, "placed": "500000000.00",
                      "recovered": "10000000.00", "recovery_rate": 0.02, "attempts": 501, "reached": 500,
                      "contact_rate": round(500 / 501, 6)}}
    assert body["lift"] == pytest.approx(1.0)
    assert body["p_value"] < 0.001  # the strategy experiment's z-test: z = 4.43 on 10 % against 20 % paying
    assert body["ci95"][0] == pytest.approx(0.1 - 0.0438269, abs=1e-6)
    assert (body["verdict"], body["min_accounts_per_arm"]) == ("best_time_better", 400)
    # Before any attempt: no account in either arm yet, no statistics.
    assert {a: v["accounts"] for a, v in before["arms"].items()} == {"first_slot": 0, "best_time": 0}
    assert (before["lift"], before["p_value"], before["verdict"]) == (None, None, "insufficient_data")
    assert (naive.status_code, naive.json()["code"]) == (422, "naive_datetime")
    assert foreign.status_code == 404
