"""Outreach's composition root."""

from __future__ import annotations

import asyncio
from pathlib import Path

from outreach.api import build_router
from outreach.consumers import SUBSCRIPTIONS
from outreach.handlers import run_due_attempts
from outreach.providers import SandboxSms
from outreach.settings import OutreachSettings
from recaudo_common.runtime import Platform, ServiceUnit

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def build(platform: Platform) -> ServiceUnit:
    settings = OutreachSettings()
    provider = SandboxSms()

    async def scheduler(stop: asyncio.Event) -> None:
        while not stop.is_set():
            sent = await run_due_attempts(platform.db, provider, now=platform.clock(),
                                          limit=settings.scheduler_batch)
            if sent < settings.scheduler_batch:
                try:
                    await asyncio.wait_for(stop.wait(), settings.scheduler_poll_s)
                except TimeoutError:
                    pass

    return ServiceUnit(
        name="outreach", schema="outreach", migrations=MIGRATIONS, routers=[build_router(platform)],
        subscriptions=SUBSCRIPTIONS, workers=[scheduler],
        description="Outreach: contact scheduling under each country's contact law.",
    )
