"""The account view's best times, from outreach's announcements through reporting's real consumer runtime and
PostgreSQL: nothing before anything is learned; then its segment's best slot on each of its channels, said in
its `why`; a redelivered announcement changes nothing, an older one arriving late never replaces a newer, a newer
empty one (nothing learned any more) clears them. A sandbox's contact shows as simulated."""

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from recaudo_common.bus.base import Message
from recaudo_common.bus.consumer import ConsumerRuntime
from recaudo_common.events import (
    AccountPlaced,
    AccountSegmented,
    BestSlot,
    ClientRegistered,
    ContactAttempted,
    ContactBestTimesLearned,
    Envelope,
)
from recaudo_common.runtime import Platform, make_platform
from recaudo_common.testing import settings_for_test
from reporting.consumers import SUBSCRIPTIONS

from .conftest import deliver, reporting_client

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)
SEGMENT = "31-60/high"
WHY = "bucket 31-60; propensity 0.4"


def slot(channel: str, rank: int, dow: int, hour: int, label: str, rate: str, n: int,
         segment: str = SEGMENT) -> BestSlot:
    return BestSlot(segment=segment, channel=channel, rank=rank, dow=dow, hour=hour, label=label,
                    rate=Decimal(rate), n=n)


LEARNED = [slot("sms", 1, 1, 19, "martes 19h", "0.3100", 420), slot("sms", 2, 2, 19, "miércoles 19h", "0.2900", 400),
           slot("email", 1, 3, 8, "jueves 8h", "0.0525", 96), slot("voice", 1, 0, 10, "lunes 10h", "0.2000", 12),
           slot("sms", 1, 4, 9, "viernes 9h", "0.5000", 80, segment="1-30/low")]


@pytest.fixture
async def platform(database_url: str) -> AsyncIterator[Platform]:
    platform = make_platform(settings_for_test(database_url), pool_size=3, clock=lambda: NOW)
    await deliver(platform, [
        ("banco", NOW, ClientRegistered(slug="banco", name="Banco", country="CO", currency="COP",
                                        timezone="America/Bogota", locale="es-CO",
                                        default_authorised_channels=["sms", "email"])),
        ("banco", NOW, AccountPlaced(account_ref="A-1", portfolio_id=uuid.uuid4(), debtor_ref=None, personal=None,
                                     has_phone=True, has_email=True, balance=Decimal("1000000"), currency="COP",
                                     days_past_due=45, as_of=NOW.date(), authorised_channels=["sms", "email"])),
        ("banco", NOW, AccountSegmented(
            account_ref="A-1", days_past_due=45, bucket="31-60", bucket_at_placement="31-60", segment=SEGMENT,
            treatment="digital", channels=["sms", "email"], propensity=Decimal("0.4"), cost_to_collect=Decimal("1"),
            expected_net_recovery=Decimal("1"), strategy_version=1, strategy_arm="champion", model_version="m",
            why=WHY, trigger="placement"))], now=NOW)
    yield platform
    await platform.db.dispose()


async def view(platform: Platform) -> dict[str, Any]:
    _, key = await platform.keys.create(role="operator", now=NOW)
    async with reporting_client(platform, key) as http:
        answer = await http.get("/v1/clients/banco/accounts/A-1")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def handled(platform: Platform, envelope: Envelope) -> str:
    runtime = ConsumerRuntime(platform.db, platform.transport, SUBSCRIPTIONS, "t", lambda: NOW)
    [outcome] = await runtime.handle_batch([Message("t.contact", envelope.key, envelope, {})])
    return outcome


def announced(learned_at: dt.datetime, slots: list[BestSlot]) -> Envelope:
    return ContactBestTimesLearned(learned_at=learned_at, slots=slots).envelope(client="banco", occurred_at=learned_at)


async def test_the_account_view_shows_its_segments_best_time_on_its_channels(platform: Platform) -> None:
    before = await view(platform)
    assert (before["best_times"], before["why"]) == ([], WHY)  # nothing learned: the view as before

    first = announced(NOW, LEARNED)
    assert await handled(platform, first) == "processed"
    after = await view(platform)
    shown = [(b["channel"], b["label"], b["dow"], b["hour"], Decimal(b["rate"]), b["n"]) for b in after["best_times"]]
    assert shown == [
        ("sms", "martes 19h", 1, 19, Decimal("0.31"), 420), ("email", "jueves 8h", 3, 8, Decimal("0.0525"), 96)]
    assert after["best_times"][0]["learned_at"] == "2026-03-04T15:00:00Z"
    assert after["why"] == (f"{WHY}; mejor momento (sms): martes 19h, tasa 0.31, n=420; "
                            "mejor momento (email): jueves 8h, tasa 0.05, n=96")

    # The same announcement again (a redelivery): nothing changes.
    assert await handled(platform, first) == "duplicate"
    assert await view(platform) == after
    # A later relearning replaces every slot of the client company; an older one arriving late changes nothing.
    later = NOW + dt.timedelta(hours=1)
    assert await handled(platform, announced(later, [slot("sms", 1, 0, 18, "lunes 18h", "0.3300", 440)])) == (
        "processed")
    assert await handled(platform, announced(NOW - dt.timedelta(hours=1), LEARNED)) == "processed"
    replaced = await view(platform)
    assert [(b["channel"], b["label"]) for b in replaced["best_times"]] == [("sms", "lunes 18h")]
    assert replaced["why"] == f"{WHY}; mejor momento (sms): lunes 18h, tasa 0.33, n=440"
    async with platform.db.transaction() as s:
        assert await s.scalar(text("SELECT count(*) FROM reporting.best_times WHERE client_slug = 'banco'")) == 1
    # Nothing learned any more (outreach forgot them): the view as before.
    assert await handled(platform, announced(later + dt.timedelta(hours=1), [])) == "processed"
    cleared = await view(platform)
    assert (cleared["best_times"], cleared["why"]) == ([], WHY)


async def test_a_sandbox_contact_shows_as_simulated(platform: Platform) -> None:
    sandbox, real = uuid.uuid4(), uuid.uuid4()
    await deliver(platform, [
        ("banco", NOW, ContactAttempted(attempt_id=real, account_ref="A-1", channel="sms", provider="twilio",
                                        attempted_at=NOW, cost=Decimal("16"))),
        ("banco", NOW, ContactAttempted(attempt_id=sandbox, account_ref="A-1", channel="email", provider="sandbox",
                                        attempted_at=NOW + dt.timedelta(minutes=1), cost=Decimal("0"),
                                        simulated=True))], now=NOW)
    contacts = (await view(platform))["last_contacts"]
    assert [(c["channel"], c["simulated"]) for c in contacts] == [("email", True), ("sms", False)]
