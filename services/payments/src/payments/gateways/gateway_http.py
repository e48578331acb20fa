"""Asking a gateway's API (a notification's look-up, a checkout, a cash voucher, a day's reconciliation): one
request, its answer read under a cap, and every way it can fail as GatewayUnreachable. The message names the
gateway and the status, never a credential or the payer."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import httpx

from payments.gateways.domain.notifications import MAX_BODY_BYTES


class GatewayUnreachable(Exception):
    """The gateway's API could not be asked, or answered with a failure: a notification is answered 503 so the
    gateway sends it again later; a debtor is told to try again; a reconciliation fails and runs again."""


def only_ok(status: int) -> bool:
    return status == 200


def new_client(timeout_s: float) -> httpx.AsyncClient:
    """A client for a run of requests to one gateway (redirects are never followed: a gateway's API answers)."""
    return httpx.AsyncClient(timeout=httpx.Timeout(timeout_s), follow_redirects=False)


async def ask(method: str, url: str, *, what: str, headers: Mapping[str, str], timeout_s: float = 10.0,
              content: bytes | None = None, params: httpx.QueryParams | None = None,
              answered: Callable[[int], bool] = only_ok, max_bytes: int = MAX_BODY_BYTES,
              http: httpx.AsyncClient | None = None) -> tuple[int, bytes]:
    """(status, body) when `answered(status)`; any other status, no answer, or a body over `max_bytes` is
    GatewayUnreachable. On `http` when given (a run of requests), else on a client of its own."""

    async def on(client: httpx.AsyncClient) -> tuple[int, bytes]:
        async with client.stream(method, url, headers=dict(headers), params=params, content=content) as answer:
            if not answered(answer.status_code):
                raise GatewayUnreachable(f"{what} answered {answer.status_code}")
            body = bytearray()
            async for chunk in answer.aiter_bytes():
                body.extend(chunk)
                if len(body) > max_bytes:
                    raise GatewayUnreachable(f"{what} answered more than {max_bytes} bytes")
            return answer.status_code, bytes(body)

    try:
        if http is not None:
            return await on(http)
        async with new_client(timeout_s) as own:
            return await on(own)
    except httpx.HTTPError as e:
        raise GatewayUnreachable(f"{what} could not be reached ({type(e).__name__})") from None
