"""Strategy versions through the real HTTP API and PostgreSQL (#22): every version listed with who made it, the
challenger promoted and an old version restored whole, each a new version after which the accounts are
re-segmented (the account.segmented events say so); the refusals; versions that never change."""

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import pytest
import sqlalchemy.exc
from sqlalchemy import text

from recaudo_common.events import ClientUpdated
from recaudo_common.runtime import Platform, build_app, make_platform
from recaudo_common.testing import eventually, settings_for_test
from recaudo_common.testing_pages import assert_invalid_cursors_refused, walk_pages
from segmentation import store
from segmentation.handlers import resegment_requested
from segmentation.main import build

from .test_aging import CLIENT, deliver, placed
from .test_strategy import every_cell

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 31, 15, 0, tzinfo=dt.UTC)
TIERS = {"high": "100000", "medium": "10000"}
ACCOUNTS = 200


@dataclass
class Api:
    platform: Platform
    http: httpx.AsyncClient
    operator_id: str
    own: dict[str, str]  # the client company's own key's header
    other: dict[str, str]  # another client company's


@pytest.fixture
async def api(database_url: str) -> AsyncIterator[Api]:
    platform = make_platform(settings_for_test(database_url), pool_size=6, clock=lambda: NOW)
    operator_id, operator = await platform.keys.create(role="operator", now=NOW)
    _, own = await platform.keys.create(role="client", client_slug="banco", now=NOW)
    _, other = await platform.keys.create(role="client", client_slug="telco", now=NOW)
    app = build_app(platform, [build(platform)])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test",
                                 headers={"Authorization": f"Bearer {operator}"}) as http:
        yield Api(platform, http, str(operator_id), {"Authorization": f"Bearer {own}"},
                  {"Authorization": f"Bearer {other}"})
    await platform.db.dispose()


def with_challenger(discount_pct: str = "20") -> dict[str, Any]:
    return {"tiers": TIERS, "rules": every_cell("agent_first", ["agent", "sms"]),
            "challenger": {"share": "0.5", "tiers": {"high": "50000", "medium": "5000"},
                           "rules": every_cell("whatsapp_settlement", ["whatsapp"], kind="settlement",
                                               discount_pct=discount_pct)}}


async def resegmented(platform: Platform, version: int) -> dict[str, dict[str, Any]]:
    """Runs the re-segmentation asked for, and answers the account.segmented events it published for `version`."""
    assert await resegment_requested(platform.db, now=NOW) == {"banco": ACCOUNTS}
    async with platform.db.transaction() as s:
        payloads = (await s.scalars(text(
            "SELECT envelope->'payload' FROM segmentation.outbox WHERE envelope->>'type' = 'account.segmented' "
            "AND envelope->'payload'->>'trigger' = 'strategy_change' "
            "AND CAST(envelope->'payload'->>'strategy_version' AS int) = :v"), {"v": version})).all()
    events = {p["account_ref"]: p for p in payloads}
    assert len(events) == ACCOUNTS
    return events


async def test_versions_are_listed_and_promote_and_restore_resegment(api: Api) -> None:
    platform, http = api.platform, api.http
    await deliver(platform, [CLIENT, *(placed(f"S-{i:03d}", 45, "2000000") for i in range(ACCOUNTS))], NOW)
    empty = await http.get("/v1/clients/banco/strategy/versions")
    assert empty.status_code == 200 and empty.json() == {"items": [], "next": None}

    first = with_challenger()
    assert (await http.put("/v1/clients/banco/strategy", json=first)).json()["version"] == 1
    v1 = await resegmented(platform, 1)
    arms_v1 = {ref: e["strategy_arm"] for ref, e in v1.items()}
    assert 70 <= list(arms_v1.values()).count("challenger") <= 130
    plain = {"tiers": TIERS, "rules": every_cell("sms_only", ["sms"])}
    assert (await http.put("/v1/clients/banco/strategy", json=plain)).json()["version"] == 2
    assert {e["treatment"] for e in (await resegmented(platform, 2)).values()} == {"sms_only"}

    # Restore v1: whole, its challenger and share included, as v3; each account back on its v1 arm and treatment.
    restored = await http.post("/v1/clients/banco/strategy/versions/1/restore")
    assert restored.status_code == 201 and restored.headers["location"] == "/v1/clients/banco/strategy/versions/3"
    body = restored.json()
    assert (body["version"], body["origin"], body["origin_version"], body["current"]) == (3, "restore", 1, True)
    assert body["challenger"]["share"] == "0.5" and body["challenger"]["rules"][0]["treatment"] == "whatsapp_settlement"
    current = (await http.get("/v1/clients/banco/strategy")).json()
    assert current["version"] == 3 and current["challenger"] == body["challenger"]
    v3 = await resegmented(platform, 3)
    assert {ref: e["strategy_arm"] for ref, e in v3.items()} == arms_v1
    assert {ref: e["treatment"] for ref, e in v3.items()} == {ref: e["treatment"] for ref, e in v1.items()}

    # Promote: the challenger's rules and tiers become the champion of v4, no challenger left; every account on
    # the champion arm, treated by the promoted rules.
    promoted = await http.post("/v1/clients/banco/strategy/promote", json={"version": 3})
    assert promoted.status_code == 201 and promoted.headers["location"] == "/v1/clients/banco/strategy/versions/4"
    body = promoted.json()
    assert (body["version"], body["origin"], body["origin_version"], body["challenger"]) == (4, "promote", 3, None)
    assert body["tiers"] == {"high": "50000", "medium": "5000"}
    assert body["rules"] == restored.json()["challenger"]["rules"]
    v4 = await resegmented(platform, 4)
    assert {(e["strategy_arm"], e["treatment"], e["offer"], e["offer_discount_pct"]) for e in v4.values()} == \
        {("champion", "whatsapp_settlement", "settlement", "20")}
    assert all("champion strategy v4" in e["why"] for e in v4.values())

    # Every version, newest first, with who made it and how; old versions exactly as they were kept.
    listed = (await http.get("/v1/clients/banco/strategy/versions")).json()
    assert [(i["version"], i["origin"], i["origin_version"], i["current"]) for i in listed["items"]] == [
        (4, "promote", 3, True), (3, "restore", 1, False), (2, "put", None, False), (1, "put", None, False)]
    assert {i["created_by"] for i in listed["items"]} == {f"key {api.operator_id}"}
    assert {i["created_at"] for i in listed["items"]} == {"2026-03-31T15:00:00Z"}
    assert [(i["rules_count"], i["challenger_rules_count"]) for i in listed["items"]] == [
        (24, None), (24, 24), (24, None), (24, 24)]
    one = listed["items"][3]
    assert (await http.get("/v1/clients/banco/strategy/versions/1")).json() == one
    assert one["tiers"] == {"high": "100000", "medium": "10000"} and one["challenger"]["share"] == "0.5"
    assert one["rules"][0]["treatment"] == "agent_first" and listed["next"] is None
    paged, pages = await walk_pages(http, "/v1/clients/banco/strategy/versions", limit=3)
    assert pages == 2 and paged == listed["items"]  # [4, 3, 2] then [1]: none twice, none missed
    await assert_invalid_cursors_refused(http, "/v1/clients/banco/strategy/versions", (0,), ("3",), (2**31,),
                                         (None,))

    # The client company reads its own versions; another's key sees nothing, as if banco did not exist.
    assert (await http.get("/v1/clients/banco/strategy/versions", headers=api.own)).status_code == 200
    foreign = await http.get("/v1/clients/banco/strategy/versions", headers=api.other)
    assert (foreign.status_code, foreign.json()["code"]) == (404, "not_found")
    foreign = await http.get("/v1/clients/banco/strategy/versions/1", headers=api.other)
    assert (foreign.status_code, foreign.json()["code"]) == (404, "not_found")


async def test_refusals(api: Api) -> None:
    platform, http = api.platform, api.http
    await deliver(platform, [CLIENT, placed("R-1", 45)], NOW)
    none = await http.post("/v1/clients/banco/strategy/promote")
    assert (none.status_code, none.json()["code"]) == (409, "no_challenger")
    assert "platform's default strategy has no challenger" in none.json()["detail"]
    await http.put("/v1/clients/banco/strategy", json=with_challenger())
    await http.put("/v1/clients/banco/strategy", json={"tiers": TIERS, "rules": every_cell("sms_only", ["sms"])})

    none = await http.post("/v1/clients/banco/strategy/promote")
    assert (none.status_code, none.json()["code"]) == (409, "no_challenger")
    assert "strategy v2 has no challenger" in none.json()["detail"]
    # The operator judged v1's challenger; v2 (without one) came in since: nothing is promoted.
    stale = await http.post("/v1/clients/banco/strategy/promote", json={"version": 1})
    assert (stale.status_code, stale.json()["code"]) == (409, "version_changed")
    assert "strategy v2 is in force, not v1" in stale.json()["detail"]
    unknown = await http.post("/v1/clients/banco/strategy/versions/9/restore")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")
    assert "strategy version 9" in unknown.json()["detail"]
    assert (await http.get("/v1/clients/banco/strategy/versions/9")).status_code == 404
    same = await http.post("/v1/clients/banco/strategy/versions/2/restore")
    assert (same.status_code, same.json()["code"]) == (409, "already_current")
    for path in ("promote", "versions/1/restore"):  # the client company itself may read, not change
        refused = await http.post(f"/v1/clients/banco/strategy/{path}", headers=api.own)
        assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
        foreign = await http.post(f"/v1/clients/banco/strategy/{path}", headers=api.other)
        assert (foreign.status_code, foreign.json()["code"]) == (403, "forbidden")

    # v1's challenger offers 20% off; the client company now allows 10%: v1 is not made current again unchecked.
    await deliver(platform, [ClientUpdated(**{**CLIENT.model_dump(), "max_discount_pct": Decimal("10")})], NOW)
    unfit = await http.post("/v1/clients/banco/strategy/versions/1/restore")
    assert (unfit.status_code, unfit.json()["code"]) == (409, "strategy_does_not_fit")
    assert "challenger: 0/high: discount 20% is outside 0..10.00%" in [e["msg"] for e in unfit.json()["errors"]]
    # None of the refusals made a version.
    listed = (await http.get("/v1/clients/banco/strategy/versions")).json()["items"]
    assert [i["version"] for i in listed] == [2, 1]


async def test_a_kept_version_never_changes(api: Api) -> None:
    await deliver(api.platform, [CLIENT], NOW)
    await api.http.put("/v1/clients/banco/strategy", json=with_challenger())
    for statement in ("UPDATE segmentation.strategies SET body = '{}'", "DELETE FROM segmentation.strategies"):
        with pytest.raises(sqlalchemy.exc.DBAPIError, match="strategy version 1 of banco is immutable"):
            async with api.platform.db.transaction() as s:
                await s.execute(text(statement))
    kept = (await api.http.get("/v1/clients/banco/strategy/versions/1")).json()
    assert kept["challenger"]["share"] == "0.5" and kept["rules_count"] == 24


async def test_a_version_made_with_new_buckets_and_one_that_no_longer_fits_them(api: Api) -> None:
    http = api.http
    await deliver(api.platform, [CLIENT], NOW)
    await http.put("/v1/clients/banco/strategy", json=with_challenger())
    one = [{"label": "todo", "low": -365, "high": 36500}]
    rules = [{"bucket": "todo", "tier": t, "treatment": "sms_todo", "channels": ["sms"]} for t in ("high", "medium", "low")]
    moved = await http.put("/v1/clients/banco/buckets", json={"buckets": one, "strategy": {"tiers": TIERS, "rules": rules}})
    assert moved.status_code == 200
    v2 = (await http.get("/v1/clients/banco/strategy/versions/2")).json()
    assert (v2["origin"], v2["created_by"], v2["current"]) == ("buckets", f"key {api.operator_id}", True)
    # v1 names the eight default buckets, which are no longer the client company's: restoring it would leave every
    # account without a rule.
    unfit = await http.post("/v1/clients/banco/strategy/versions/1/restore")
    assert (unfit.status_code, unfit.json()["code"]) == (409, "strategy_does_not_fit")
    messages = [e["msg"] for e in unfit.json()["errors"]]
    assert "rule for unknown bucket '1-30'" in messages and "no rule for bucket 'todo' and tier 'high'" in messages
    assert (await http.get("/v1/clients/banco/strategy")).json()["version"] == 2


async def test_two_promotes_at_once_make_one_version(api: Api) -> None:
    """Promotes wait for the client company's setup lock (held here as a PUT of the strategy would hold it): the
    first makes v2, the second then finds no challenger, rather than both promoting v1's."""
    await deliver(api.platform, [CLIENT], NOW)
    await api.http.put("/v1/clients/banco/strategy", json=with_challenger())
    async with api.platform.db.transaction() as held:
        await store.lock_setup(held, "banco")
        promotes = [asyncio.create_task(api.http.post("/v1/clients/banco/strategy/promote")) for _ in range(2)]

        async def both_waiting() -> bool:
            async with api.platform.db.transaction() as s:
                return await s.scalar(text(
                    "SELECT count(*) = 2 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")) is True

        await eventually(both_waiting, timeout_s=30, message="both promotes waiting for the setup lock")
    answers = await asyncio.gather(*promotes)
    assert sorted((a.status_code, a.json().get("code")) for a in answers) == [(201, None), (409, "no_challenger")]
    listed = (await api.http.get("/v1/clients/banco/strategy/versions")).json()["items"]
    assert [(i["version"], i["origin"]) for i in listed] == [(2, "promote"), (1, "put")]
