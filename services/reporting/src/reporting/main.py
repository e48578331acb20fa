"""Reporting's composition root."""

from __future__ import annotations

from pathlib import Path

from recaudo_common.personal_data import Vault
from recaudo_common.runtime import Platform, ServiceUnit, periodic
from reporting import api, dashboard
from reporting.consumers import subscriptions
from reporting.experiments import routes as experiments
from reporting.privacy import retention, routes
from reporting.settings import ReportingSettings
from reporting.state import APP_STATE, ReportingState

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def build(platform: Platform, settings: ReportingSettings | None = None) -> ServiceUnit:
    """Reporting on this platform, with its own settings from the environment (or those a test gives)."""
    settings = settings if settings is not None else ReportingSettings()
    # Once per process: the access route and the erasure saga share its key cache, so a shred here is seen at once.
    vault = Vault.from_settings(platform.settings)

    async def erase_expired() -> None:
        await retention.erase_expired(platform.db, now=platform.clock())

    return ServiceUnit(
        name="reporting", schema="reporting", migrations=MIGRATIONS, settings=settings,
        routers=[api.router, experiments.router, dashboard.router, dashboard.pages, routes.router],
        app_state={APP_STATE: ReportingState.of(settings, platform.settings.database_url), routes.VAULT: vault},
        subscriptions=subscriptions(vault), workers=[periodic(erase_expired, settings.retention_sweep_s)],
        description="Reporting: live recovery per client company; access, erasure and retention of personal data.",
    )
