"""What ingest's module-level routes need from its settings, made once per app (main.build puts it on app.state)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from ingest.clients import store
from ingest.reading import FileLimits
from ingest.records import ClientCompany
from ingest.settings import IngestSettings
from recaudo_common.dependencies import OPERATOR_ONLY, CurrentPrincipal, client_found_by, from_app_state
from recaudo_common.personal_data import Vault
from recaudo_common.ratelimit import Rate, RateLimiter

APP_STATE = "ingest"
VAULT = "ingest_vault"


@dataclass(frozen=True)
class IngestRuntime:
    """The platform's upload cap, the file limits the door checks, the upload rate per key and client company,
    how many uploads this process receives at once (each keeps a copy on /tmp: their number bounds the disk), and
    how long a registration waits for every service to hold the new client company."""

    max_upload_bytes: int
    file_limits: FileLimits
    upload_limiter: RateLimiter
    max_concurrent_uploads: int
    client_ready_wait_s: float = 10.0
    client_ready_services: tuple[str, ...] | None = None
    max_recall_file_bytes: int = 16 * 1024**2  # a recall file's form, whole (the gate's cap for its route)
    receiving: asyncio.Semaphore = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "receiving", asyncio.Semaphore(self.max_concurrent_uploads))

    @classmethod
    def of(cls, settings: IngestSettings) -> IngestRuntime:
        return cls(max_upload_bytes=settings.max_upload_bytes, file_limits=file_limits_of(settings),
                   upload_limiter=RateLimiter("uploads", Rate(settings.upload_rate_per_s, settings.upload_burst)),
                   max_concurrent_uploads=settings.max_concurrent_uploads,
                   client_ready_wait_s=settings.client_ready_wait_s,
                   max_recall_file_bytes=settings.max_recall_file_bytes,
                   client_ready_services=None if settings.client_ready_services is None
                   else tuple(settings.client_ready_services))


def file_limits_of(settings: IngestSettings) -> FileLimits:
    return FileLimits(max_uncompressed=settings.max_xlsx_uncompressed_bytes, max_ratio=settings.max_xlsx_ratio,
                      max_cells=settings.max_xlsx_cells, max_shared_strings=settings.max_xlsx_shared_strings,
                      max_sheets=settings.max_xlsx_sheets, max_line_chars=settings.max_line_chars,
                      own_process_from_bytes=settings.check_in_own_process_from_bytes)


get_runtime = from_app_state(APP_STATE, IngestRuntime)


Runtime = Annotated[IngestRuntime, Depends(get_runtime)]
# The process's one Vault (main.build makes it): its key cache is shared by the worker and the routes.
VaultDep = Annotated[Vault, Depends(from_app_state(VAULT, Vault))]


async def upload_limited(request: Request, principal: CurrentPrincipal, runtime: Runtime) -> None:
    """The caller (its API key) sending to the path's client company takes a token or is refused 429."""
    runtime.upload_limiter.refuse_caller(principal, request)


# Ingest keeps the client companies themselves (ingest.clients, the whole row), not a copy: the same one
# dependency as every service's (the caller's right first, then the company or 404), finding the row in its store.
ClientOfCaller = Annotated[ClientCompany, Depends(client_found_by(store.get_client))]
ClientOfOperator = Annotated[ClientCompany, Depends(client_found_by(store.get_client, roles=OPERATOR_ONLY))]
