"""Buckets and the strategy in force must agree: new buckets the strategy has no rule for are refused (or put with
the strategy that covers them, in one change), and a database where they already disagree (from before that
refusal existed) gives the accounts concerned no treatment with the reason, instead of failing every event."""

import datetime as dt
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text

from recaudo_common.runtime import Platform, build_app, make_platform
from recaudo_common.testing import settings_for_test
from segmentation import store
from segmentation.domain.buckets import Bucket
from segmentation.handlers import resegment_requested, run_aging
from segmentation.main import build

from .test_aging import CLIENT, account, deliver, placed
from .test_strategy import every_cell

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 31, 15, 0, tzinfo=dt.UTC)
TIERS = {"high": "100000", "medium": "10000"}
# The default set with 91-120 and 121-180 merged into one new bucket, 91-180, that no strategy above names.
MERGED = [{"label": "0", "low": -365, "high": 0}, {"label": "1-30", "low": 1, "high": 30},
          {"label": "31-60", "low": 31, "high": 60}, {"label": "61-90", "low": 61, "high": 90},
          {"label": "91-180", "low": 91, "high": 180}, {"label": "181-360", "low": 181, "high": 360},
          {"label": "361+", "low": 361, "high": 36500}]


def cells(labels: list[str], treatment: str, channels: list[str]) -> list[dict[str, Any]]:
    return [{"bucket": b, "tier": t, "treatment": treatment, "channels": channels, "contacts_per_channel": 1,
             "cadence_days": 3} for b in labels for t in ("high", "medium", "low")]


@pytest.fixture
async def api(database_url: str) -> AsyncIterator[tuple[Platform, httpx.AsyncClient]]:
    platform = make_platform(settings_for_test(database_url), pool_size=3, clock=lambda: NOW)
    await deliver(platform, [CLIENT, placed("C-1", 100, "2000000")], NOW)
    _, key = await platform.keys.create(role="operator", now=NOW)
    app = build_app(platform, [build(platform)])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test",
                                 headers={"Authorization": f"Bearer {key}"}) as http:
        yield platform, http
    await platform.db.dispose()


async def test_new_buckets_the_strategy_has_no_rule_for_are_refused_and_nothing_is_kept(
        api: tuple[Platform, httpx.AsyncClient]) -> None:
    platform, http = api
    strategy = {"tiers": TIERS, "rules": every_cell("agent_first", ["agent", "sms"]),
                "challenger": {"share": "0.3", "tiers": TIERS, "rules": every_cell("sms_only", ["sms"])}}
    assert (await http.put("/v1/clients/banco/strategy", json=strategy)).json()["version"] == 1
    assert await resegment_requested(platform.db, now=NOW) == {"banco": 1}
    buckets_before = (await http.get("/v1/clients/banco/buckets")).json()

    refused = await http.put("/v1/clients/banco/buckets", json={"buckets": MERGED})
    body = refused.json()
    assert (refused.status_code, refused.headers["content-type"]) == (409, "application/problem+json")
    assert (body["code"], body["title"], body["type"]) == (
        "strategy_does_not_cover_buckets", "Strategy does not cover buckets",
        "https://recaudo.dev/problems/strategy_does_not_cover_buckets")
    assert body["errors"] == [
        {"msg": "no rule for bucket '91-180'", "arm": "champion", "bucket": "91-180"},
        {"msg": "challenger: no rule for bucket '91-180'", "arm": "challenger", "bucket": "91-180"}]
    assert "strategy v1 has no rule for bucket '91-180'" in body["detail"] and '"strategy"' in body["detail"]
    # Nothing kept: the buckets, the strategy, today's aging and the re-segmentation queue are as they were.
    assert (await http.get("/v1/clients/banco/buckets")).json() == buckets_before
    assert (await http.get("/v1/clients/banco/strategy")).json()["version"] == 1
    assert await resegment_requested(platform.db, now=NOW) == {}
    assert (await account(platform, "C-1"))["bucket"] == "91-120"

    # New bounds under labels the strategy already names need nothing more.
    moved = [{**b, "high": 95} if b["label"] == "91-120" else {**b, "low": 96} if b["label"] == "121-180" else b
             for b in buckets_before["buckets"]]
    assert (await http.put("/v1/clients/banco/buckets", json={"buckets": moved})).json()["version"] == 1

    # The new buckets and a strategy that covers them, in one change: both kept, the accounts re-segmented.
    covering = {"tiers": TIERS, "rules": cells([b["label"] for b in MERGED], "agent_first", ["agent", "sms"])}
    half = await http.put("/v1/clients/banco/buckets", json={"buckets": MERGED, "strategy": {
        **covering, "rules": covering["rules"][3:]}})  # a strategy without bucket '0' is refused as any other
    assert (half.status_code, half.json()["code"]) == (422, "invalid_strategy")
    assert (await http.get("/v1/clients/banco/buckets")).json()["version"] == 1
    both = await http.put("/v1/clients/banco/buckets", json={"buckets": MERGED, "strategy": covering})
    assert (both.status_code, both.json()["version"]) == (200, 2)
    assert [b["label"] for b in both.json()["buckets"]] == [b["label"] for b in MERGED]
    assert (await http.get("/v1/clients/banco/strategy")).json()["version"] == 2
    assert await resegment_requested(platform.db, now=NOW) == {"banco": 1}
    after = await account(platform, "C-1")
    assert (after["bucket"], after["treatment"]) == ("91-180", "agent_first")


async def test_an_account_in_a_bucket_its_stored_strategy_has_no_rule_for_gets_no_treatment_and_why(
        api: tuple[Platform, httpx.AsyncClient], caplog: pytest.LogCaptureFixture) -> None:
    platform, http = api
    assert (await http.put("/v1/clients/banco/strategy", json={
        "tiers": TIERS, "rules": every_cell("agent_first", ["agent", "sms"])})).json()["version"] == 1
    # What a database from before the refusal may hold: buckets the strategy in force has no rule for.
    async with platform.db.transaction() as s:
        await store.put_buckets(s, "banco", [Bucket(b["label"], b["low"], b["high"]) for b in MERGED], NOW)
    counted = REGISTRY.get_sample_value("recaudo_segmentation_no_rule_total", {"arm": "champion"}) or 0

    # The next event for the client company is processed (not retried, not dead-lettered), and so is the aging.
    with caplog.at_level(logging.WARNING, logger="recaudo.segmentation"):
        await deliver(platform, [placed("C-2", 100, "2000000"), placed("C-3", 45, "2000000")], NOW)
        assert await run_aging(platform.db, client="banco", day=dt.date(2026, 3, 31), now=NOW) == 1  # C-1
    for ref in ("C-1", "C-2"):
        uncovered = await account(platform, ref)
        assert (uncovered["bucket"], uncovered["treatment"]) == ("91-180", "no_rule")
    assert (await account(platform, "C-3"))["treatment"] == "agent_first"  # a bucket the strategy covers
    async with platform.db.transaction() as s:
        why = await s.scalar(text("SELECT why FROM segmentation.assignments WHERE account_ref = 'C-2'"))
        event = await s.scalar(text(
            "SELECT envelope->'payload' FROM segmentation.outbox WHERE envelope->>'type' = 'account.segmented' "
            "AND envelope->'payload'->>'account_ref' = 'C-1' AND envelope->'payload'->>'trigger' = 'aging'"))
    assert "champion strategy v1 has no rule for bucket 91-180" in why and "not contacted" in why
    assert (event["treatment"], event["channels"], event["offer"]) == ("no_rule", [], "none")
    assert REGISTRY.get_sample_value("recaudo_segmentation_no_rule_total", {"arm": "champion"}) == counted + 2
    warnings = [r.getMessage() for r in caplog.records if r.name == "recaudo.segmentation"]
    assert any("banco" in w and "91-180" in w and "strategy v1" in w for w in warnings)
    assert not any("C-1" in w or "C-2" in w or "+573001234567" in w for w in warnings)
