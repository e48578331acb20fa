"""Outreach's composition root: providers and the debtor page's gateway from settings, the scheduler worker, the
bounce receiver when configured, and every feature's routes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from outreach.agent_desk.call_routes import router as agent_desk_calls
from outreach.agent_desk.console import router as agent_desk_console
from outreach.agent_desk.routes import router as agent_desk
from outreach.best_time.handlers import relearning
from outreach.best_time.routes import router as best_times
from outreach.consent.routes import router as consent
from outreach.consumers import subscriptions
from outreach.contact_history.routes import router as contact_history
from outreach.debtor_page.routes import router as debtor_page
from outreach.edge import APP_STATE, OutreachState
from outreach.providers import Providers, SandboxGateway
from outreach.receipts.handlers import expire_early_receipts
from outreach.receipts.routes import router as receipts
from outreach.sending.handlers import reconcile_expired, run_due_attempts
from outreach.sending.routes import router as sending
from outreach.sending.whatsapp_answers import send_answers
from outreach.settings import OutreachSettings
from outreach.settings_console.console import router as settings_console
from outreach.store import due_backlog
from outreach.templates.routes import router as templates
from outreach.unsubscribe.receiver import BounceReceiver
from outreach.unsubscribe.routes import router as unsubscribe
from outreach.whatsapp.routes import router as whatsapp
from recaudo_common.gate import PROVIDER_NOTIFICATIONS, public_form
from recaudo_common.personal_data import Vault
from recaudo_common.runtime import Platform, ServiceUnit, periodic
from recaudo_common.telemetry import SCHEDULER_BACKLOG

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def build(platform: Platform, settings: OutreachSettings | None = None) -> ServiceUnit:
    """Outreach on this platform, with its own settings from the environment (or those a test gives)."""
    settings = settings if settings is not None else OutreachSettings()
    state = OutreachState(settings, Providers(platform.db, settings), SandboxGateway(settings))
    vault = Vault.from_settings(platform.settings)  # once per process: its key cache is shared by every batch
    swept_at: dt.datetime | None = None
    measured_at: dt.datetime | None = None

    async def schedule() -> bool:
        """One pass of the scheduler; True when a full batch was claimed (more are waiting)."""
        nonlocal swept_at, measured_at
        if swept_at is None or platform.clock() - swept_at > dt.timedelta(hours=1):
            await expire_early_receipts(platform.db, settings, now=platform.clock())
            swept_at = platform.clock()
        claimed = await run_due_attempts(platform.db, state.providers, settings, now=platform.clock(),
                                         limit=settings.scheduler_batch)
        await send_answers(platform.db, state.providers, settings, now=platform.clock())
        await reconcile_expired(platform.db, state.providers, settings, now=platform.clock())
        # Counting the due attempts reads every one of them (300 ms at a million scheduled): every few
        # seconds is enough for the gauge, and each batch of sends is not held up by it.
        if measured_at is None or platform.clock() - measured_at > dt.timedelta(seconds=5):
            async with platform.db.transaction() as s:
                SCHEDULER_BACKLOG.labels("outreach").set(await due_backlog(s, platform.clock()))
            measured_at = platform.clock()
        return claimed >= settings.scheduler_batch

    # The bounce receiver, when the settings give it a port and the bounce addresses: an SMTP server run by the
    # workers, opened when the service starts and closed when it stops.
    receivers = [BounceReceiver(platform.db, settings, platform.clock)] if settings.bounce_receiver_on else []

    return ServiceUnit(
        name="outreach", schema="outreach", migrations=MIGRATIONS, settings=settings,
        routers=[consent, contact_history, agent_desk, agent_desk_calls, templates, receipts, sending,
                 debtor_page, best_times, unsubscribe, whatsapp, agent_desk_console, settings_console],
        app_state={APP_STATE: state},
        subscriptions=subscriptions(vault), workers=[periodic(schedule, settings.scheduler_poll_s),
                                                       relearning(platform.db, settings, platform.clock),
                                                       *(r.run for r in receivers)],
        body_rules=[PROVIDER_NOTIFICATIONS, public_form(r"/pay/.*"), public_form(r"/u/[^/]+")],
        description="Outreach: contact scheduling under each country's contact law.",
    )
