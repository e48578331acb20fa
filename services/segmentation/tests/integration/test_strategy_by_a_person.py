"""A person signed in on the console (#23) works in segmentation with the session ingest opened, through the
identity schema every service reads: the strategy version they make is recorded with their name, an unsafe request
without the session's CSRF token is refused, and an agent may not change a strategy."""

import datetime as dt
from collections.abc import AsyncIterator

import httpx
import pytest

from recaudo_common.auth import Role
from recaudo_common.people import UserStore
from recaudo_common.runtime import Platform, build_app, make_platform
from recaudo_common.sessions import SessionRules, csrf_token
from recaudo_common.testing import settings_for_test
from segmentation.main import build

from .test_aging import CLIENT, deliver
from .test_strategy import every_cell

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 31, 15, 0, tzinfo=dt.UTC)
RULES = SessionRules(dt.timedelta(hours=12), dt.timedelta(minutes=30))
STRATEGY = {"tiers": {"high": "100000", "medium": "10000"}, "rules": every_cell("sms_only", ["sms"])}


@pytest.fixture
async def platform(database_url: str) -> AsyncIterator[Platform]:
    p = make_platform(settings_for_test(database_url), pool_size=3, clock=lambda: NOW)
    yield p
    await p.db.dispose()


async def signed_in(platform: Platform, email: str, role: Role) -> dict[str, str]:
    """The headers of a browser signed in as a new user: its session cookie and the console's CSRF token."""
    user = await UserStore(platform.db).create(email=email, role=role, client_slug=None, password_hash=None,
                                               totp_secret=None, by="test", now=NOW)
    token = await platform.auth.sessions.open(user_id=user.id, by="password", rules=RULES, now=NOW)
    return {"Cookie": f"recaudo_session={token}", "X-CSRF-Token": csrf_token(token)}


async def test_a_strategy_changed_by_a_person_is_recorded_with_their_name(platform: Platform) -> None:
    await deliver(platform, [CLIENT], NOW)
    ana = await signed_in(platform, "ana@agencia.co", "supervisor")
    luis = await signed_in(platform, "luis@agencia.co", "agent")
    app = build_app(platform, [build(platform)])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://test") as http:
        no_token = {"Cookie": ana["Cookie"]}
        refused = await http.put("/v1/clients/banco/strategy", headers=no_token, json=STRATEGY)
        assert (refused.status_code, refused.json()["code"]) == (403, "csrf_token_invalid")
        agent = await http.put("/v1/clients/banco/strategy", headers=luis, json=STRATEGY)
        assert (agent.status_code, agent.json()["code"]) == (403, "forbidden")

        put = await http.put("/v1/clients/banco/strategy", headers=ana, json=STRATEGY)
        assert put.status_code == 200, put.text
        versions = (await http.get("/v1/clients/banco/strategy/versions", headers=no_token)).json()
        assert [(v["version"], v["created_by"]) for v in versions["items"]] == [(1, "user ana@agencia.co")]
