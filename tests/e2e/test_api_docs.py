"""The API's documentation page, /docs, in a real headless Chromium (Debian's, driven by Playwright) against the
whole platform: Swagger UI shows the platform's operations from files the platform itself serves (no request
leaves it for a CDN) and nothing on it breaks its Content-Security-Policy."""

from urllib.parse import urlsplit

import pytest
from playwright.async_api import async_playwright, expect

from recaudo_common.testing import RunningPlatform

from .browser_csp import csp_violations
from .test_debtor_page import CHROMIUM, CHROMIUM_ARGS, CHROMIUM_INSTALLED

pytestmark = pytest.mark.e2e


async def test_the_api_documentation_runs_from_the_platform_alone(platform: RunningPlatform) -> None:
    assert CHROMIUM_INSTALLED, "Debian's chromium is not installed (scripts/test.sh installs it)"
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = await browser.new_page(locale="es-CO")
        violations = await csp_violations(page)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        asked: list[str] = []
        page.on("request", lambda r: asked.append(r.url))
        answer = await page.goto(platform.base_url + "/docs")
        assert answer is not None and answer.status == 200
        # Swagger UI read the platform's OpenAPI and lists its operations, styled by its own stylesheet. The
        # document is the first asked of the process (seconds to make on two busy cores) and large (90 paths).
        operation = page.locator(".opblock-summary-path", has_text="/v1/clients").first
        try:
            await expect(operation).to_be_visible(timeout=60_000)
        except AssertionError:
            raise AssertionError(f"no operation shown; errors {errors}, violations {violations}") from None
        assert await page.evaluate(
            "getComputedStyle(document.querySelector('.swagger-ui .opblock')).borderRadius") != "0px"
        await page.goto(platform.base_url + "/redoc")  # ReDoc's old address leads to the same page
        await expect(operation).to_be_visible(timeout=60_000)
        await browser.close()
    ours = urlsplit(platform.base_url).netloc
    assert [url for url in asked if urlsplit(url).netloc != ours and not url.startswith("data:")] == []
    assert errors == [] and violations == [], (errors, violations)
