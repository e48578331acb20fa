"""Reporting's composition root."""

from __future__ import annotations

from pathlib import Path

from recaudo_common.runtime import Platform, ServiceUnit
from reporting.api import build_dashboard, build_router
from reporting.consumers import SUBSCRIPTIONS

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def build(platform: Platform) -> ServiceUnit:
    return ServiceUnit(
        name="reporting", schema="reporting", migrations=MIGRATIONS,
        routers=[build_router(platform), build_dashboard()],
        subscriptions=SUBSCRIPTIONS, description="Reporting: live recovery per client company.",
    )
