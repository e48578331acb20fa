"""API keys through the identity routes and a real PostgreSQL: a key may expire (then it answers 401
`expired_api_key`), and operators list keys without ever seeing a secret or its hash."""

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import APIRouter, Depends
from sqlalchemy.ext.asyncio import AsyncSession

from recaudo_common.auth import Principal, hash_key
from recaudo_common.identity_api import CLIENT_FINDER, router
from recaudo_common.migrate import COMMON_MIGRATIONS
from recaudo_common.routing import AuthorisedFirstRoute
from recaudo_common.runtime import Platform, ServiceUnit, build_app, make_platform
from recaudo_common.testing import settings_for_test
from recaudo_common.testing_clock import HandClock
from recaudo_common.testing_pages import assert_invalid_cursors_refused, walk_pages

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)
CLIENT_COMPANIES = {"banco", "telco"}


@dataclass
class Identity:
    platform: Platform
    http: httpx.AsyncClient
    operator: str
    clock: HandClock[dt.datetime]

    def as_(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}


@pytest.fixture
async def identity(database_url: str) -> AsyncIterator[Identity]:
    clock = HandClock(NOW)
    platform = make_platform(settings_for_test(database_url), pool_size=2, clock=clock)
    platform.auth.ttl_s = 0  # no cache between the steps of a test: each request sees the key as it is now
    probe = APIRouter(route_class=AuthorisedFirstRoute)

    @probe.get("/v1/whoami")
    async def whoami(principal: Principal = Depends(platform.auth)) -> dict[str, str]:
        return {"role": principal.role}

    async def find_client(session: AsyncSession, slug: str) -> str | None:
        """The mounting unit's finder of client companies (ingest's reads its table)."""
        return slug if slug in CLIENT_COMPANIES else None

    unit = ServiceUnit(name="identity", schema="identity", migrations=COMMON_MIGRATIONS / "identity",
                       routers=[router, probe], app_state={CLIENT_FINDER: find_client})
    app = build_app(platform, [unit])
    _, operator = await platform.keys.create(role="operator", label="bootstrap", now=clock.now)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        yield Identity(platform, http, operator, clock)
    await platform.db.dispose()


async def test_a_key_that_expired_answers_401_expired_api_key(identity: Identity) -> None:
    created = await identity.http.post("/v1/keys", headers=identity.as_(identity.operator), json={
        "role": "sre", "label": "on-call", "expires_at": (NOW + dt.timedelta(days=7)).isoformat()})
    assert created.status_code == 201, created.text
    assert created.json()["expires_at"] == "2026-03-11T15:00:00Z"
    key = created.json()["key"]
    assert (await identity.http.get("/v1/whoami", headers=identity.as_(key))).json() == {"role": "sre"}
    identity.clock.now = NOW + dt.timedelta(days=7, seconds=-1)
    assert (await identity.http.get("/v1/whoami", headers=identity.as_(key))).status_code == 200
    identity.clock.now = NOW + dt.timedelta(days=7)
    expired = await identity.http.get("/v1/whoami", headers=identity.as_(key))
    assert expired.status_code == 401
    assert expired.json()["code"] == "expired_api_key" and "2026-03-11T15:00:00+00:00" in expired.json()["detail"]
    assert expired.headers["www-authenticate"] == "Bearer"
    # The operator's key, made without an expiry, never expires.
    identity.clock.now = NOW + dt.timedelta(days=3650)
    assert (await identity.http.get("/v1/whoami", headers=identity.as_(identity.operator))).status_code == 200


async def test_an_expiry_must_be_a_future_moment_with_its_time_zone(identity: Identity) -> None:
    for expires_at in ((NOW - dt.timedelta(seconds=1)).isoformat(), NOW.isoformat(), "2026-04-01T00:00:00"):
        refused = await identity.http.post("/v1/keys", headers=identity.as_(identity.operator),
                                           json={"role": "sre", "expires_at": expires_at})
        assert refused.status_code == 422, (expires_at, refused.text)
    assert len((await identity.http.get("/v1/keys", headers=identity.as_(identity.operator))).json()["items"]) == 1


async def test_operators_list_keys_without_their_secrets(identity: Identity) -> None:
    op = identity.as_(identity.operator)
    made = [(await identity.http.post("/v1/keys", headers=op, json=body)).json() for body in (
        {"role": "sre", "label": "grafana", "expires_at": (NOW + dt.timedelta(days=30)).isoformat()},
        {"role": "operator", "client_scope": ["banco"], "label": "scoped"})]
    identity.clock.now = NOW + dt.timedelta(minutes=1)
    await identity.http.delete(f"/v1/keys/{made[0]['id']}", headers=op)
    listing = await identity.http.get("/v1/keys", headers=op)
    assert listing.status_code == 200
    items = listing.json()["items"]
    assert len(items) == 3
    by_id = {item["id"]: item for item in items}
    sre = by_id[made[0]["id"]]
    assert (sre["role"], sre["label"], sre["hint"]) == ("sre", "grafana", made[0]["key"][-4:])
    assert sre["expires_at"] == "2026-04-03T15:00:00Z" and sre["revoked_at"] == "2026-03-04T15:01:00Z"
    scoped = by_id[made[1]["id"]]
    assert (scoped["client_scope"], scoped["expires_at"], scoped["revoked_at"]) == (["banco"], None, None)
    assert set(sre) == {"id", "role", "client", "client_scope", "label", "created_at", "expires_at", "revoked_at",
                        "hint"}
    # Nothing of a secret beyond its last four characters: not the key, not its hash, not a longer slice.
    text = listing.text
    for secret in (identity.operator, *(m["key"] for m in made)):
        assert secret not in text and hash_key(secret) not in text and secret[-5:] not in text

    # Only an operator with no scope may list (as only such a one may create and revoke).
    sre_key = (await identity.http.post("/v1/keys", headers=op, json={"role": "sre"})).json()["key"]
    assert (await identity.http.get("/v1/keys", headers=identity.as_(sre_key))).status_code == 403
    scoped_key = made[1]["key"]
    refused = await identity.http.get("/v1/keys", headers=identity.as_(scoped_key))
    assert refused.status_code == 403 and "scoped operator key cannot list" in refused.json()["detail"]
    assert (await identity.http.get("/v1/keys")).status_code == 401


async def test_a_key_names_only_client_companies_the_mounting_unit_knows(identity: Identity) -> None:
    op = identity.as_(identity.operator)
    for body, unknown in (({"role": "client", "client": "nadie"}, "'nadie'"),
                          ({"role": "operator", "client_scope": ["banco", "otro", "nadie"]}, "'otro', 'nadie'")):
        refused = await identity.http.post("/v1/keys", headers=op, json=body)
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] == "unknown_client"
        assert refused.json()["detail"] == f"no client company {unknown}"
    made = await identity.http.post("/v1/keys", headers=op, json={"role": "client", "client": "telco"})
    assert made.status_code == 201 and made.json()["client"] == "telco"
    listing = (await identity.http.get("/v1/keys", headers=op)).json()["items"]
    assert [item["client"] for item in listing if item["role"] == "client"] == ["telco"]


async def test_the_keys_are_read_page_by_page_newest_first(identity: Identity) -> None:
    op = identity.as_(identity.operator)
    for n in range(6):  # two at each moment: the id orders those made at the same one
        identity.clock.now = NOW + dt.timedelta(minutes=1 + n // 2)
        assert (await identity.http.post("/v1/keys", headers=op, json={"role": "sre", "label": f"k{n}"})
                ).status_code == 201
    everything = (await identity.http.get("/v1/keys", headers=op)).json()["items"]
    items, pages = await walk_pages(identity.http, "/v1/keys", limit=2, headers=op)
    assert pages == 4 and items == everything and len(items) == 7  # the bootstrap key too, none twice or missed
    assert [k["created_at"] for k in items] == sorted((k["created_at"] for k in items), reverse=True)
    assert items[-1]["label"] == "bootstrap"
    await assert_invalid_cursors_refused(identity.http, "/v1/keys", ("2026-03-04T15:00:00", items[0]["id"]),
                                         ("2026-03-04T15:00:00+00:00", "k1"), headers=op)
    for limit in ("0", "1001"):
        assert (await identity.http.get("/v1/keys", params={"limit": limit}, headers=op)).status_code == 422
