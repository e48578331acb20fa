"""The five services, by name. Only this package (the composition root) imports them all."""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Callable
from typing import Any, cast

from ingest.settings import IngestSettings
from outreach.settings import OutreachSettings
from payments.settings import PaymentsSettings
from recaudo_common.events import ACCOUNT_READERS, CLIENT_COPY_KEEPERS, CONTACT_READERS
from recaudo_common.runtime import Platform, ServiceUnit
from recaudo_common.settings import PlatformSettings
from reporting.settings import ReportingSettings
from segmentation.settings import SegmentationSettings


def _builder(service: str) -> Callable[[Platform], ServiceUnit]:
    """The service's main.build, imported when first called: a process that serves one service imports only its
    code (the other four took about 2 of the 4.5 CPU seconds a service's start took, each time it was restarted)."""
    def build(platform: Platform) -> ServiceUnit:
        return cast(ServiceUnit, importlib.import_module(f"{service}.main").build(platform))

    return build


BUILDERS: dict[str, Callable[[Platform], ServiceUnit]] = {
    name: _builder(name) for name in ("ingest", "segmentation", "outreach", "payments", "reporting")}

SETTINGS: dict[str, type[PlatformSettings]] = {
    "ingest": IngestSettings, "segmentation": SegmentationSettings, "outreach": OutreachSettings,
    "payments": PaymentsSettings, "reporting": ReportingSettings,
}


def settings_of(names: list[str]) -> PlatformSettings:
    """The settings a process's platform (database, transport, logs) runs with: one service's own class, so its
    RECAUDO_<SERVICE>_X win over RECAUDO_X; several services share the platform-wide ones."""
    return SETTINGS[names[0]]() if len(names) == 1 else PlatformSettings()


def tell_ingest_who_is_served_here(names: list[str], role: str) -> None:
    """Served in one process with their workers (`recaudo serve all`, `make run`), ingest's registration of a client
    company waits for the copies of the services served here (RECAUDO_INGEST_CLIENT_READY_SERVICES), and its large
    uploads wait for the readers of the account topic served here (RECAUDO_INGEST_BULK_READERS) and for their
    contact lanes (RECAUDO_INGEST_BULK_CONTACT_READERS), unless the environment sets them: call before build_units.
    Elsewhere the deployment names them (deploy/k8s)."""
    if role != "all" or "ingest" not in names:
        return
    if keepers := [n for n in names if n in CLIENT_COPY_KEEPERS]:
        os.environ.setdefault("RECAUDO_INGEST_CLIENT_READY_SERVICES", json.dumps(keepers))
    if readers := [n for n in names if n in ACCOUNT_READERS]:
        os.environ.setdefault("RECAUDO_INGEST_BULK_READERS", json.dumps(readers))
    if lanes := [g for g in CONTACT_READERS if g.removesuffix("-contacts") in names]:
        os.environ.setdefault("RECAUDO_INGEST_BULK_CONTACT_READERS", json.dumps(lanes))


def build_units(platform: Platform, names: list[str]) -> list[ServiceUnit]:
    return [BUILDERS[n](platform) for n in names]


def openapi_of(service: str) -> dict[str, Any]:
    """The service's own OpenAPI, built from its code without a database or a server."""
    from recaudo_common.runtime import build_app, make_platform
    from recaudo_common.settings import PlatformSettings

    platform = make_platform(PlatformSettings(database_url="postgresql+asyncpg://unused@127.0.0.1:1/unused"),
                             pool_size=1)
    return build_app(platform, [BUILDERS[service](platform)]).openapi()
