"""Reporting's composition root."""

from __future__ import annotations

from pathlib import Path

from recaudo_common.runtime import Platform, ServiceUnit
from reporting import api, dashboard
from reporting.consumers import SUBSCRIPTIONS
from reporting.settings import ReportingSettings
from reporting.state import APP_STATE, ReportingState

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def build(platform: Platform, settings: ReportingSettings | None = None) -> ServiceUnit:
    """Reporting on this platform, with its own settings from the environment (or those a test gives)."""
    settings = settings if settings is not None else ReportingSettings()
    return ServiceUnit(
        name="reporting", schema="reporting", migrations=MIGRATIONS, settings=settings,
        routers=[api.router, dashboard.router, dashboard.pages],
        app_state={APP_STATE: ReportingState.of(settings, platform.settings.database_url)},
        subscriptions=SUBSCRIPTIONS, description="Reporting: live recovery per client company.",
    )
