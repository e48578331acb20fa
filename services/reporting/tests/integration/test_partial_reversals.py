"""Recovered figures after partial refunds and chargebacks (payment.reversed v2) and a whole reversal of the older
v1 kind, to the cent, through reporting's real consumer runtime, PostgreSQL and API: the recovery report, the
commission statement and the account view all net what was taken back, and nothing more."""

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest

from recaudo_common.events import (
    AccountPlaced,
    AccountSegmented,
    ClientRegistered,
    Event,
    PaymentApplied,
    PaymentReversed,
    PaymentReversedV2,
)
from recaudo_common.runtime import make_platform
from recaudo_common.testing import settings_for_test

from .conftest import deliver, reporting_client

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 20, 15, 0, tzinfo=dt.UTC)
MARCH = {"from": "2026-03-01T00:00:00-05:00", "to": "2026-04-01T00:00:00-05:00"}
PAY1, PAY2 = uuid.uuid4(), uuid.uuid4()


def placed(ref: str) -> AccountPlaced:
    return AccountPlaced(account_ref=ref, portfolio_id=uuid.uuid4(), debtor_ref=None, personal=None,
                         has_phone=True, has_email=False,
                         balance=Decimal("1000000"), currency="COP", days_past_due=45, as_of=dt.date(2026, 3, 2),
                         authorised_channels=["sms"])


def segmented(ref: str) -> AccountSegmented:
    return AccountSegmented(
        account_ref=ref, days_past_due=45, bucket="31-60", bucket_at_placement="31-60", segment="s",
        treatment="digital", channels=["sms"], propensity=Decimal("0.3"), cost_to_collect=Decimal("1"),
        expected_net_recovery=Decimal("1"), strategy_version=1, strategy_arm="champion", model_version="m",
        why="w", trigger="placement")


def partial(payment_id: uuid.UUID, amount: str, total: str, balance: str, kind: str) -> PaymentReversedV2:
    return PaymentReversedV2(payment_id=payment_id, reversal_id=uuid.uuid4(), account_ref="A-1",
                             amount=Decimal(amount), kind=kind, reversed_at=NOW,  # type: ignore[arg-type]
                             new_balance=Decimal(balance), account_status="open",
                             payment_amount=Decimal("300000.10"), reversed_total=Decimal(total))


STORY: list[Event] = [
    ClientRegistered(slug="banco", name="Banco", country="CO", currency="COP", timezone="America/Bogota",
                     locale="es-CO", default_authorised_channels=["sms"]),
    placed("A-1"), placed("A-2"), segmented("A-1"), segmented("A-2"),
    PaymentApplied(payment_id=PAY1, account_ref="A-1", amount=Decimal("300000.10"), currency="COP", paid_at=NOW,
                   source="gateway", new_balance=Decimal("699999.90"), account_status="open"),
    partial(PAY1, "100000.05", "100000.05", "799999.95", "refund"),
    partial(PAY1, "50000.03", "150000.08", "849999.98", "chargeback"),
    PaymentApplied(payment_id=PAY2, account_ref="A-2", amount=Decimal("70000"), currency="COP", paid_at=NOW,
                   source="manual", new_balance=Decimal("930000"), account_status="open"),
    PaymentReversed(payment_id=PAY2, reversal_id=uuid.uuid4(), account_ref="A-2", amount=Decimal("70000"),
                    kind="reversal", reversed_at=NOW, new_balance=Decimal("1000000"), account_status="open"),
]


@pytest.fixture
async def reports(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    platform = make_platform(settings_for_test(database_url), pool_size=3, clock=lambda: NOW)
    await deliver(platform, (("banco", NOW, event) for event in STORY), now=NOW)
    _, operator = await platform.keys.create(role="operator", now=NOW)
    async with reporting_client(platform, operator) as http:
        yield http
    await platform.db.dispose()


async def test_recovered_nets_partial_reversals_to_the_cent(reports: httpx.AsyncClient) -> None:
    body = (await reports.get("/v1/clients/banco/reports/recovery", params=MARCH)).json()
    # 300,000.10 - 100,000.05 - 50,000.03 on A-1; A-2's 70,000 wholly reversed (v1).
    assert Decimal(body["totals"]["recovered"]) == Decimal("150000.02")
    assert body["totals"]["payments"] == 2
    view = (await reports.get("/v1/clients/banco/accounts/A-1")).json()
    assert (Decimal(view["recovered"]), Decimal(view["balance"])) == (Decimal("150000.02"), Decimal("849999.98"))
    rates = await reports.put("/v1/clients/banco/commission-rates", json={"rates": {"31-60": "0.15"}})
    assert rates.status_code == 200
    statement = (await reports.get("/v1/clients/banco/reports/commission", params=MARCH)).json()
    line = statement["items"][0]
    # 15 % of 150,000.02 is 22,500.003: 22,500.00 to the agency, 127,500.02 remitted.
    assert (line["bucket"], Decimal(line["recovered"]), Decimal(line["commission"]),
            Decimal(line["remittance"])) == ("31-60", Decimal("150000.02"), Decimal("22500.00"), Decimal("127500.02"))
