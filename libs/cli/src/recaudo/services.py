"""The five services, by name. Only this package (the composition root) imports them all."""

from __future__ import annotations

from collections.abc import Callable

import ingest.main
import outreach.main
import payments.main
import reporting.main
import segmentation.main
from recaudo_common.runtime import Platform, ServiceUnit

BUILDERS: dict[str, Callable[[Platform], ServiceUnit]] = {
    "ingest": ingest.main.build,
    "segmentation": segmentation.main.build,
    "outreach": outreach.main.build,
    "payments": payments.main.build,
    "reporting": reporting.main.build,
}


def build_units(platform: Platform, names: list[str]) -> list[ServiceUnit]:
    return [BUILDERS[n](platform) for n in names]
