"""Strategies through the real HTTP API and PostgreSQL: validation, versions, champion/challenger split,
channel costs, and re-segmentation of the affected accounts with their reasons."""

import datetime as dt
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from recaudo_common.runtime import Platform, build_app, make_platform
from recaudo_common.testing import settings_for_test
from segmentation.handlers import resegment_requested
from segmentation.main import build

from .test_aging import CLIENT, deliver, placed

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 31, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
async def api(database_url: str) -> AsyncIterator[tuple[Platform, httpx.AsyncClient]]:
    platform = make_platform(settings_for_test(database_url), pool_size=3, clock=lambda: NOW)
    _, key = await platform.keys.create(role="operator", now=NOW)
    app = build_app(platform, [build(platform)])  # the runtime's wiring: routes reach the platform on app.state
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test",
                                 headers={"Authorization": f"Bearer {key}"}) as http:
        yield platform, http
    await platform.db.dispose()


def every_cell(treatment: str, channels: list[str], **offer: Any) -> list[dict[str, Any]]:
    buckets = ["0", "1-30", "31-60", "61-90", "91-120", "121-180", "181-360", "361+"]
    return [{"bucket": b, "tier": t, "treatment": treatment, "channels": channels, "contacts_per_channel": 2,
             "cadence_days": 2, "offer": offer or {"kind": "none"}} for b in buckets for t in ("high", "medium", "low")]


async def test_strategy_versions_with_a_challenger_resegment_accounts(api: tuple[Platform, httpx.AsyncClient]) -> None:
    platform, http = api
    await deliver(platform, [CLIENT, *(placed(f"S-{i}", 45, "2000000") for i in range(200))], NOW)
    default = (await http.get("/v1/clients/banco/strategy")).json()
    assert default["version"] == 0 and len(default["rules"]) == 24

    bad = every_cell("solo_sms", ["sms"])[1:] + [{"bucket": "0", "tier": "high", "treatment": "x", "channels": ["fax"],
                                                  "offer": {"kind": "settlement", "discount_pct": "95"}}]
    refused = await http.put("/v1/clients/banco/strategy", json={"tiers": {"high": "100", "medium": "10"},
                                                                 "rules": bad})
    assert refused.status_code == 422 and refused.json()["code"] == "invalid_strategy"
    messages = [e["msg"] for e in refused.json()["errors"]]
    assert "0/high: unknown channels ['fax']" in messages and "0/high: discount 95% is outside 0..40.00%" in messages

    body = {"tiers": {"high": "100000", "medium": "10000"}, "rules": every_cell("agent_first", ["agent", "sms"]),
            "challenger": {"share": "0.5", "tiers": {"high": "100000", "medium": "10000"},
                           "rules": every_cell("whatsapp_settlement", ["whatsapp"], kind="settlement",
                                               discount_pct="20")}}
    saved = await http.put("/v1/clients/banco/strategy", json=body)
    assert saved.status_code == 200 and saved.json()["version"] == 1
    assert await resegment_requested(platform.db, now=NOW) == {"banco": 200}
    async with platform.db.transaction() as s:
        arms = dict((await s.execute(text(
            "SELECT inputs->>'arm', count(*) FROM segmentation.assignments WHERE trigger = 'strategy_change' "
            "GROUP BY 1"))).all())
        treatments = dict((await s.execute(text(
            "SELECT treatment, count(*) FROM segmentation.accounts GROUP BY 1"))).all())
        why = await s.scalar(text("SELECT why FROM segmentation.assignments WHERE trigger = 'strategy_change' "
                                  "AND inputs->>'arm' = 'challenger' LIMIT 1"))
    assert arms["champion"] + arms["challenger"] == 200 and 70 <= arms["challenger"] <= 130
    assert treatments == {"agent_first": arms["champion"], "whatsapp_settlement": arms["challenger"]}
    assert "challenger strategy v1" in why and "settlement with 20% discount" in why
    assert await resegment_requested(platform.db, now=NOW) == {}  # done once

    costs = await http.put("/v1/clients/banco/costs", json={"costs": {"whatsapp": "0.05"}})
    assert costs.json()["costs"]["whatsapp"] == "0.05" and costs.json()["costs"]["sms"] == "0.01"
    assert (await http.put("/v1/clients/banco/costs", json={"costs": {"paloma": "1"}})).json()["code"] == "invalid_costs"
    assert await resegment_requested(platform.db, now=NOW) == {"banco": 200}
    summary = (await http.get("/v1/clients/banco/segments")).json()["items"]
    assert sum(row["accounts"] for row in summary) == 200


async def test_discounts_stay_within_the_client_companys_own_limit(api: tuple[Platform, httpx.AsyncClient]) -> None:
    from recaudo_common.events import ClientUpdated

    platform, http = api
    strict = ClientUpdated(**{**CLIENT.model_dump(), "max_discount_pct": Decimal("10")})
    await deliver(platform, [CLIENT, strict], NOW)
    body = {"tiers": {"high": "100000", "medium": "10000"},
            "rules": every_cell("quita", ["sms"], kind="settlement", discount_pct="20")}
    refused = await http.put("/v1/clients/banco/strategy", json=body)
    assert refused.status_code == 422
    assert "0/high: discount 20% is outside 0..10.00%" in [e["msg"] for e in refused.json()["errors"]]
    body["rules"] = every_cell("quita", ["sms"], kind="settlement", discount_pct="10")
    assert (await http.put("/v1/clients/banco/strategy", json=body)).status_code == 200
