"""Payments' composition root."""

from __future__ import annotations

from pathlib import Path

from payments.api import build_router
from payments.consumers import SUBSCRIPTIONS
from payments.settings import PaymentsSettings
from recaudo_common.runtime import Platform, ServiceUnit

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def build(platform: Platform) -> ServiceUnit:
    return ServiceUnit(
        name="payments", schema="payments", migrations=MIGRATIONS, routers=[build_router(platform, PaymentsSettings())],
        subscriptions=SUBSCRIPTIONS, description="Payments: the ledger, matching and suspense.",
    )
