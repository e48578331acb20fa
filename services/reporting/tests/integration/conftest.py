"""What reporting's integration tests share: a story of events through reporting's real consumer runtime, and a
client of the app the runtime builds."""

import datetime as dt
from collections.abc import Iterable

import httpx

from recaudo_common.bus.base import Message
from recaudo_common.bus.consumer import ConsumerRuntime
from recaudo_common.events import Event
from recaudo_common.runtime import Platform, build_app
from reporting.consumers import SUBSCRIPTIONS
from reporting.main import build
from reporting.settings import ReportingSettings


async def deliver(platform: Platform, story: Iterable[tuple[str, dt.datetime, Event]], *, now: dt.datetime) -> None:
    """Each (client company, when it happened, event) handled by reporting's consumer, in order, one at a time."""
    runtime = ConsumerRuntime(platform.db, platform.transport, SUBSCRIPTIONS, "t", lambda: now)
    for client, occurred, event in story:
        envelope = event.envelope(client=client, occurred_at=occurred)
        assert await runtime.handle_batch([Message(f"t.{event.family}", event.key(client), envelope, {})]) == [
            "processed"]


def reporting_client(platform: Platform, key: str, settings: ReportingSettings | None = None) -> httpx.AsyncClient:
    """An HTTP client of reporting as the runtime wires it (these settings, or the environment's), with this key."""
    app = build_app(platform, [build(platform, settings)])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test",
                             headers={"Authorization": f"Bearer {key}"})
