"""The live report's stream over real HTTP (uvicorn, as served): it ends once its caller may no longer read the
report (a revoked key, a session signed out), and one caller keeps only a few streams of a client company open at
once, so that no key can hold every request slot of a replica (the server answers 503 past them to everyone)."""

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import text

from recaudo_common.events import ClientRegistered
from recaudo_common.people import UserStore
from recaudo_common.runtime import Platform, build_app, make_platform
from recaudo_common.sessions import SESSION_COOKIE, SessionRules
from recaudo_common.testing import serving_app, settings_for_test
from reporting import dashboard
from reporting.main import build
from reporting.settings import ReportingSettings

from .conftest import deliver

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 20, 15, 0, tzinfo=dt.UTC)
STREAM = "/v1/clients/banco/reports/stream"


@dataclass
class Served:
    platform: Platform
    url: str
    settings: ReportingSettings

    async def key(self) -> str:
        _, key = await self.platform.keys.create(role="client", client_slug="banco", now=NOW)
        return key


@pytest.fixture
async def served(database_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Served]:
    monkeypatch.setattr(dashboard, "KEEP_ALIVE_S", 0.2)  # the stream wakes often: a test waits seconds, not minutes
    platform = make_platform(settings_for_test(database_url), pool_size=5, clock=lambda: NOW)
    platform.auth.ttl_s = 0  # a revoked key is refused at its next look-up
    await deliver(platform, [("banco", NOW - dt.timedelta(days=1), ClientRegistered(
        slug="banco", name="Banco", country="CO", currency="COP", timezone="America/Bogota", locale="es-CO",
        default_authorised_channels=["sms"]))], now=NOW)
    settings = ReportingSettings(database_url=platform.settings.database_url, environment="test")
    async with serving_app(build_app(platform, [build(platform, settings)])) as url:
        yield Served(platform, url, settings)
    await platform.db.dispose()


async def first_event(answer: httpx.Response) -> AsyncIterator[str]:
    """The stream's lines, once its first `recovery` event has come."""
    lines = answer.aiter_lines()
    async for line in lines:
        if line.startswith("data: "):
            break
    return lines


async def test_a_stream_ends_once_its_key_is_revoked(served: Served) -> None:
    key = await served.key()
    async with httpx.AsyncClient(base_url=served.url, headers={"Authorization": f"Bearer {key}"}) as http:
        async with http.stream("GET", STREAM) as answer:
            assert answer.status_code == 200
            lines = await first_event(answer)
            key_id = next(k.id for k in await served.platform.keys.list() if k.role == "client")
            assert await served.platform.keys.revoke(key_id, now=NOW)

            async def drained() -> int:
                return len([line async for line in lines])

            # On the old code the keep-alives went on for as long as the connection stayed open.
            await asyncio.wait_for(drained(), timeout=10)


async def test_a_stream_ends_once_its_session_is_signed_out_and_does_not_keep_it_alive(served: Served) -> None:
    person = await UserStore(served.platform.db).create(email="ana@banco.co", role="client", client_slug="banco",
                                                        password_hash=None, totp_secret=None, by="test", now=NOW)
    rules = SessionRules(dt.timedelta(hours=12), dt.timedelta(minutes=30))
    token = await served.platform.auth.sessions.open(user_id=person.id, by="password", rules=rules,
                                                     now=NOW - dt.timedelta(minutes=5))
    async with httpx.AsyncClient(base_url=served.url, headers={"Cookie": f"{SESSION_COOKIE}={token}"}) as http:
        async with http.stream("GET", STREAM) as answer:
            assert answer.status_code == 200
            lines = await first_event(answer)
            for _ in range(5):  # keep-alives: the stream's own checks do not mark the session used
                await anext(lines)
            async with served.platform.db.transaction() as s:
                seen = (await s.execute(text("SELECT last_seen_at FROM identity.sessions"))).scalar_one()
            assert seen == NOW  # the request that opened the stream marked it, nothing since
            await served.platform.auth.sessions.revoke(token, now=NOW)

            async def drained() -> int:
                return len([line async for line in lines])

            await asyncio.wait_for(drained(), timeout=10)

async def test_one_caller_keeps_only_a_few_streams_of_a_company_open(served: Served) -> None:
    key, other = await served.key(), await served.key()
    allowed = served.settings.live_streams_per_caller
    async with httpx.AsyncClient(base_url=served.url, headers={"Authorization": f"Bearer {key}"},
                                 timeout=10) as http:
        opened = [await http.send(http.build_request("GET", STREAM), stream=True) for _ in range(allowed)]
        try:
            assert [o.status_code for o in opened] == [200] * allowed
            refused = await http.get(STREAM)
            assert (refused.status_code, refused.json()["code"]) == (429, "too_many_streams"), refused.text
            assert int(refused.headers["Retry-After"]) >= 1
            # Another key of the same company is not held to this one's streams.
            async with http.stream("GET", STREAM, headers={"Authorization": f"Bearer {other}"}) as theirs:
                assert theirs.status_code == 200
        finally:
            for o in opened:
                await o.aclose()

        async def reopens() -> bool:
            async with http.stream("GET", STREAM) as again:
                return again.status_code == 200

        # A closed stream gives its place back.
        for _ in range(50):
            if await reopens():
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("no stream could be opened again once the others were closed")
