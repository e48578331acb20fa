"""Segmentation's own runs say what caused them: a strategy change's re-segmentation carries the id of the request
that changed it, and one aging run is one correlation (real HTTP API and PostgreSQL)."""

import datetime as dt
import uuid

import httpx
import pytest
from sqlalchemy import text

from recaudo_common.events import Envelope
from recaudo_common.runtime import Platform
from segmentation.handlers import resegment_requested, run_aging

from .test_aging import CLIENT, LATE_EVENING, deliver, placed
from .test_strategy import NOW, api, every_cell

pytestmark = pytest.mark.integration
__all__ = ["api"]  # the fixture, shared with test_strategy


async def segmented(platform: Platform, trigger: str) -> list[Envelope]:
    async with platform.db.transaction() as s:
        return [Envelope.model_validate(r[0]) for r in await s.execute(text(
            "SELECT envelope FROM segmentation.outbox WHERE envelope->>'type' = 'account.segmented' "
            "AND envelope->'payload'->>'trigger' = :t ORDER BY id"), {"t": trigger})]


def causes(envelopes: list[Envelope]) -> set[tuple[uuid.UUID, uuid.UUID | None]]:
    return {(e.correlation_id, e.causation_id) for e in envelopes}


async def test_a_strategy_changes_resegmentation_carries_the_changing_requests_id(
        api: tuple[Platform, httpx.AsyncClient]) -> None:
    platform, http = api
    await deliver(platform, [CLIENT, *(placed(f"S-{i}", 45) for i in range(60))], NOW)
    saved = await http.put("/v1/clients/banco/strategy", json={"tiers": {"high": "100000", "medium": "10000"},
                                                                "rules": every_cell("agent_first", ["agent"])})
    assert saved.status_code == 200, saved.text
    assert await resegment_requested(platform.db, now=NOW) == {"banco": 60}
    request_id = uuid.UUID(saved.headers["X-Request-Id"])
    assert causes(await segmented(platform, "strategy_change")) == {(request_id, request_id)}


async def test_one_aging_run_is_one_correlation(platform: Platform) -> None:
    await deliver(platform, [CLIENT, placed("A-30", 30), placed("A-29", 29), placed("A-0", 0)], LATE_EVENING)
    assert await run_aging(platform.db, client="banco", day=dt.date(2026, 4, 1), now=LATE_EVENING) == 2
    [first_run] = causes(await segmented(platform, "aging"))
    assert await run_aging(platform.db, client="banco", day=dt.date(2026, 4, 7), now=LATE_EVENING) == 1
    second_run = causes(await segmented(platform, "aging")) - {first_run}
    assert len(second_run) == 1 and first_run[0] == first_run[1]  # the run's id, both correlation and cause
    placements = causes(await segmented(platform, "placement"))
    assert placements and first_run not in placements and not second_run & placements
