"""The account view's days past due are today's, through the real API and PostgreSQL: segmentation's daily aging
emits account.segmented only when an account's bucket changes, so between two assignments the view ages what the
last one said, by the client company's calendar, unless a plan holds the aging or the account is closed."""

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any

import pytest

from recaudo_common.events import (
    AccountRecalled,
    AccountSegmentedV2,
    ClientRegistered,
    Event,
    PaymentApplied,
)
from recaudo_common.runtime import Platform, make_platform
from recaudo_common.testing import settings_for_test

from .conftest import deliver, reporting_client
from .test_hand_computed import placed
from .test_roll_rates_own_buckets import as_v1

pytestmark = pytest.mark.integration
UTC = dt.UTC
SEGMENTED_AT = dt.datetime(2026, 3, 10, 15, 0, tzinfo=UTC)  # 10:00 on March 10th in Bogotá
AS_OF = dt.date(2026, 3, 10)


def segmented(ref: str, *, aging_held: bool | None, trigger: str = "aging") -> AccountSegmentedV2:
    """Segmentation's assignment at 35 days past due as of March 10th (31-60); `aging_held` None: a v2 event
    written before it said the day and the hold."""
    said: dict[str, Any] = {} if aging_held is None else {"as_of": AS_OF, "aging_held": aging_held}
    return AccountSegmentedV2(
        account_ref=ref, days_past_due=35, bucket="31-60", bucket_at_placement="31-60", segment="31-60/high",
        treatment="digital", channels=["sms"], propensity=Decimal("0.3"), cost_to_collect=Decimal("1000"),
        expected_net_recovery=Decimal("1"), strategy_version=1, strategy_arm="champion", model_version="m",
        why="w", trigger=trigger, bucket_low=31, bucket_high=60, **said)


REFS = ("AGES", "PLAN", "PAID", "RECALLED", "V1", "V2-BEFORE")
STORY: list[tuple[dt.datetime, Event]] = [
    (dt.datetime(2026, 3, 1, 15, 0, tzinfo=UTC), ClientRegistered(
        slug="banco", name="Banco", country="CO", currency="COP", timezone="America/Bogota", locale="es-CO",
        default_authorised_channels=["sms"])),
    *((dt.datetime(2026, 3, 2, 15, 0, tzinfo=UTC), placed(ref, "1000000", "tarjeta")) for ref in REFS),
    (SEGMENTED_AT, segmented("AGES", aging_held=False)),
    (SEGMENTED_AT, segmented("PLAN", aging_held=True, trigger="arrangement_made")),  # an instalment plan holds it
    # Paid and recalled after an assignment that said they aged: reporting knows they are closed before (or
    # without) segmentation's next word.
    (SEGMENTED_AT, segmented("PAID", aging_held=False)),
    (dt.datetime(2026, 3, 12, 15, 0, tzinfo=UTC), PaymentApplied(
        payment_id=uuid.uuid4(), account_ref="PAID", amount=Decimal("1000000"), currency="COP",
        paid_at=dt.datetime(2026, 3, 12, 15, 0, tzinfo=UTC), source="gateway", new_balance=Decimal(0),
        account_status="paid")),
    (SEGMENTED_AT, segmented("RECALLED", aging_held=False)),
    (dt.datetime(2026, 3, 12, 15, 0, tzinfo=UTC), AccountRecalled(
        account_ref="RECALLED", recalled_at=dt.datetime(2026, 3, 12, 15, 0, tzinfo=UTC))),
    (SEGMENTED_AT, as_v1(segmented("V1", aging_held=None))),
    (SEGMENTED_AT, segmented("V2-BEFORE", aging_held=None)),
]


View = Callable[[dt.datetime], Awaitable[dict[str, int | None]]]


@pytest.fixture
async def viewed_at(database_url: str) -> AsyncIterator[View]:
    """The story delivered once; then each account's days past due in the account view with the platform's clock
    at a given instant."""
    clock = [SEGMENTED_AT]
    platform: Platform = make_platform(settings_for_test(database_url), pool_size=2, clock=lambda: clock[0])
    await deliver(platform, (("banco", occurred, event) for occurred, event in STORY), now=SEGMENTED_AT)
    _, operator = await platform.keys.create(role="operator", now=SEGMENTED_AT)

    async def view(at: dt.datetime) -> dict[str, int | None]:
        clock[0] = at
        shown: dict[str, int | None] = {}
        for ref in REFS:
            response = await http.get(f"/v1/clients/banco/accounts/{ref}")
            assert response.status_code == 200, response.text
            shown[ref] = response.json()["days_past_due"]
        return shown

    async with reporting_client(platform, operator) as http:
        yield view
    await platform.db.dispose()


async def test_an_account_segmented_at_35_days_shows_55_twenty_days_later(viewed_at: View) -> None:
    assert await viewed_at(SEGMENTED_AT) == dict.fromkeys(REFS, 35)  # the day it was said
    # March 30th, 10:00 in Bogotá: twenty days after the assignment.
    assert await viewed_at(dt.datetime(2026, 3, 30, 15, 0, tzinfo=UTC)) == {
        "AGES": 55,  # 35 + 20
        "PLAN": 35,  # held by its plan
        "PAID": 35, "RECALLED": 35,  # closed: no longer aging
        "V1": 35, "V2-BEFORE": 35,  # the event did not say the day or the hold: as it said
    }


async def test_the_day_is_the_client_companys(viewed_at: View) -> None:
    # 23:30 on March 30th in Bogotá, though already March 31st in UTC: still twenty days; an hour later, 21.
    assert (await viewed_at(dt.datetime(2026, 3, 31, 4, 30, tzinfo=UTC)))["AGES"] == 55
    after_midnight = await viewed_at(dt.datetime(2026, 3, 31, 5, 30, tzinfo=UTC))
    assert (after_midnight["AGES"], after_midnight["PLAN"]) == (56, 35)
