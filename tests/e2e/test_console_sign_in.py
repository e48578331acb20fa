"""Signing in on the console in a real headless Chromium (Debian's, driven by Playwright) (#23): /console sends a
stranger to the sign-in page, the e-mail and password sign in, the session cookie is HttpOnly, Secure and
SameSite=Lax so no script sees it (document.cookie does not show it) and nothing is kept in localStorage or
sessionStorage; the session works on the API, and signing out ends it."""

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import async_playwright

from recaudo.services import build_units
from recaudo_common.runtime import build_app, make_platform
from recaudo_common.testing import serving_app, settings_for_test

from .browser_csp import csp_violations
from .test_debtor_page import CHROMIUM, CHROMIUM_ARGS, CHROMIUM_INSTALLED

pytestmark = pytest.mark.e2e
PASSWORD = "una frase larga de acceso"


@pytest.fixture
async def console(database_url: str) -> AsyncIterator[tuple[str, str]]:
    """Ingest (which mounts identity) and reporting (the dashboard) served on a real port; its base URL and an
    operator key."""
    platform = make_platform(settings_for_test(database_url), pool_size=3)
    _, key = await platform.keys.create(role="operator", now=platform.clock())
    async with serving_app(build_app(platform, build_units(platform, ["ingest", "reporting"]))) as base_url:
        yield base_url, key
    await platform.db.dispose()


async def test_signing_in_in_a_browser_keeps_the_session_out_of_reach_of_scripts(console: tuple[str, str],
                                                                                 tmp_path: Path) -> None:
    assert CHROMIUM_INSTALLED, "Debian's chromium is not installed (scripts/test.sh installs it)"
    base_url, key = console
    async with httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {key}"}) as api:
        made = await api.post("/v1/users", json={"email": "ana@agencia.co", "password": PASSWORD, "role": "operator"})
        assert made.status_code == 201, made.text
        assert (await api.post("/v1/clients", json={
            "slug": "banco-andino", "name": "Banco Andino S.A.", "country": "CO", "currency": "COP",
            "timezone": "America/Bogota", "locale": "es-CO"})).status_code == 201

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = await browser.new_context(locale="es-CO")
        page = await context.new_page()
        violations = await csp_violations(page)
        await page.goto(base_url + "/console")
        assert page.url == base_url + "/console/sign-in"  # no session: sent to sign in
        await page.fill("input[type=email]", "ana@agencia.co")
        await page.fill("input[type=password]", "no es la contraseña")
        await page.click("button[type=submit]")
        assert await page.locator("[role=alert]").inner_text() == "Correo, contraseña o código incorrectos."

        await page.fill("input[type=password]", PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_selector("#signed-in-as")
        assert page.url == base_url + "/console"
        assert await page.locator("#signed-in-as").inner_text() == "ana@agencia.co"
        await page.screenshot(path=str(tmp_path / "console.png"))

        session = [c for c in await context.cookies() if c["name"] == "recaudo_session"]
        assert len(session) == 1
        assert (session[0]["httpOnly"], session[0]["secure"], session[0]["sameSite"], session[0]["path"]) == (
            True, True, "Lax", "/")
        assert "recaudo_session" not in await page.evaluate("document.cookie")
        assert await page.evaluate("[localStorage.length, sessionStorage.length]") == [0, 0]
        # The page's own scripts reach the API with the cookie; an unsafe request needs the page's CSRF token.
        read = await page.evaluate("fetch('/v1/users').then(r => r.status)")
        assert read == 200
        unsafe = await page.evaluate("""fetch('/v1/users', {method: 'POST', headers: {'Content-Type': 'application/json'},
            body: JSON.stringify({email: 'b@agencia.co', password: 'otra frase larga', role: 'agent'})})
            .then(async r => [r.status, (await r.json()).code])""")
        assert unsafe == [403, "csrf_token_invalid"]
        with_token = await page.evaluate("""fetch('/v1/users', {method: 'POST', headers: {'Content-Type':
            'application/json', 'X-CSRF-Token': document.querySelector('meta[name=csrf-token]').content},
            body: JSON.stringify({email: 'b@agencia.co', password: 'otra frase larga', role: 'agent'})})
            .then(async r => [r.status, (await r.json()).created_by])""")
        assert with_token == [201, "user ana@agencia.co"]

        # The dashboard works with the session alone: no key asked for, none kept.
        await page.goto(base_url + "/dashboard")
        await page.locator("#client-name", has_text="Banco Andino S.A.").wait_for()
        assert await page.locator("#login").is_hidden()
        assert await page.evaluate("[localStorage.length, sessionStorage.length]") == [0, 0]

        await page.goto(base_url + "/console")
        await page.click("text=Cerrar sesión")
        await page.wait_for_url(base_url + "/console/sign-in")
        assert [c for c in await context.cookies() if c["name"] == "recaudo_session"] == []
        await page.goto(base_url + "/console")
        assert page.url == base_url + "/console/sign-in"
        assert violations == [], violations  # no style or script the policy refuses
        await browser.close()
