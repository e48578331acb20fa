"""A registration waits for the services that keep a copy of client companies (client.ready), bounded: through
ingest's real HTTP API and PostgreSQL, with ingest's own handler of client.ready; a service that never answers is
named in `services_pending` once the wait is over, and one that answered is not waited for again."""

import time
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text

from ingest.clients.readiness import expected_services, on_client_ready
from ingest.main import build
from ingest.settings import IngestSettings
from recaudo_common.bus.consumer import HandlerContext
from recaudo_common.events import ClientReady
from recaudo_common.outbox import Outbox
from recaudo_common.runtime import Platform, build_app, make_platform
from recaudo_common.testing import settings_for_test

from .conftest import NOW

pytestmark = pytest.mark.integration
CLIENT = {"name": "Banco", "country": "CO", "currency": "COP", "timezone": "America/Bogota", "locale": "es-CO"}


@pytest.fixture
async def platform(database_url: str) -> AsyncIterator[Platform]:
    platform = make_platform(settings_for_test(database_url), pool_size=2, clock=lambda: NOW)
    yield platform
    await platform.db.dispose()


def operator(platform: Platform, settings: IngestSettings, key: str) -> httpx.AsyncClient:
    app = build_app(platform, [build(platform, settings)])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test",
                             headers={"Authorization": f"Bearer {key}"})


async def ready(platform: Platform, slug: str, service: str) -> None:
    """What ingest's consumer does with a service's client.ready."""
    event = ClientReady(slug=slug, service=service)
    async with platform.db.transaction() as s:
        await on_client_ready(event, HandlerContext(s, event.envelope(client=slug, occurred_at=NOW), NOW,
                                                    Outbox("ingest")))


async def test_a_service_that_never_answers_is_named_once_the_bounded_wait_is_over(platform: Platform) -> None:
    _, key = await platform.keys.create(role="operator", now=NOW)
    settings = IngestSettings(client_ready_services=["segmentation"], client_ready_wait_s=0.5)
    async with operator(platform, settings, key) as http:
        started = time.monotonic()
        created = await http.post("/v1/clients", json={"slug": "banco", **CLIENT})
        assert created.status_code == 201, created.text
        assert created.json()["services_pending"] == ["segmentation"]
        assert time.monotonic() - started < 5  # bounded, not held until the service comes
        await ready(platform, "banco", "segmentation")
        await ready(platform, "banco", "segmentation")  # a redelivery changes nothing
        async with platform.db.transaction() as s:
            rows = (await s.execute(text("SELECT slug, service FROM ingest.client_readiness"))).all()
        assert [tuple(r) for r in rows] == [("banco", "segmentation")]


async def test_unconfigured_it_waits_for_the_services_that_answered_before(
        platform: Platform) -> None:
    _, key = await platform.keys.create(role="operator", now=NOW)
    async with operator(platform, IngestSettings(client_ready_wait_s=0.2), key) as http:
        # Ingest alone, nothing heard yet: nothing to wait for.
        first = await http.post("/v1/clients", json={"slug": "uno", **CLIENT})
        assert first.json()["services_pending"] == []
        assert await expected_services(platform.db, None) == frozenset()
        await ready(platform, "uno", "outreach")
        await ready(platform, "uno", "not-a-keeper")  # recorded, never waited for
        assert await expected_services(platform.db, None) == {"outreach"}
        second = await http.post("/v1/clients", json={"slug": "dos", **CLIENT})
        assert second.json()["services_pending"] == ["outreach"]
        assert second.headers["location"] == "/v1/clients/dos"
    assert await expected_services(platform.db, ["payments"]) == {"payments"}
