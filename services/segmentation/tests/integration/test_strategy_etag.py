"""Two people editing one strategy (#23): GET gives an ETag, a PUT sending it back as If-Match is kept, one whose
If-Match names a strategy no longer in force is refused 412 and keeps nothing, a PUT without If-Match behaves as
before, and a malformed If-Match is a 400."""

import datetime as dt
from collections.abc import AsyncIterator

import httpx
import pytest

from recaudo_common.runtime import Platform, build_app, make_platform
from recaudo_common.testing import settings_for_test
from segmentation.main import build

from .test_aging import CLIENT, deliver
from .test_cost_table import STRATEGY

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 31, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
async def api(database_url: str) -> AsyncIterator[tuple[Platform, httpx.AsyncClient]]:
    platform = make_platform(settings_for_test(database_url), pool_size=3, clock=lambda: NOW)
    _, key = await platform.keys.create(role="operator", now=NOW)
    app = build_app(platform, [build(platform)])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test",
                                 headers={"Authorization": f"Bearer {key}"}) as http:
        await deliver(platform, [CLIENT], NOW)
        yield platform, http
    await platform.db.dispose()


async def test_a_change_made_on_a_strategy_someone_else_changed_meanwhile_is_refused_412(
        api: tuple[Platform, httpx.AsyncClient]) -> None:
    _, http = api
    read = await http.get("/v1/clients/banco/strategy")
    default_tag = read.headers["ETag"]
    assert read.json()["version"] == 0 and default_tag.startswith('"') and default_tag.endswith('"')
    assert (await http.get("/v1/clients/banco/strategy")).headers["ETag"] == default_tag  # stable while unchanged

    ana = await http.put("/v1/clients/banco/strategy", json=STRATEGY, headers={"If-Match": default_tag})
    assert ana.status_code == 200 and ana.json()["version"] == 1, ana.text
    assert ana.headers["ETag"] == (await http.get("/v1/clients/banco/strategy")).headers["ETag"] != default_tag

    luis = {**STRATEGY, "tiers": {"high": "500000", "medium": "50000"}}
    stale = await http.put("/v1/clients/banco/strategy", json=luis, headers={"If-Match": default_tag})
    assert (stale.status_code, stale.json()["code"]) == (412, "precondition_failed"), stale.text
    assert "changed since it was read" in stale.json()["detail"]
    assert (await http.get("/v1/clients/banco/strategy")).json()["version"] == 1  # nothing kept
    assert (await http.get("/v1/clients/banco/strategy/versions")).json()["items"][0]["version"] == 1

    either = await http.put("/v1/clients/banco/strategy", json=luis,
                            headers={"If-Match": f'"0000", {ana.headers["ETag"]}'})
    assert either.status_code == 200 and either.json()["version"] == 2  # one of the tags listed is current
    weak = await http.put("/v1/clients/banco/strategy", json=STRATEGY, headers={"If-Match": f"W/{either.headers['ETag']}"})
    assert weak.status_code == 412  # a weak tag never matches a strong comparison (RFC 9110)
    assert (await http.put("/v1/clients/banco/strategy", json=STRATEGY, headers={"If-Match": "*"})).status_code == 200
    assert (await http.put("/v1/clients/banco/strategy", json=STRATEGY)).json()["version"] == 4  # If-Match optional
    for bad in ("sin-comillas", '"abc', '"a", b', "x" * 3000):
        refused = await http.put("/v1/clients/banco/strategy", json=STRATEGY, headers={"If-Match": bad})
        assert (refused.status_code, refused.json()["code"]) == (400, "invalid_if_match"), bad
    assert (await http.get("/v1/clients/banco/strategy")).json()["version"] == 4
