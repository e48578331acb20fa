"""MISSION §8's bucket at placement, across services: a file whose `as_of` is weeks before its placement is bucketed
by the days past due it states, not by its age on the day it arrives. Segmentation's real consumer decides; its
account.segmented events, as written to its outbox, feed reporting's real consumer; the by-bucket report and the
commission statement follow the file's buckets while the current bucket is aged (real PostgreSQL, real APIs)."""

import datetime as dt
import uuid
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import text

from recaudo_common.bus.base import Message
from recaudo_common.bus.consumer import ConsumerRuntime
from recaudo_common.events import AccountPlaced, ClientRegistered, Envelope, Event, PaymentApplied
from recaudo_common.runtime import build_app, make_platform
from recaudo_common.testing import settings_for_test
from reporting.consumers import SUBSCRIPTIONS as REPORTING
from reporting.main import build
from segmentation.consumers import SUBSCRIPTIONS as SEGMENTATION

pytestmark = pytest.mark.integration
PLACED_ON = dt.datetime(2026, 3, 16, 15, 0, tzinfo=dt.UTC)
AS_OF = dt.date(2026, 2, 16)  # four weeks before the placement
PERIOD = {"from": "2026-03-01T00:00:00-05:00", "to": "2026-04-01T00:00:00-05:00"}


def placed(ref: str, days_past_due: int, balance: str) -> AccountPlaced:
    return AccountPlaced(account_ref=ref, portfolio_id=uuid.uuid4(), debtor_ref=None, personal=None, has_phone=True, has_email=False,
                         balance=Decimal(balance), currency="COP", days_past_due=days_past_due, as_of=AS_OF,
                         authorised_channels=["sms"])


async def test_reports_bucket_by_the_files_days_past_due_and_age_only_the_current_bucket(database_url: str) -> None:
    platform = make_platform(settings_for_test(database_url), pool_size=4, clock=lambda: PLACED_ON)
    segmentation = ConsumerRuntime(platform.db, platform.transport, SEGMENTATION, "t", lambda: PLACED_ON)
    reporting = ConsumerRuntime(platform.db, platform.transport, REPORTING, "t", lambda: PLACED_ON)

    async def deliver(runtime: ConsumerRuntime, envelopes: list[Envelope]) -> None:
        for e in envelopes:
            assert await runtime.handle_batch([Message(f"t.{e.type.split('.')[0]}", e.key, e, {})]) == ["processed"]

    def envelope(event: Event) -> Envelope:
        return event.envelope(client="banco", occurred_at=PLACED_ON)

    source = [envelope(e) for e in (
        ClientRegistered(slug="banco", name="Banco", country="CO", currency="COP", timezone="America/Bogota",
                         locale="es-CO", default_authorised_channels=["sms"]),
        placed("A-20", 20, "1000000"),   # 1-30 in the file; 48 days on placement day: 31-60
        placed("A-50", 50, "2000000"),   # 31-60 in the file; 78: 61-90
        placed("A-85", 85, "4000000"))]  # 61-90 in the file; 113: 91-120
    await deliver(segmentation, source)
    async with platform.db.transaction() as s:
        segmented = [Envelope.model_validate(r[0]) for r in await s.execute(text(
            "SELECT envelope FROM segmentation.outbox WHERE envelope->>'type' = 'account.segmented' ORDER BY id"))]
    assert [(e.payload["account_ref"], e.payload["bucket_at_placement"], e.payload["bucket"]) for e in segmented] == [
        ("A-20", "1-30", "31-60"), ("A-50", "31-60", "61-90"), ("A-85", "61-90", "91-120")]
    payments = [envelope(PaymentApplied(payment_id=uuid.uuid4(), account_ref=ref, amount=Decimal(amount),
                                        currency="COP", paid_at=PLACED_ON + dt.timedelta(days=1), source="gateway",
                                        new_balance=Decimal(balance), account_status="open"))
                for ref, amount, balance in (("A-20", "100000.00", "900000"), ("A-85", "400000.00", "3600000"))]
    await deliver(reporting, source + segmented + payments)

    _, operator = await platform.keys.create(role="operator", now=PLACED_ON)
    app = build_app(platform, [build(platform)])  # the runtime's wiring
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test",
                                 headers={"Authorization": f"Bearer {operator}"}) as http:
        by_bucket = (await http.get("/v1/clients/banco/reports/recovery",
                                    params={**PERIOD, "group_by": "bucket"})).json()["groups"]
        by_current = (await http.get("/v1/clients/banco/reports/recovery",
                                     params={**PERIOD, "group_by": "current_bucket"})).json()["groups"]
        assert (await http.put("/v1/clients/banco/commission-rates", json={
            "rates": {"1-30": "0.10", "31-60": "0.15", "61-90": "0.20"}, "default": "0.30"})).status_code == 200
        commission = (await http.get("/v1/clients/banco/reports/commission", params=PERIOD)).json()["items"]
    await platform.db.dispose()

    assert {g["key"]: (g["accounts_placed"], Decimal(g["placed_balance"]), Decimal(g["recovered"]))
            for g in by_bucket} == {"1-30": (1, Decimal("1000000"), Decimal("100000")),
                                    "31-60": (1, Decimal("2000000"), Decimal("0")),
                                    "61-90": (1, Decimal("4000000"), Decimal("400000"))}
    assert {g["key"]: g["accounts_placed"] for g in by_current} == {"31-60": 1, "61-90": 1, "91-120": 1}
    assert {c["bucket"]: (Decimal(c["rate"]), Decimal(c["commission"])) for c in commission} == {
        "1-30": (Decimal("0.10"), Decimal("10000.00")), "31-60": (Decimal("0.15"), Decimal("0")),
        "61-90": (Decimal("0.20"), Decimal("80000.00"))}
