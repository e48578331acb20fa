"""Roll and cure rates of a client company with buckets of its own (`Al día`, `Tramo 1-30`, ..., `Castigo 180+`),
worked out by hand and compared through the real API and PostgreSQL: buckets go in the order of the day past due
each starts at (account.segmented v2 says it), whatever their labels say alphabetically, and an account moved to
the bucket that holds 0 days past due is cured, whatever that bucket is called."""

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest

from recaudo_common.events import (
    AccountRecalled,
    AccountSegmented,
    AccountSegmentedV2,
    ClientRegistered,
    Event,
    PaymentApplied,
)
from recaudo_common.runtime import Platform, make_platform
from recaudo_common.testing import settings_for_test

from .conftest import deliver, reporting_client
from .test_hand_computed import placed

pytestmark = pytest.mark.integration
UTC = dt.UTC
NOW = dt.datetime(2026, 3, 5, 15, 0, tzinfo=UTC)


def on(month: int, day: int) -> dt.datetime:
    return dt.datetime(2026, month, day, 15, 0, tzinfo=UTC)


# The client company's bucket set, as it configured it in segmentation (label: first and last day past due).
BUCKETS = {"Al día": (-365, 0), "Tramo 1-30": (1, 30), "Tramo 31-60": (31, 60), "Tramo 61-179": (61, 179),
           "Castigo 180+": (180, 36500)}


def segmented(ref: str, bucket: str, days_past_due: int) -> AccountSegmentedV2:
    """Segmentation's assignment from the client company's set, saying the bucket's bounds (v2)."""
    low, high = BUCKETS[bucket]
    assert low <= days_past_due <= high
    return AccountSegmentedV2(
        account_ref=ref, days_past_due=days_past_due, bucket=bucket, bucket_at_placement=bucket,
        segment=f"{bucket}/high", treatment="digital", channels=["sms"], propensity=Decimal("0.3"),
        cost_to_collect=Decimal("1000"), expected_net_recovery=Decimal("1"), strategy_version=1,
        strategy_arm="champion", model_version="m", why="w", trigger="aging", bucket_low=low, bucket_high=high)


def as_v1(event: Event) -> Event:
    """The same assignment as segmentation wrote it before v2: the label only."""
    if not isinstance(event, AccountSegmentedV2):
        return event
    return AccountSegmented(**event.model_dump(exclude=set(AccountSegmentedV2.model_fields)
                                               - set(AccountSegmented.model_fields)))


def paid_in_full(ref: str, when: dt.datetime) -> PaymentApplied:
    return PaymentApplied(payment_id=uuid.uuid4(), account_ref=ref, amount=Decimal("100000"), currency="COP",
                          paid_at=when, source="gateway", new_balance=Decimal(0), account_status="paid")


REFS = [f"C-{n}" for n in range(1, 10)]
# Where each account is at the end of January, then what moves it in February (months end in Bogotá).
STORY: list[tuple[dt.datetime, Event]] = [
    (on(1, 2), ClientRegistered(slug="cobranza", name="Cobranza", country="CO", currency="COP",
                                timezone="America/Bogota", locale="es-CO", default_authorised_channels=["sms"])),
    *((on(1, 3), placed(ref, "100000", "tarjeta")) for ref in REFS),
    (on(1, 10), segmented("C-1", "Tramo 1-30", 20)),
    (on(1, 10), segmented("C-2", "Tramo 1-30", 25)),
    (on(1, 10), segmented("C-3", "Tramo 1-30", 10)),
    (on(1, 10), segmented("C-4", "Tramo 31-60", 55)),
    (on(1, 10), segmented("C-5", "Castigo 180+", 200)),
    (on(1, 10), segmented("C-6", "Al día", -5)),
    (on(1, 10), segmented("C-7", "Tramo 31-60", 40)),
    (on(1, 10), segmented("C-8", "Tramo 61-179", 170)),
    (on(1, 10), segmented("C-9", "Tramo 31-60", 35)),
    (on(2, 12), segmented("C-1", "Al día", 0)),  # paid what was overdue: cured, not rolled back
    (on(2, 12), segmented("C-2", "Tramo 31-60", 40)),  # rolled forward
    # C-3 stays in Tramo 1-30.
    (on(2, 12), segmented("C-4", "Tramo 61-179", 65)),  # rolled forward
    (on(2, 12), segmented("C-5", "Tramo 31-60", 45)),  # a restated file: rolled back
    (on(2, 12), segmented("C-6", "Tramo 1-30", 3)),  # current at January's end: in no row
    (on(2, 14), paid_in_full("C-7", on(2, 14))),  # cured
    (on(2, 12), segmented("C-8", "Castigo 180+", 190)),  # rolled forward
    (on(2, 20), AccountRecalled(account_ref="C-9", recalled_at=on(2, 20))),
]


def row(bucket: str, accounts: int, roll_rate: float, cure_rate: float, **moves: int) -> dict[str, Any]:
    counts = {"rolled_forward": 0, "stayed": 0, "rolled_back": 0, "cured": 0, "written_off": 0, "recalled": 0, **moves}
    return {"period": "2026-01→2026-02", "bucket": bucket, "accounts": accounts, **counts, "roll_rate": roll_rate,
            "cure_rate": cure_rate}


# In the order of days past due (alphabetically Castigo 180+ would come first and Al día would be a row of its own).
EXPECTED = [
    row("Tramo 1-30", 3, 0.333333, 0.333333, rolled_forward=1, stayed=1, cured=1),  # C-2; C-3; C-1
    row("Tramo 31-60", 3, 0.5, 0.5, rolled_forward=1, cured=1, recalled=1),  # C-4; C-7; C-9, not counted
    row("Tramo 61-179", 1, 1.0, 0.0, rolled_forward=1),  # C-8
    row("Castigo 180+", 1, 0.0, 0.0, rolled_back=1),  # C-5
]


async def roll_rates(database_url: str, story: list[tuple[dt.datetime, Event]]) -> list[dict[str, Any]]:
    platform: Platform = make_platform(settings_for_test(database_url), pool_size=2, clock=lambda: NOW)
    try:
        await deliver(platform, (("cobranza", occurred, event) for occurred, event in story), now=NOW)
        _, operator = await platform.keys.create(role="operator", now=NOW)
        async with reporting_client(platform, operator) as http:
            response = await http.get("/v1/clients/cobranza/reports/roll-rates",
                                      params={"from": "2026-01", "to": "2026-02"})
    finally:
        await platform.db.dispose()
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_own_buckets_roll_and_cure_in_the_order_of_their_days_past_due(database_url: str) -> None:
    assert await roll_rates(database_url, STORY) == EXPECTED


async def test_assignments_from_before_v2_take_the_bounds_their_label_was_last_given(database_url: str) -> None:
    """January's assignments as segmentation wrote them before account.segmented v2 (labels only, as reporting
    holds its history from before): each label is placed by the bounds a later v2 assignment gave it."""
    story = [(occurred, as_v1(event) if occurred < on(2, 1) else event) for occurred, event in STORY]
    assert sum(isinstance(e, AccountSegmentedV2) for _, e in story) == 6
    assert await roll_rates(database_url, story) == EXPECTED
