"""An account's status by the one rule (recaudo_common.accounts) in payments: a recalled account takes no new
arrangement, whichever way it is asked for (a debtor's request from the page is declined with the reason)."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import text

from recaudo_common.bus.base import Message
from recaudo_common.bus.consumer import ConsumerRuntime
from recaudo_common.events import (
    AccountRecalled,
    ArrangementRequested,
    ClientRegistered,
    Event,
    Instalment,
)
from recaudo_common.runtime import make_platform
from recaudo_common.testing import settings_for_test

from .conftest import consumer, placed

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)


def request(ref: str) -> ArrangementRequested:
    return ArrangementRequested(request_id=uuid.uuid4(), account_ref=ref, kind="settlement",
                                instalments=[Instalment(due_date=dt.date(2026, 3, 14), amount=Decimal("900000.00"))],
                                requested_at=NOW)


async def test_a_recalled_account_takes_no_arrangement(database_url: str) -> None:
    platform = make_platform(settings_for_test(database_url), pool_size=3, clock=lambda: NOW)
    runtime = ConsumerRuntime(platform.db, platform.transport, consumer(platform), "t", lambda: NOW)

    async def deliver(*events: Event) -> None:
        for e in events:
            message = Message("t", e.key("banco"), e.envelope(client="banco", occurred_at=NOW), {})
            assert await runtime.handle_batch([message]) == ["processed"]

    await deliver(ClientRegistered(slug="banco", name="Banco", country="CO", currency="COP", timezone="America/Bogota",
                                   locale="es-CO", default_authorised_channels=["sms"]),
                  await placed(platform, "K-1", "1000000", "1"), await placed(platform, "K-2", "1000000", "1"), AccountRecalled(account_ref="K-1", recalled_at=NOW))
    recalled, still_ours = request("K-1"), request("K-2")
    await deliver(recalled, still_ours)
    async with platform.db.transaction() as s:
        answers = {r[0]: (r[1], r[2]) for r in (await s.execute(text(
            "SELECT envelope->'payload'->>'account_ref', envelope->>'type', envelope->'payload'->>'reason' "
            "FROM payments.outbox WHERE envelope->>'type' LIKE 'arrangement.%'"))).all()}
    await platform.db.dispose()
    assert answers == {"K-1": ("arrangement.declined", "the account is recalled"), "K-2": ("arrangement.made", None)}
