"""A month once closed stays as it was remitted: a reversal (a chargeback, a refund) counts, negatively, in the
period it happened, never in the period of the payment it takes back, in the recovery report for a date range,
in the live one and in the commission statement (month-end remittance) alike, through reporting's real consumer
runtime, PostgreSQL and API."""

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from recaudo_common.events import ClientRegistered, Event, PaymentReversedV2
from recaudo_common.runtime import Platform, make_platform
from recaudo_common.testing import settings_for_test

from .conftest import deliver, reporting_client
from .test_report_boundaries import BOGOTA, contact, paid, placed, segmented

pytestmark = pytest.mark.integration
UTC = dt.UTC
NOW = dt.datetime(2026, 12, 7, 15, tzinfo=UTC)
OCTOBER = {"from": dt.datetime(2026, 10, 1, tzinfo=BOGOTA).isoformat(),
           "to": dt.datetime(2026, 11, 1, tzinfo=BOGOTA).isoformat()}
NOVEMBER = {"from": dt.datetime(2026, 11, 1, tzinfo=BOGOTA).isoformat(),
            "to": dt.datetime(2026, 12, 1, tzinfo=BOGOTA).isoformat()}
PAID_IN_OCTOBER, PAID_IN_NOVEMBER = uuid.uuid4(), uuid.uuid4()
OCTOBER_STORY: list[tuple[dt.datetime, Event]] = [
    (dt.datetime(2026, 9, 1, tzinfo=UTC), ClientRegistered(
        slug="banco", name="Banco", country="CO", currency="COP", timezone="America/Bogota", locale="es-CO",
        default_authorised_channels=["sms"])),
    (dt.datetime(2026, 9, 20, tzinfo=UTC), placed("C-1", "1000000", "tarjeta")),
    (dt.datetime(2026, 9, 20, 1, tzinfo=UTC), segmented("C-1", "1-30")),
    (dt.datetime(2026, 10, 9, 15, tzinfo=UTC), contact("C-1", "sms", dt.datetime(2026, 10, 9, 15, tzinfo=UTC))),
    (dt.datetime(2026, 10, 10, 15, tzinfo=UTC),
     paid(PAID_IN_OCTOBER, "C-1", "100000", dt.datetime(2026, 10, 10, 15, tzinfo=UTC), "900000")),
]


def reversal(payment_id: uuid.UUID, amount: str, at: dt.datetime, balance: str) -> PaymentReversedV2:
    return PaymentReversedV2(payment_id=payment_id, reversal_id=uuid.uuid4(), account_ref="C-1",
                             amount=Decimal(amount), kind="chargeback", reversed_at=at, new_balance=Decimal(balance),
                             account_status="open", payment_amount=Decimal(amount), reversed_total=Decimal(amount))


# In November: October's payment is charged back (the 5th, local time), and a payment of the 12th is refunded
# within November (net nothing in it).
NOVEMBER_STORY: list[tuple[dt.datetime, Event]] = [
    (dt.datetime(2026, 11, 5, 20, tzinfo=UTC),
     reversal(PAID_IN_OCTOBER, "100000", dt.datetime(2026, 11, 5, 20, tzinfo=UTC), "1000000")),
    (dt.datetime(2026, 11, 12, 15, tzinfo=UTC),
     paid(PAID_IN_NOVEMBER, "C-1", "40000", dt.datetime(2026, 11, 12, 15, tzinfo=UTC), "960000")),
    (dt.datetime(2026, 11, 20, 15, tzinfo=UTC),
     reversal(PAID_IN_NOVEMBER, "40000", dt.datetime(2026, 11, 20, 15, tzinfo=UTC), "1000000")),
]


@pytest.fixture
async def platform(database_url: str) -> AsyncIterator[Platform]:
    platform: Platform = make_platform(settings_for_test(database_url), pool_size=3, clock=lambda: NOW)
    yield platform
    await platform.db.dispose()


async def get(http: httpx.AsyncClient, path: str, **params: str) -> dict[str, Any]:
    response = await http.get(f"/v1/clients/banco/{path}", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def line(statement: dict[str, Any]) -> tuple[Decimal, Decimal, Decimal]:
    totals = statement["totals"]
    return Decimal(totals["recovered"]), Decimal(totals["commission"]), Decimal(totals["remittance"])


async def test_a_chargeback_in_a_later_month_leaves_the_closed_month_as_remitted(platform: Platform) -> None:
    await deliver(platform, (("banco", when, e) for when, e in OCTOBER_STORY), now=NOW)
    _, key = await platform.keys.create(role="operator", now=NOW)
    async with reporting_client(platform, key) as http:
        assert (await http.put("/v1/clients/banco/commission-rates", json={"rates": {"1-30": "0.10"}})
                ).status_code == 200
        closed = await get(http, "reports/commission", **OCTOBER)
        assert line(closed) == (Decimal("100000"), Decimal("10000.00"), Decimal("90000.00"))

        await deliver(platform, (("banco", when, e) for when, e in NOVEMBER_STORY), now=NOW)

        # October stays what was remitted for it, in the statement and in the recovery report.
        assert line(await get(http, "reports/commission", **OCTOBER)) == line(closed)
        assert Decimal((await get(http, "reports/recovery", **OCTOBER))["totals"]["recovered"]) == Decimal("100000")
        # The chargeback counts in November, negatively: the agency gives back its commission on it.
        assert line(await get(http, "reports/commission", **NOVEMBER)) == (
            Decimal("-100000"), Decimal("-10000.00"), Decimal("-90000.00"))
        november = await get(http, "reports/recovery", **NOVEMBER)
        assert (Decimal(november["totals"]["recovered"]), november["totals"]["payments"]) == (Decimal("-100000"), 1)
        # The live report from November on (no `to`) says the same.
        live = await get(http, "reports/recovery", **{"from": NOVEMBER["from"]})
        assert Decimal(live["totals"]["recovered"]) == Decimal("-100000")
        # In its groups: on the chargeback's local day, against the channel the payment was credited to.
        by_day = {g["key"]: Decimal(g["recovered"])
                  for g in (await get(http, "reports/recovery", group_by="day", **NOVEMBER))["groups"]
                  if Decimal(g["recovered"])}
        assert by_day == {"2026-11-05": Decimal("-100000"), "2026-11-12": Decimal("40000"),
                          "2026-11-20": Decimal("-40000")}
        by_channel = {g["key"]: Decimal(g["recovered"])
                      for g in (await get(http, "reports/recovery", group_by="channel", **NOVEMBER))["groups"]
                      if Decimal(g["recovered"])}
        assert by_channel == {"sms": Decimal("-100000")}
        # Both months together net both payments and both reversals.
        both = await get(http, "reports/recovery", **{"from": OCTOBER["from"], "to": NOVEMBER["to"]})
        assert Decimal(both["totals"]["recovered"]) == Decimal(0)
