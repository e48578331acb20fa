"""Segmentation's composition root."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from recaudo_common.runtime import Platform, ServiceUnit, periodic
from segmentation import console_pages
from segmentation.api import router
from segmentation.consumers import SUBSCRIPTIONS
from segmentation.handlers import age_due_clients, resegment_requested
from segmentation.model_api import router as model_router
from segmentation.modelling import retrain_due_models, run_trainings, score_due_accounts
from segmentation.settings import SegmentationSettings
from segmentation.strategy_versions_api import router as versions_router
from segmentation.unplaced_words import forget_unplaced_words

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def build(platform: Platform) -> ServiceUnit:
    settings = SegmentationSettings()

    untrainable_until: dict[str, dt.datetime] = {}
    bound = dt.timedelta(seconds=settings.training_bound_s)  # a training running longer was abandoned
    retention = dt.timedelta(days=settings.unplaced_words_retention_days)

    async def age_retrain_resegment() -> None:
        """Ages each client company once per local day, trains its model weekly and when an operator asks, measures
        a bounded batch of its accounts (model and indicators), and re-segments after a strategy or cost change
        (each idempotent or claimed with SKIP LOCKED, so replicas may race harmlessly)."""
        await age_due_clients(platform.db, now=platform.clock())
        await retrain_due_models(platform.db, now=platform.clock(), not_before=untrainable_until, bound=bound)
        await run_trainings(platform.db, now=platform.clock(), bound=bound)
        await score_due_accounts(platform.db, now=platform.clock())
        await resegment_requested(platform.db, now=platform.clock())

    async def forget_words() -> bool:
        """The words kept for accounts whose placement never came, after the retention (unplaced_words)."""
        return await forget_unplaced_words(platform.db, now=platform.clock(), retention=retention)

    return ServiceUnit(
        name="segmentation", schema="segmentation", migrations=MIGRATIONS, settings=settings,
        routers=[router, model_router, versions_router, console_pages.router], subscriptions=SUBSCRIPTIONS,
        body_rules=console_pages.BODY_RULES,
        workers=[periodic(age_retrain_resegment, settings.resegment_poll_s),
                 periodic(forget_words, settings.unplaced_words_poll_s)],
        description="Segmentation: buckets, propensity, cost to collect, treatment.",
    )
