"""Ingest's composition root: the only place that builds its concrete adapters."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from ingest import console_pages
from ingest.account_search import console as account_pages
from ingest.api import router
from ingest.bulk_pace import BulkPace, Downstream
from ingest.clients.store import get_client
from ingest.consumers import subscriptions
from ingest.privacy.handlers import announce_pseudonyms, expire_raw_cells, give_every_account_a_person
from ingest.settings import IngestSettings
from ingest.upload_worker import UploadWorker
from ingest.uploads_runtime import APP_STATE, VAULT, IngestRuntime
from recaudo_common.console import identity_unit
from recaudo_common.events import AccountPlaced, ContactAttempted, group_id, topic_name
from recaudo_common.gate import keyed_file
from recaudo_common.identity_api import CLIENT_FINDER
from recaudo_common.personal_data import Vault
from recaudo_common.runtime import Platform, ServiceUnit, periodic

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def build(platform: Platform, settings: IngestSettings | None = None) -> ServiceUnit:
    settings = settings or IngestSettings()
    runtime = IngestRuntime.of(settings)  # once per app: its routes read it from app.state
    limits = runtime.file_limits
    vault = Vault.from_settings(platform.settings)  # once per process: its key cache is shared by every batch
    retention = dt.timedelta(days=settings.rejected_rows_retention_days)

    prefix = platform.settings.topic_prefix
    pace = BulkPace(platform.db, platform.transport, topic_name(prefix, AccountPlaced.family),
                    [group_id(prefix, reader) for reader in settings.bulk_readers or ()],
                    backlog=settings.bulk_backlog, after_rows=settings.bulk_after_rows,
                    batch_rows=settings.batch_rows,
                    downstream=[Downstream(topic_name(prefix, ContactAttempted.family),
                                           [group_id(prefix, reader) for reader in settings.bulk_contact_readers or ()],
                                           settings.bulk_contact_backlog)])
    uploads = UploadWorker(platform.db, clock=platform.clock, vault=vault, limits=limits,
                           max_attempts=settings.max_upload_attempts, max_in_progress=settings.max_uploads_in_progress,
                           poll_s=settings.upload_poll_s, pace=pace)

    async def backfill(stop: asyncio.Event) -> None:
        """Once per start: accounts placed before pseudonyms get their debtor's, then have it announced to the
        services that hold their copies (none left after the first)."""
        await give_every_account_a_person(platform.db, vault, clock=platform.clock)
        await announce_pseudonyms(platform.db, vault, clock=platform.clock)
        await stop.wait()

    async def retain() -> bool:
        return await expire_raw_cells(platform.db, clock=platform.clock, retention=retention)

    return ServiceUnit(
        name="ingest", schema="ingest", migrations=MIGRATIONS, settings=settings,
        routers=[router, console_pages.router, account_pages.router, *identity_unit.ROUTERS],
        app_state={APP_STATE: runtime, VAULT: vault, CLIENT_FINDER: get_client, **identity_unit.app_state(settings)},
        subscriptions=subscriptions(vault),
        workers=[uploads.run, backfill, periodic(retain, settings.retention_poll_s)],
        # The portfolio's multipart form carries its small fields beside the file: 1 MiB of room for them.
        body_rules=[keyed_file(r"/v1/clients/[^/]+/portfolios", settings.max_upload_bytes),
                    keyed_file(r"/v1/clients/[^/]+/recalls/file", settings.max_recall_file_bytes),
                    *identity_unit.BODY_RULES],
        description="Ingest: client companies, portfolio uploads, and the debtors' rights over their data.",
    )
