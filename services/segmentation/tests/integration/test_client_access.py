"""Who reaches a client company's segmentation through the one dependency (recaudo_common.dependencies.client_of):
its own client key reads it, another company's key and an unknown company get 404, a client key cannot change it."""

import datetime as dt

import httpx
import pytest

from recaudo_common.runtime import Platform, build_app
from segmentation.main import build

from .test_aging import CLIENT, deliver

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 31, 15, 0, tzinfo=dt.UTC)
COSTS = {"costs": {"sms": "120"}}


async def test_the_client_company_and_the_callers_right_to_it(platform: Platform) -> None:
    await deliver(platform, [CLIENT], NOW)
    _, operator = await platform.keys.create(role="operator", now=NOW)
    _, own = await platform.keys.create(role="client", client_slug="banco", now=NOW)
    _, other = await platform.keys.create(role="client", client_slug="telco", now=NOW)
    _, scoped = await platform.keys.create(role="operator", client_scope=["telco"], now=NOW)
    app = build_app(platform, [build(platform)])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        def as_(key: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {key}"}

        assert (await http.get("/v1/clients/banco/costs", headers=as_(own))).status_code == 200
        assert (await http.put("/v1/clients/banco/costs", json=COSTS, headers=as_(operator))).status_code == 200

        for key in (other, scoped):  # as if banco did not exist
            refused = await http.get("/v1/clients/banco/buckets", headers=as_(key))
            assert (refused.status_code, refused.json()["code"]) == (404, "not_found")
            assert "banco" in refused.json()["detail"]
        unknown = await http.get("/v1/clients/nadie/segments", headers=as_(operator))
        assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")

        changed = await http.put("/v1/clients/banco/costs", json={"costs": {"sms": "1"}}, headers=as_(own))
        assert (changed.status_code, changed.json()["code"]) == (403, "forbidden")
        kept = (await http.get("/v1/clients/banco/costs", headers=as_(own))).json()
        assert kept["costs"]["sms"] == "120"

        nobody = await http.get("/v1/clients/banco/strategy")
        assert nobody.status_code == 401
