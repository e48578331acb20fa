"""Test support for pages and paged lists: a console page's text as a person reads it; signing in on the console
in a browser; a list walked by its `next` links, checking each page as a caller would see it; an answer awaited
until it says what a test waits for."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from typing import Any, Protocol

import httpx

from recaudo_common.testing import eventually


def text_of(html: str) -> str:
    """A console page's text as a person reads it: its tags gone, its spaces one."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


class BrowserPage(Protocol):
    """What signing in needs of a Playwright page."""

    async def goto(self, url: str) -> object: ...

    async def fill(self, selector: str, value: str) -> None: ...

    async def click(self, selector: str) -> None: ...

    async def wait_for_selector(self, selector: str) -> object: ...


async def answer_when(http: httpx.AsyncClient, method: str, url: str, ready: Callable[[httpx.Response], bool],
                      message: str, *, timeout_s: float = 30, shown_chars: int = 500,
                      **request: Any) -> httpx.Response:
    """The answer to `method url` once `ready` holds for it, asked again until a deadline (another service may not
    have learned of the client company yet, an upload may still be going on); else a failure that shows the last
    answer, its status and the first `shown_chars` of its text."""
    last: list[str] = []

    async def call() -> httpx.Response | None:
        answer = await http.request(method, url, **request)
        last[:] = [f"{answer.status_code} {answer.text[:shown_chars]}"]
        return answer if ready(answer) else None

    try:
        found = await eventually(call, timeout_s=timeout_s, message=message)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; last answer: {last}") from None
    assert found is not None  # eventually returns only a truthy value
    return found


async def sign_in_on_console(page: BrowserPage, base_url: str, email: str, password: str) -> None:
    """A person signs in on the console's page as they would: e-mail, password, the button; then their name shows."""
    await page.goto(base_url + "/console")
    await page.fill("input[type=email]", email)
    await page.fill("input[type=password]", password)
    await page.click("button[type=submit]")
    await page.wait_for_selector("#signed-in-as")


INVALID_CURSORS = ("not-base64!", "e30", "bnVsbA", "W3RydWVd", "WzEsMiwzLDQsNSw2XQ")


async def walk_pages(http: httpx.AsyncClient, url: str, *, limit: int,
                     headers: dict[str, str] | None = None) -> tuple[list[dict[str, Any]], int]:
    """Every item of the list at `url` asked `limit` at a time, following `next` until it is null, and the number
    of pages: each page holds at most `limit` items, each but the last sends its `next` as an RFC 8288 Link header
    and keeps `limit`, the last sends no Link."""
    items: list[dict[str, Any]] = []
    pages = 0
    path = url.split("?")[0]
    next_url: str | None = f"{url}{'&' if '?' in url else '?'}limit={limit}"
    while next_url:
        answer = await http.get(next_url, headers=headers)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert set(body) == {"items", "next"}, body
        assert len(body["items"]) <= limit
        items += body["items"]
        pages += 1
        next_url = body["next"]
        if next_url:
            assert answer.headers["Link"] == f'<{next_url}>; rel="next"'
            assert next_url.startswith(f"{path}?") and f"limit={limit}" in next_url, next_url
            assert body["items"], "a page with a next has items"
        else:
            assert "Link" not in answer.headers
        assert pages < 1000, "the list never ends"
    return items, pages


def cursor_of(*key: object) -> str:
    """A cursor carrying `key`, as a list encodes its own: for cursors of the right shape but a wrong value."""
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


async def assert_invalid_cursors_refused(http: httpx.AsyncClient, url: str, *wrong_keys: tuple[object, ...],
                                         headers: dict[str, str] | None = None) -> None:
    """Cursors the list never gave (not base64, not a list, the wrong length or types, `wrong_keys`: the right
    length but a value the list never sorts by) are a 422 invalid_cursor; one too long a 422 validation_error."""
    for cursor in (*INVALID_CURSORS, *(cursor_of(*k) for k in wrong_keys), "A" * 600):
        refused = await http.get(url, params={"cursor": cursor}, headers=headers)
        assert refused.status_code == 422, (cursor, refused.text)
        assert refused.json()["code"] == ("validation_error" if len(cursor) > 512 else "invalid_cursor"), (
            cursor, refused.json())
