"""A recall file's account.recalled events applied together (handlers.on_recalled_many: one statement for the run)
on a real PostgreSQL: each account recalled once, at its first recall, the others untouched."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import text

from recaudo_common.bus.base import Message
from recaudo_common.bus.consumer import ConsumerRuntime
from recaudo_common.events import AccountPlaced, AccountRecalled, ClientRegistered
from recaudo_common.runtime import Platform
from recaudo_common.testing_consumers import applied_together
from reporting.consumers import SUBSCRIPTIONS

from .conftest import deliver

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)


async def test_a_recall_file_recalls_its_accounts_together_once_each(platform_on_postgres: Platform) -> None:
    platform = platform_on_postgres
    client = ClientRegistered(slug="banco", name="Banco", country="CO", currency="COP", timezone="America/Bogota",
                              locale="es-CO", default_authorised_channels=["sms"])
    placed = [AccountPlaced(account_ref=f"K-{i}", portfolio_id=uuid.uuid4(), debtor_ref=None, personal=None,
                            has_phone=True, has_email=False, balance=Decimal("100000"), currency="COP",
                            days_past_due=30, as_of=NOW.date(), authorised_channels=["sms"]) for i in range(1, 5)]
    earlier = NOW - dt.timedelta(days=2)
    await deliver(platform, [("banco", NOW, client), *(("banco", NOW, p) for p in placed),
                             ("banco", earlier, AccountRecalled(account_ref="K-1", recalled_at=earlier))], now=NOW)
    runtime = ConsumerRuntime(platform.db, platform.transport, SUBSCRIPTIONS, "t", lambda: NOW)
    recalls = [AccountRecalled(account_ref=ref, recalled_at=NOW) for ref in ("K-1", "K-2", "K-3", "K-9")]
    messages = [Message(f"t.{r.family}", r.key("banco"), r.envelope(client="banco", occurred_at=NOW), {})
                for r in recalls]
    await applied_together(runtime, messages)
    async with platform.db.transaction() as s:
        recalled = dict((await s.execute(text(
            "SELECT account_ref, recalled_at FROM reporting.accounts ORDER BY account_ref"))).all())
    assert recalled == {"K-1": earlier, "K-2": NOW, "K-3": NOW, "K-4": None}  # K-1 keeps its first recall
