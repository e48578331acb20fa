"""The strategy experiment read for one strategy version through reporting's API on PostgreSQL: version 3 split its
accounts into champion and challenger; after the promote (version 4, every account champion) today's read-out has no
challenger left, while ?version=3 still reads version 3's arms from the assignments made under it."""

import datetime as dt
import uuid
from collections.abc import AsyncIterator

import pytest

from recaudo_common.events import ClientRegistered, Event
from recaudo_common.runtime import Platform

from .conftest import reporting_client
from .test_experiment import MARCH_2, paid, placed, platform_told, segmented

pytestmark = pytest.mark.integration
UTC = dt.UTC
ARM = 40


def story() -> list[tuple[dt.datetime, Event]]:
    """Under version 3: champion C-0..C-39 (4 paying), challenger X-0..X-39 (8 paying). On April 1 the challenger is
    promoted: version 4 re-segments every account as champion. N-0..N-9 are placed under version 4 only."""
    out: list[tuple[dt.datetime, Event]] = [(MARCH_2, ClientRegistered(
        slug="banco", name="Banco", country="CO", currency="COP", timezone="America/Bogota", locale="es-CO",
        default_authorised_channels=["sms"]))]
    april = dt.datetime(2026, 4, 1, 15, tzinfo=UTC)
    for prefix, arm, every in (("C", "champion", 10), ("X", "challenger", 5)):
        refs = [f"{prefix}-{i}" for i in range(ARM)]
        out += [(MARCH_2, placed(r)) for r in refs] + [(MARCH_2, segmented(r, arm)) for r in refs]
        out += [(MARCH_2 + dt.timedelta(days=5), paid(uuid.uuid4(), r, MARCH_2 + dt.timedelta(days=5)))
                for r in refs[::every]]
    promoted = [f"{p}-{i}" for p in "CX" for i in range(ARM)] + [f"N-{i}" for i in range(10)]
    out += [(april, placed(f"N-{i}")) for i in range(10)]
    out += [(april, segmented(r, "champion").model_copy(update={"strategy_version": 4, "trigger": "strategy_change"}))
            for r in promoted]
    return out


@pytest.fixture
async def platform(database_url: str) -> AsyncIterator[Platform]:
    async with platform_told(database_url, story()) as p:
        yield p


def figures(body: dict[str, dict[str, dict[str, int]]]) -> dict[str, tuple[int, int]]:
    return {arm: (v["accounts"], v["paying_accounts"]) for arm, v in body["arms"].items()}


async def test_an_old_version_is_read_from_the_assignments_made_under_it(platform: Platform) -> None:
    _, key = await platform.keys.create(role="client", client_slug="banco", now=platform.clock())
    async with reporting_client(platform, key) as http:
        today = (await http.get("/v1/clients/banco/strategy/experiment")).json()
        v3 = (await http.get("/v1/clients/banco/strategy/experiment", params={"version": 3})).json()
        v4 = (await http.get("/v1/clients/banco/strategy/experiment", params={"version": 4})).json()
        never = (await http.get("/v1/clients/banco/strategy/experiment", params={"version": 9})).json()
        bad = await http.get("/v1/clients/banco/strategy/experiment", params={"version": 0})
    assert figures(today) == {"champion": (90, 12), "challenger": (0, 0)}
    assert figures(v3) == {"champion": (40, 4), "challenger": (40, 8)}
    assert v3["lift"] == pytest.approx(1.0) and v3["p_value"] is not None and v3["verdict"] == "insufficient_data"
    assert figures(v4) == figures(today)
    assert figures(never) == {"champion": (0, 0), "challenger": (0, 0)} and never["p_value"] is None
    assert (bad.status_code, bad.json()["code"]) == (422, "validation_error")
