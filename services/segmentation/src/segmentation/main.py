"""Segmentation's composition root."""

from __future__ import annotations

from pathlib import Path

from recaudo_common.runtime import Platform, ServiceUnit
from segmentation.api import build_router
from segmentation.consumers import SUBSCRIPTIONS

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def build(platform: Platform) -> ServiceUnit:
    return ServiceUnit(
        name="segmentation", schema="segmentation", migrations=MIGRATIONS,
        routers=[build_router(platform)], subscriptions=SUBSCRIPTIONS,
        description="Segmentation: buckets, propensity, cost to collect, treatment.",
    )
