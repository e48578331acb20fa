"""Arrangements a debtor accepts on the debtor page (arrangement.requested, from outreach) are made under the
same rules as an operator's, or declined with the reason, never silently dropped."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from recaudo_common.bus.base import Message
from recaudo_common.bus.consumer import ConsumerRuntime
from recaudo_common.events import ArrangementRequested, ClientRegistered, Event, Instalment
from recaudo_common.runtime import make_platform
from recaudo_common.testing import settings_for_test

from .conftest import consumer, placed

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)


def request(amount: str) -> ArrangementRequested:
    return ArrangementRequested(request_id=uuid.uuid4(), account_ref="A-1", kind="settlement",
                                instalments=[Instalment(due_date=dt.date(2026, 3, 14), amount=Decimal(amount))],
                                requested_at=NOW)


async def test_a_debtors_request_is_made_or_declined_with_its_reason(database_url: str) -> None:
    platform = make_platform(settings_for_test(database_url), pool_size=3, clock=lambda: NOW)
    runtime = ConsumerRuntime(platform.db, platform.transport, consumer(platform), "t", lambda: NOW)

    async def deliver(*events: Event) -> None:
        batch = [Message("t", "banco:A-1", e.envelope(client="banco", occurred_at=NOW), {}) for e in events]
        for message in batch:
            assert await runtime.handle_batch([message]) == ["processed"]

    await deliver(ClientRegistered(slug="banco", name="Banco", country="CO", currency="COP", timezone="America/Bogota",
                                   locale="es-CO", default_authorised_channels=["sms"], max_discount_pct=Decimal(30)),
                  await placed(platform, "A-1", "1000000", debtor_id="1"))
    too_cheap, accepted, second = request("500000.00"), request("800000.00"), request("800000.00")
    await deliver(too_cheap, accepted, second)
    from sqlalchemy import text

    async with platform.db.transaction() as s:
        answers = (await s.execute(text(
            "SELECT envelope->>'type', envelope->'payload' FROM payments.outbox "
            "WHERE envelope->>'type' LIKE 'arrangement.%' ORDER BY id"))).all()
    await platform.db.dispose()
    assert [a[0] for a in answers] == ["arrangement.declined", "arrangement.made", "arrangement.declined"]
    assert answers[0][1]["request_id"] == str(too_cheap.request_id) and "discount limit" in answers[0][1]["reason"]
    assert answers[1][1]["request_id"] == str(accepted.request_id) and answers[1][1]["source"] == "debtor_page"
    assert "active arrangement" in answers[2][1]["reason"]
