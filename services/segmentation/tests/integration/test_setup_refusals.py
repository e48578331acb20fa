"""A client company's buckets, strategy and cost table refused by the handlers' rules: each answered 422 with its
code, its title and every reason, as problem details from the edge, and nothing of it kept."""

import datetime as dt
from collections.abc import AsyncIterator

import httpx
import pytest

from recaudo_common.runtime import Platform, build_app, make_platform
from recaudo_common.testing import settings_for_test
from segmentation.main import build

from .test_aging import CLIENT, deliver
from .test_strategy import every_cell

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 31, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
async def http(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    platform: Platform = make_platform(settings_for_test(database_url), pool_size=3, clock=lambda: NOW)
    await deliver(platform, [CLIENT], NOW)
    _, key = await platform.keys.create(role="operator", now=NOW)
    app = build_app(platform, [build(platform)])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test",
                                 headers={"Authorization": f"Bearer {key}"}) as client:
        yield client
    await platform.db.dispose()


async def test_overlapping_buckets_are_refused_and_the_default_set_stays(http: httpx.AsyncClient) -> None:
    refused = await http.put("/v1/clients/banco/buckets", json={"buckets": [
        {"label": "a", "low": -365, "high": 30}, {"label": "b", "low": 20, "high": 36500}]})
    body = refused.json()
    assert (refused.status_code, refused.headers["content-type"]) == (422, "application/problem+json")
    assert (body["code"], body["title"], body["type"]) == (
        "invalid_buckets", "Invalid buckets", "https://recaudo.dev/problems/invalid_buckets")
    assert body["errors"] and body["detail"] == "; ".join(e["msg"] for e in body["errors"])
    assert (await http.get("/v1/clients/banco/buckets")).json()["version"] == 0


async def test_a_strategy_with_a_bad_challenger_is_refused_with_the_challengers_reasons(
        http: httpx.AsyncClient) -> None:
    champion = every_cell("agent_first", ["agent", "sms"])
    refused = await http.put("/v1/clients/banco/strategy", json={
        "tiers": {"high": "100000", "medium": "10000"}, "rules": champion,
        "challenger": {"share": "0.5", "tiers": {"high": "100000", "medium": "10000"}, "rules": champion[1:]}})
    body = refused.json()
    assert (refused.status_code, body["code"], body["title"]) == (422, "invalid_strategy", "Invalid strategy")
    assert [e["msg"] for e in body["errors"]] == ["challenger: no rule for bucket '0' and tier 'high'"]
    assert (await http.get("/v1/clients/banco/strategy")).json()["version"] == 0


async def test_a_cost_table_with_an_unknown_channel_is_refused_and_the_defaults_stay(
        http: httpx.AsyncClient) -> None:
    before = (await http.get("/v1/clients/banco/costs")).json()
    refused = await http.put("/v1/clients/banco/costs", json={"costs": {"fax": "1", "sms": "2000"}})
    body = refused.json()
    assert (refused.status_code, body["code"], body["title"]) == (422, "invalid_costs", "Invalid cost table")
    assert body["detail"] == "unknown channel 'fax'; sms: a cost must be between 0 and 1000"
    assert (await http.get("/v1/clients/banco/costs")).json() == before
