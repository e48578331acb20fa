"""The recovery report's contact cost and cost ratio from a client company's own cost table (#22), to the cent,
through reporting's consumer runtime, PostgreSQL and its API: each contact made (attempted, or logged by an agent
with its outcome) costs the table's price for its channel, whatever its provider reported; the sandbox's and a
receipt without its attempt cost nothing; a channel the table does not price keeps its provider's cost."""

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from recaudo_common.events import (
    AccountPlaced,
    AccountSegmented,
    ClientRegistered,
    ClientUpdated,
    ContactAttempted,
    ContactDelivered,
    ContactFailed,
    ContactLogged,
    Event,
    PaymentApplied,
)
from recaudo_common.runtime import Platform, make_platform
from recaudo_common.testing import settings_for_test

from .conftest import deliver, reporting_client

pytestmark = pytest.mark.integration
UTC = dt.UTC
MARCH = {"from": "2026-03-01T00:00:00-05:00", "to": "2026-04-01T00:00:00-05:00"}
SETTINGS: dict[str, Any] = {"slug": "banco", "name": "Banco", "country": "CO", "currency": "COP",
                            "timezone": "America/Bogota", "locale": "es-CO", "default_authorised_channels": ["sms"]}
TABLE = {"sms": Decimal("45.50"), "whatsapp": Decimal("60.00"), "email": Decimal("5.25"), "voice": Decimal("350.00"),
         "agent": Decimal("2800.00")}


def at(day: int, hour: int = 15) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, tzinfo=UTC)


def attempted(ref: str, channel: str, cost: str, when: dt.datetime, attempt: uuid.UUID | None = None,
              simulated: bool = False) -> ContactAttempted:
    return ContactAttempted(attempt_id=attempt or uuid.uuid4(), account_ref=ref, channel=channel,
                            provider="twilio", attempted_at=when, cost=Decimal(cost), simulated=simulated)


AGENT_CALL, FAILED_EMAIL = uuid.uuid4(), uuid.uuid4()
STORY: list[tuple[dt.datetime, Event]] = [
    (at(1), ClientRegistered(**SETTINGS)),
    (at(2), AccountPlaced(account_ref="A-1", portfolio_id=uuid.uuid4(), debtor_ref=None, personal=None,
                          has_phone=True, has_email=True, product="tarjeta", balance=Decimal("5000000"),
                          currency="COP", days_past_due=20, as_of=dt.date(2026, 3, 2), authorised_channels=["sms"])),
    (at(2, 16), AccountSegmented(
        account_ref="A-1", days_past_due=20, bucket="1-30", bucket_at_placement="1-30", segment="1-30/high",
        treatment="digital", channels=["sms"], propensity=Decimal("0.3"), cost_to_collect=Decimal("1000"),
        expected_net_recovery=Decimal("1"), strategy_version=1, strategy_arm="champion", model_version="m",
        why="w", trigger="placement")),
    (at(3), attempted("A-1", "sms", "16000", at(3))),  # 45.50 with the table
    (at(3, 16), attempted("A-1", "sms", "32000", at(3, 16))),  # two parts: still one contact, 45.50
    (at(3, 17), attempted("A-1", "sms", "16000", at(3, 17), simulated=True)),  # the sandbox's: nothing
    (at(4), attempted("A-1", "whatsapp", "9000", at(4))),  # 60.00
    (at(4, 16), attempted("A-1", "email", "8000", at(4, 16), FAILED_EMAIL)),  # failed, but made: 5.25
    (at(4, 16), ContactFailed(attempt_id=FAILED_EMAIL, account_ref="A-1", channel="email", failed_at=at(4, 16),
                              reason="bounced")),
    # The agent desk's call and the outcome its agent logged are one contact: 2,800.00 once.
    (at(5), attempted("A-1", "agent", "0", at(5), AGENT_CALL)),
    (at(5, 16), ContactLogged(contact_id=AGENT_CALL, account_ref="A-1", channel="agent", contacted_at=at(5, 16),
                              outcome="right_party")),
    (at(6), ContactLogged(contact_id=uuid.uuid4(), account_ref="A-1", channel="voice", contacted_at=at(6),
                          outcome="no_answer")),  # a call an agent made outside Recaudo: 350.00
    (at(6, 16), ContactDelivered(attempt_id=uuid.uuid4(), account_ref="A-1", channel="sms",
                                 delivered_at=at(6, 16))),  # a receipt whose attempt has not arrived: nothing yet
    (at(7), attempted("A-1", "letter", "1200", at(7))),  # no price in the table: its provider's 1,200
    (at(9), PaymentApplied(payment_id=uuid.uuid4(), account_ref="A-1", amount=Decimal("1234567.89"),
                           currency="COP", paid_at=at(9), source="gateway", new_balance=Decimal("3765432.11"),
                           account_status="open")),
]
WITH_TABLE = Decimal("4506.25")  # 45.50 × 2 + 60.00 + 5.25 + 2,800.00 + 350.00 + 1,200 (letter)


@pytest.fixture
async def platform(database_url: str) -> AsyncIterator[Platform]:
    now = dt.datetime(2026, 4, 2, tzinfo=UTC)
    p: Platform = make_platform(settings_for_test(database_url), pool_size=3, clock=lambda: now)
    await deliver(p, (("banco", occurred, event) for occurred, event in STORY), now=now)
    yield p
    await p.db.dispose()


async def test_cost_ratio_from_the_client_companys_own_table_to_the_cent(platform: Platform) -> None:
    now = platform.clock()
    _, key = await platform.keys.create(role="client", client_slug="banco", now=now)
    async with reporting_client(platform, key) as http:
        async def report(group_by: str | None = None) -> dict[str, Any]:
            params = {**MARCH, **({"group_by": group_by} if group_by else {})}
            answer = await http.get("/v1/clients/banco/reports/recovery", params=params)
            assert answer.status_code == 200, answer.text
            return dict(answer.json())

        before = (await report())["totals"]
        # No table yet: what the providers reported (16,000 + 32,000 + 9,000 + 8,000 + 0 + 1,200).
        assert (Decimal(before["contact_cost"]), before["cost_ratio"]) == (Decimal("66200"), 0.053622)

        await deliver(platform, [("banco", at(20), ClientUpdated(**SETTINGS, cost_table=TABLE))], now=now)
        totals = (await report())["totals"]
        assert Decimal(totals["contact_cost"]) == WITH_TABLE
        assert Decimal(totals["recovered"]) == Decimal("1234567.89")
        assert totals["cost_ratio"] == 0.00365  # 4,506.25 ÷ 1,234,567.89 = 0.0036500..., to 6 decimals
        assert totals["attempts"] == 6  # the agent's logged voice call is a contact made, not an attempt
        by_channel = {g["key"]: Decimal(g["contact_cost"]) for g in (await report("channel"))["groups"]}
        assert by_channel == {"sms": Decimal("91.00"), "whatsapp": Decimal("60.00"), "email": Decimal("5.25"),
                              "agent": Decimal("2800.00"), "voice": Decimal("350.00"), "letter": Decimal("1200")}

        # An older client.updated (no table then) arriving late does not take the table away.
        await deliver(platform, [("banco", at(10), ClientUpdated(**SETTINGS))], now=now)
        assert Decimal((await report())["totals"]["contact_cost"]) == WITH_TABLE
