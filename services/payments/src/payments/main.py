"""Payments' composition root."""

from __future__ import annotations

import asyncio
from pathlib import Path

from payments.api import APP_STATE, PaymentsState, router
from payments.consumers import SUBSCRIPTIONS
from payments.handlers import evaluate_due_promises
from payments.settings import PaymentsSettings
from recaudo_common.gate import PROVIDER_NOTIFICATIONS, BodyRule
from recaudo_common.runtime import Platform, ServiceUnit

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def build(platform: Platform, settings: PaymentsSettings | None = None) -> ServiceUnit:
    """Payments on this platform, with its own settings from the environment (or those a test gives)."""
    settings = settings if settings is not None else PaymentsSettings()

    async def promise_evaluator(stop: asyncio.Event) -> None:
        """Breaks the promises whose grace day has passed without payment (kept ones are decided on payment)."""
        while not stop.is_set():
            await evaluate_due_promises(platform.db, now=platform.clock())
            try:
                await asyncio.wait_for(stop.wait(), settings.promise_poll_s)
            except TimeoutError:
                pass

    return ServiceUnit(
        name="payments", schema="payments", migrations=MIGRATIONS, settings=settings,
        routers=[router], app_state={APP_STATE: PaymentsState(settings)},
        subscriptions=SUBSCRIPTIONS, workers=[promise_evaluator],
        body_rules=[PROVIDER_NOTIFICATIONS,
                    BodyRule(r"/v1/clients/[^/]+/payments/files", "key", settings.max_bank_file_bytes)],
        description="Payments: the ledger, matching, suspense, reversals and promises.",
    )
