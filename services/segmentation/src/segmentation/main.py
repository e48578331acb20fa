"""Segmentation's composition root."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from recaudo_common.runtime import Platform, ServiceUnit, periodic
from segmentation.api import router
from segmentation.consumers import SUBSCRIPTIONS
from segmentation.handlers import age_due_clients, resegment_requested, retrain_due_models
from segmentation.settings import SegmentationSettings

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def build(platform: Platform) -> ServiceUnit:
    settings = SegmentationSettings()

    untrainable_until: dict[str, dt.datetime] = {}

    async def age_retrain_resegment() -> None:
        """Ages each client company once per local day and re-segments after a strategy or cost change
        (both idempotent, so replicas may race harmlessly)."""
        await age_due_clients(platform.db, now=platform.clock())
        await retrain_due_models(platform.db, now=platform.clock(), not_before=untrainable_until)
        await resegment_requested(platform.db, now=platform.clock())

    return ServiceUnit(
        name="segmentation", schema="segmentation", migrations=MIGRATIONS, settings=settings,
        routers=[router], subscriptions=SUBSCRIPTIONS,
        workers=[periodic(age_retrain_resegment, settings.resegment_poll_s)],
        description="Segmentation: buckets, propensity, cost to collect, treatment.",
    )
