"""Service units run together in one process, as `recaudo serve` runs them, for tests that follow an account across
services: a platform on a standing clock, and the units' app behind an operator's key with their consumers, relays
and workers running until the test's block ends."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator

import httpx

from recaudo_common.runtime import Platform, ServiceUnit, background_tasks, build_app, make_platform
from recaudo_common.testing import settings_for_test


@contextlib.asynccontextmanager
async def platform_at(database_url: str, now: dt.datetime, *, kafka_bootstrap: str | None = None,
                      pool_size: int = 10) -> AsyncIterator[Platform]:
    """A started platform on the test's database whose clock stands at `now`: on the embedded log, or on the
    Kafka broker at `kafka_bootstrap`."""
    settings = (settings_for_test(database_url) if kafka_bootstrap is None else
                settings_for_test(database_url, transport="kafka", kafka_bootstrap=kafka_bootstrap))
    platform = make_platform(settings, pool_size=pool_size, clock=lambda: now)
    await platform.transport.start()
    try:
        yield platform
    finally:
        await platform.transport.stop()
        await platform.db.dispose()


@contextlib.asynccontextmanager
async def served_together(platform: Platform, units: list[ServiceUnit], *,
                          now: dt.datetime) -> AsyncIterator[httpx.AsyncClient]:
    """The units' app, as an operator calls it, while their background tasks run; they stop when the block ends,
    whether it ends well or not."""
    app = build_app(platform, units)
    _, key = await platform.keys.create(role="operator", now=now)
    stop = asyncio.Event()
    tasks = [asyncio.ensure_future(task(stop)) for task in background_tasks(platform, units, stop)]
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test",
                                     headers={"Authorization": f"Bearer {key}"}) as http:
            yield http
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
