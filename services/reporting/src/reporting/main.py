"""Reporting's composition root."""

from __future__ import annotations

from pathlib import Path

from recaudo_common.ratelimit import Rate
from recaudo_common.runtime import Platform, ServiceUnit
from reporting.api import build_dashboard, build_router
from reporting.consumers import SUBSCRIPTIONS
from reporting.settings import ReportingSettings

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def build(platform: Platform) -> ServiceUnit:
    settings = ReportingSettings()
    return ServiceUnit(
        name="reporting", schema="reporting", migrations=MIGRATIONS,
        routers=[build_router(platform, report_rate=Rate(settings.report_rate_per_s, settings.report_burst)),
                 build_dashboard()],
        subscriptions=SUBSCRIPTIONS, description="Reporting: live recovery per client company.",
    )
