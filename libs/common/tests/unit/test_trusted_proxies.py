"""The client's address behind the Gateway: the server believes X-Forwarded-For only from the proxies the operator
trusts (RECAUDO_HTTP_TRUSTED_PROXIES), so the console's per-address sign-in limit counts browsers, not the Gateway,
and nobody else can claim an address by sending the header."""

import httpx
import pytest
from fastapi import FastAPI, Request
from pydantic import ValidationError

from recaudo_common.runtime import http_config
from recaudo_common.settings import PlatformSettings

pytestmark = pytest.mark.unit


def app_seeing_the_client() -> FastAPI:
    app = FastAPI()

    @app.get("/who")
    async def who(request: Request) -> str:
        return request.client.host if request.client else "?"

    return app


async def seen(settings: PlatformSettings, peer: str, forwarded_for: str) -> str:
    config = http_config(settings, app_seeing_the_client(), host="127.0.0.1", port=0)
    config.load()  # the server's own wrapping of the app (its proxy-headers middleware)
    transport = httpx.ASGITransport(app=config.loaded_app, client=(peer, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        answer = await http.get("/who", headers={"X-Forwarded-For": forwarded_for})
    return str(answer.json())


async def test_only_a_trusted_proxys_forwarded_address_is_believed() -> None:
    behind_gateway = PlatformSettings(http_trusted_proxies=("10.42.0.0/16",))
    assert await seen(behind_gateway, "10.42.7.9", "203.0.113.9") == "203.0.113.9"
    assert await seen(behind_gateway, "198.51.100.4", "203.0.113.9") == "198.51.100.4"  # anyone else: its own
    assert await seen(PlatformSettings(), "10.42.7.9", "203.0.113.9") == "10.42.7.9"  # none trusted by default
    assert await seen(PlatformSettings(http_trusted_proxies=("*",)), "10.0.0.1", "203.0.113.9") == "203.0.113.9"


def test_a_trusted_proxy_must_be_an_address_a_range_or_everyone() -> None:
    with pytest.raises(ValidationError, match="neither an address"):
        PlatformSettings(http_trusted_proxies=("gateway.recaudo",))
    assert PlatformSettings(http_trusted_proxies=("10.0.0.1", "fd00::/8")).http_trusted_proxies == (
        "10.0.0.1", "fd00::/8")
