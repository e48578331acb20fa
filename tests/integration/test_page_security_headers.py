"""Every HTML page of the platform answers with the Content-Security-Policy (recaudo_common.page_policy): each
browser route of every service, asked as a browser asks, and every inline <style> or <script> on it allowed by its
hash, so the policy neither misses a page nor breaks one."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi.routing import APIRoute
from starlette.applications import Starlette
from starlette.routing import Route

from recaudo.services import build_units
from recaudo_common.page_policy import digest
from recaudo_common.runtime import Platform, build_app, make_platform
from recaudo_common.testing import settings_for_test

pytestmark = pytest.mark.integration
SERVICES = ["ingest", "segmentation", "outreach", "payments", "reporting"]
# The debtor's pages and the consoles' doors: each must be among the pages found (the walk cannot pass empty).
MUST_SERVE_HTML = {"/pay/{token}", "/u/{token}", "/checkout/{token}", "/dashboard", "/console/sign-in", "/docs"}
DIRECTIVES = ("default-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'")
INLINE = re.compile(r"<(style|script)>(.*?)</\1>", re.DOTALL)


@pytest.fixture
async def platform(database_url: str) -> AsyncIterator[Platform]:
    p = make_platform(settings_for_test(database_url), pool_size=2)
    yield p
    await p.db.dispose()


def routes(app: Starlette) -> Iterator[tuple[str, set[str]]]:
    """Every route's path and methods, those of included routers too."""
    for route in app.routes:
        if hasattr(route, "effective_route_contexts"):  # a router included as a whole (FastAPI's _IncludedRouter)
            for found in route.effective_route_contexts():
                yield found.path, set(found.methods or ())
        elif isinstance(route, (APIRoute, Route)):
            yield route.path, set(route.methods or ())


def directive(csp: str, name: str) -> str:
    found = [d.strip() for d in csp.split(";") if d.strip().split(" ")[0] == name]
    return found[0] if found else csp.split(";")[0]  # default-src governs what has no directive of its own


def assert_protected(path: str, answer: httpx.Response) -> None:
    csp = answer.headers.get("content-security-policy", "")
    for wanted in DIRECTIVES:
        assert wanted in csp, f"{path} ({answer.status_code}) answers without {wanted!r}: {csp!r}"
    # Neither scripts nor styles inline but by hash: an injected <style> or style attribute is refused too (no
    # page, the dashboard's charts included, needs 'unsafe-inline').
    assert "'unsafe-inline'" not in directive(csp, "script-src"), path
    assert "'unsafe-inline'" not in directive(csp, "style-src"), path
    assert answer.headers["x-frame-options"] == "DENY" and answer.headers["cache-control"] == "no-store", path
    assert answer.headers["x-content-type-options"] == "nosniff", path
    # A debtor's page's address carries its signed link: no Referer takes it anywhere, not even to us; the
    # consoles' addresses name client companies and accounts: only our own pages are told them.
    debtors = path.startswith(("/pay/", "/u/", "/checkout/"))
    assert answer.headers["referrer-policy"] in ({"no-referrer"} if debtors else {"no-referrer", "same-origin"}), path
    for kind, body in INLINE.findall(answer.text):
        allowed = directive(csp, f"{kind}-src")
        assert digest(body) in allowed or "'unsafe-inline'" in allowed, f"{path}: an inline <{kind}> is blocked"


async def test_every_html_page_answers_with_the_content_security_policy(platform: Platform) -> None:
    app = build_app(platform, build_units(platform, SERVICES))
    paths = sorted({path for path, methods in routes(app) if "GET" in methods
                    and not path.startswith(("/v1", "/healthz", "/readyz", "/metrics", "/openapi"))})
    html = set()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test",
                                 headers={"Accept": "text/html"}) as http:
        for path in paths:
            # A made-up value for each parameter: a link that is not valid answers its refusal page, which is a
            # debtor's page like any other.
            asked = re.sub(r"\{[^}]+\}", "x.y", path)
            answer = await http.get(asked)
            # Whatever it is (a page, a page's script, Plotly), the browser takes it only as the type it says.
            assert answer.headers.get("x-content-type-options") == "nosniff", (asked, answer.status_code)
            if answer.headers.get("content-type", "").startswith("text/html"):
                html.add(path)
                assert_protected(asked, answer)
        # The API's documentation is Swagger UI from this process, nothing from a CDN; ReDoc's old address leads there.
        docs = await http.get("/docs")
        assert re.findall(r'(?:src|href)="([^"]+)"', docs.text) and all(
            ref.startswith("/docs/static/") for ref in re.findall(r'(?:src|href)="([^"]+)"', docs.text)), docs.text
        for ref in re.findall(r'(?:src|href)="([^"]+)"', docs.text):
            asset = await http.get(ref)
            assert asset.status_code == 200 and asset.headers["x-content-type-options"] == "nosniff", ref
        redoc = await http.get("/redoc")
        assert (redoc.status_code, redoc.headers.get("location")) == (307, "/docs")
        # The debtor page's own pages, past the link's refusal: the identity question, a checkout's outcome.
        for asked in ("/checkout/RCD-NOPE", "/pay/x.y"):
            answer = await http.get(asked)
            assert answer.headers["content-type"].startswith("text/html"), asked
            assert_protected(asked, answer)
    assert MUST_SERVE_HTML <= html, sorted(html)


async def test_the_apis_answers_are_kept_in_no_browsers_cache(platform: Platform) -> None:
    """What a console page shows comes from the API (people's e-mails, debtors' names and balances), and a browser
    keeps an answer it is not told not to on disk: every answer is no-store unless its route says otherwise (a
    page's script, Plotly, Swagger UI's files: no personal data)."""
    app = build_app(platform, build_units(platform, SERVICES))
    _, operator = await platform.keys.create(role="operator", now=platform.clock())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test",
                                 headers={"Authorization": f"Bearer {operator}"}) as http:
        person = {"email": "ana@agencia.co", "password": "una frase larga de acceso", "role": "operator"}
        assert (await http.post("/v1/users", json=person)).status_code == 201
        people = await http.get("/v1/users")
        assert "ana@agencia.co" in people.text and people.headers.get("cache-control") == "no-store"
        refused = await http.get("/v1/users", headers={"Authorization": "Bearer nope"})
        assert refused.status_code == 401 and refused.headers.get("cache-control") == "no-store"
        assert (await http.get("/dashboard/static/plotly.min.js")).headers["cache-control"] == "public, max-age=86400"
