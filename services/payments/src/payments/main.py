"""Payments' composition root."""

from __future__ import annotations

from pathlib import Path

from payments import console_pages
from payments.api import APP_STATE, PaymentsState, router
from payments.checkouts.following import EXPIRY_BATCH, expire_overdue
from payments.checkouts.routes import pages as checkout_pages
from payments.checkouts.routes import router as checkouts_router
from payments.consumers import subscriptions
from payments.gateways.handlers import ACCOUNT_TTL_S, AccountsByWebhook
from payments.gateways.routes import router as gateways_router
from payments.gateways.together import GatewaysTogether
from payments.promises.handlers import evaluate_due_promises
from payments.reconciliation.handlers import reconcile_yesterday
from payments.reconciliation.routes import router as reconciliation_router
from payments.settings import PaymentsSettings
from payments.webhooks_together import WebhooksTogether
from payments.write_offs.routes import router as write_offs_router
from payments.write_offs.strategy import BATCH as WRITE_OFF_BATCH
from payments.write_offs.strategy import write_off_due
from recaudo_common.gate import PROVIDER_NOTIFICATIONS, keyed_file, public_form
from recaudo_common.personal_data import MasterKeyring, Vault
from recaudo_common.runtime import Platform, ServiceUnit, periodic

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def build(platform: Platform, settings: PaymentsSettings | None = None) -> ServiceUnit:
    """Payments on this platform, with its own settings from the environment (or those a test gives)."""
    settings = settings if settings is not None else PaymentsSettings()
    vault = Vault.from_settings(platform.settings)  # once per process: its key cache is shared by every batch

    async def expire_checkouts() -> None:
        """Marks expired the checkouts never paid past their time (published, so the debtor page and messages
        stop offering them)."""
        while await expire_overdue(platform.db, now=platform.clock()) == EXPIRY_BATCH:
            pass

    async def write_off_not_pursued() -> None:
        """Writes off what the strategy does not pursue once the client company's rules say so, a batch at a time."""
        while await write_off_due(platform.db, now=platform.clock()) == WRITE_OFF_BATCH:
            pass

    async def evaluate_promises() -> None:
        """Breaks the promises whose grace day has passed without payment (kept ones are decided on payment)."""
        await evaluate_due_promises(platform.db, now=platform.clock())

    async def reconcile_gateways() -> None:
        """Yesterday's reconciliation of every gateway account not reconciled yet (a failed one again)."""
        await reconcile_yesterday(platform.db, settings, MasterKeyring.of_settings(settings), now=platform.clock())

    return ServiceUnit(
        name="payments", schema="payments", migrations=MIGRATIONS, settings=settings,
        routers=[router, gateways_router, checkouts_router, checkout_pages, reconciliation_router, write_offs_router,
                 console_pages.router],
        app_state={APP_STATE: PaymentsState(
            settings, vault, WebhooksTogether(platform.db, vault, link_secret=platform.settings.link_secret),
            GatewaysTogether(platform.db, link_secret=platform.settings.link_secret),
            AccountsByWebhook(ACCOUNT_TTL_S))},
        subscriptions=subscriptions(vault), workers=[periodic(evaluate_promises, settings.promise_poll_s),
                                                  periodic(expire_checkouts, settings.checkout_expiry_poll_s),
                                                  periodic(reconcile_gateways, settings.reconciliation_poll_s),
                                                  periodic(write_off_not_pursued, settings.write_off_poll_s)],
        body_rules=[PROVIDER_NOTIFICATIONS, public_form(r"/checkout/[^/]+"),
                    keyed_file(r"/v1/clients/[^/]+/payments/files", settings.max_bank_file_bytes)],
        description="Payments: the ledger, matching, suspense, reversals and promises.",
    )
