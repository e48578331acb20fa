"""Outreach's composition root: providers from settings, the scheduler worker, the API and the debtor page."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from outreach.api import build_debtor_page, build_router
from outreach.consumers import SUBSCRIPTIONS
from outreach.handlers import expire_early_receipts
from outreach.providers import Providers, SandboxGateway
from outreach.sending.handlers import reconcile_expired, run_due_attempts
from outreach.sending import routes as sending_routes
from outreach.settings import OutreachSettings
from outreach.store import due_backlog
from recaudo_common.gate import PROVIDER_NOTIFICATIONS, public_form
from recaudo_common.runtime import Platform, ServiceUnit
from recaudo_common.telemetry import SCHEDULER_BACKLOG

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def build(platform: Platform) -> ServiceUnit:
    settings = OutreachSettings()
    providers = Providers(platform.db, settings)
    gateway = SandboxGateway(settings)

    async def scheduler(stop: asyncio.Event) -> None:
        swept_at = measured_at = None
        while not stop.is_set():
            if swept_at is None or platform.clock() - swept_at > dt.timedelta(hours=1):
                await expire_early_receipts(platform.db, settings, now=platform.clock())
                swept_at = platform.clock()
            claimed = await run_due_attempts(platform.db, providers, settings, now=platform.clock(),
                                             limit=settings.scheduler_batch)
            await reconcile_expired(platform.db, providers, settings, now=platform.clock())
            # Counting the due attempts reads every one of them (300 ms at a million scheduled): every few
            # seconds is enough for the gauge, and each batch of sends is not held up by it.
            if measured_at is None or platform.clock() - measured_at > dt.timedelta(seconds=5):
                async with platform.db.transaction() as s:
                    SCHEDULER_BACKLOG.labels("outreach").set(await due_backlog(s, platform.clock()))
                measured_at = platform.clock()
            if claimed < settings.scheduler_batch:
                try:
                    await asyncio.wait_for(stop.wait(), settings.scheduler_poll_s)
                except TimeoutError:
                    pass

    return ServiceUnit(
        name="outreach", schema="outreach", migrations=MIGRATIONS, settings=settings,
        routers=[build_router(platform, providers, settings, gateway), build_debtor_page(platform, settings, gateway),
                 sending_routes.router],
        subscriptions=SUBSCRIPTIONS, workers=[scheduler],
        body_rules=[PROVIDER_NOTIFICATIONS, public_form(r"/pay/.*")],
        description="Outreach: contact scheduling under each country's contact law.",
    )
