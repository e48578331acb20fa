"""The live report shows a payment as soon as reporting's consumer has committed it, in every reporting process:
each process's shared answers are dropped when the change feed (PostgreSQL LISTEN/NOTIFY) says the client
company's read models changed, not when their second is over."""

import asyncio
import datetime as dt
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import text

from recaudo_common.events import ClientRegistered, PaymentApplied
from recaudo_common.runtime import Platform, build_app, make_platform
from recaudo_common.testing import settings_for_test
from reporting.main import build
from reporting.settings import ReportingSettings
from reporting.state import APP_STATE, ReportingState

from .conftest import deliver
from .test_hand_computed import placed

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 20, 15, 0, tzinfo=dt.UTC)
LIVE = "/v1/clients/banco/reports/recovery"


async def recovered(http: httpx.AsyncClient) -> Decimal:
    answer = await http.get(LIVE)
    assert answer.status_code == 200, answer.text
    return Decimal(answer.json()["totals"]["recovered"])


@pytest.fixture
async def platform(database_url: str) -> AsyncIterator[Platform]:
    platform = make_platform(settings_for_test(database_url), pool_size=4, clock=lambda: NOW)
    await deliver(platform, [
        ("banco", NOW - dt.timedelta(days=3), ClientRegistered(
            slug="banco", name="Banco", country="CO", currency="COP", timezone="America/Bogota", locale="es-CO",
            default_authorised_channels=["sms"])),
        ("banco", NOW - dt.timedelta(days=2), placed("F-1", "500000", "tarjeta"))], now=NOW)
    yield platform
    await platform.db.dispose()


def paid(amount: str, left: str) -> PaymentApplied:
    return PaymentApplied(payment_id=uuid.uuid4(), account_ref="F-1", amount=Decimal(amount), currency="COP",
                          paid_at=NOW - dt.timedelta(hours=1), source="gateway", new_balance=Decimal(left),
                          account_status="open")


async def until_recovered(http: httpx.AsyncClient, expected: str) -> None:
    deadline = time.monotonic() + 10
    while (seen := await recovered(http)) != Decimal(expected):
        assert time.monotonic() < deadline, f"the live report still says {seen}"
        await asyncio.sleep(0.1)  # within the report rate (20 a second)


async def process(stack: AsyncExitStack, platform: Platform, key: str) -> tuple[ReportingState, httpx.AsyncClient]:
    """A reporting process: its own shared answers and its own LISTEN connection. A shared answer's "second" lasts
    an hour here: only the change feed can have it computed again within the test (the old cache answered the
    stale figure all along)."""
    settings = ReportingSettings(database_url=platform.settings.database_url, environment="test")
    app = build_app(platform, [build(platform, settings)])
    state: ReportingState = getattr(app.state, APP_STATE)
    state.live_figures.ttl_s = 3600.0
    stack.push_async_callback(state.feed.close)
    http = await stack.enter_async_context(httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers={"Authorization": f"Bearer {key}"}))
    return state, http


async def test_a_payment_shows_at_once_in_every_process_long_before_the_answers_second_is_over(
        platform: Platform) -> None:
    _, key = await platform.keys.create(role="operator", now=NOW)
    async with AsyncExitStack() as stack:
        processes = [(await process(stack, platform, key))[1] for _ in range(2)]
        for http in processes:
            assert await recovered(http) == 0
            assert await recovered(http) == 0  # shared now

        # A payment through reporting's consumer, as a consumer in a third process would commit it.
        await deliver(platform, [("banco", NOW - dt.timedelta(hours=1), paid("120000.50", "379999.50"))], now=NOW)
        for http in processes:
            await until_recovered(http, "120000.50")


async def test_a_lost_listening_connection_is_made_again_and_what_it_missed_is_computed_again(
        platform: Platform) -> None:
    _, key = await platform.keys.create(role="operator", now=NOW)
    async with AsyncExitStack() as stack:
        state, http = await process(stack, platform, key)
        await deliver(platform, [("banco", NOW - dt.timedelta(hours=1), paid("1000", "499000"))], now=NOW)
        await until_recovered(http, "1000")  # listening
        async with platform.db.transaction() as s:  # the server drops the process's LISTEN connection
            await s.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE datname = current_database() AND query ILIKE 'LISTEN%'"))
        deadline = time.monotonic() + 10
        while state.feed.conn is not None and not state.feed.conn.is_closed():
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        # Its notice is lost: the payment shows once the process listens again (its next live report).
        await deliver(platform, [("banco", NOW - dt.timedelta(hours=1), paid("2000", "497000"))], now=NOW)
        await until_recovered(http, "3000")
