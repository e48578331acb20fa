"""The API's documentation page, /docs, in a real headless Chromium (Debian's, driven by Playwright) against the
whole platform: Swagger UI shows the platform's operations from files the platform itself serves (no request
leaves it for a CDN) and nothing on it breaks its Content-Security-Policy."""

from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, Page, Playwright, async_playwright, expect

from recaudo_common.testing import RunningPlatform

from .browser_csp import csp_violations
from .test_debtor_page import CHROMIUM, CHROMIUM_ARGS, CHROMIUM_INSTALLED

pytestmark = pytest.mark.e2e


async def watched_page(p: Playwright) -> tuple[Browser, Page, list[str], list[str]]:
    """Chromium on a Spanish page that keeps every breach of its policy and every error its scripts throw."""
    browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    page = await browser.new_page(locale="es-CO")
    violations = await csp_violations(page)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    return browser, page, violations, errors


async def test_the_api_documentation_runs_from_the_platform_alone(platform: RunningPlatform) -> None:
    assert CHROMIUM_INSTALLED, "Debian's chromium is not installed (scripts/test.sh installs it)"
    async with async_playwright() as p:
        browser, page, violations, errors = await watched_page(p)
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


async def test_an_operator_authorizes_and_tries_a_request_from_the_documentation(platform: RunningPlatform) -> None:
    """Swagger UI's «Authorize» dialog takes the bearer key and «Try it out» sends a request with it, under the
    page's policy: an operator lists the client companies (200) from /docs, and no step breaks the policy."""
    assert CHROMIUM_INSTALLED, "Debian's chromium is not installed (scripts/test.sh installs it)"
    async with platform.client() as api:
        assert (await api.post("/v1/clients", json={
            "slug": "banco-andino", "name": "Banco Andino S.A.", "country": "CO", "currency": "COP",
            "timezone": "America/Bogota", "locale": "es-CO"})).status_code == 201
    async with async_playwright() as p:
        browser, page, violations, errors = await watched_page(p)
        sent: list[str | None] = []
        page.on("request", lambda r: sent.append(r.headers.get("authorization"))
                if urlsplit(r.url).path == "/v1/clients" and r.method == "GET" else None)
        await page.goto(platform.base_url + "/docs")
        await expect(page.locator(".opblock-summary-path", has_text="/v1/clients").first).to_be_visible(
            timeout=60_000)

        await page.locator(".auth-wrapper button.authorize").click()
        dialog = page.locator(".dialog-ux .modal-ux")
        await expect(dialog).to_be_visible()
        await dialog.locator("input[type=text], input[type=password]").first.fill(platform.operator_key)
        await dialog.locator("button.authorize[type=submit]").first.click()
        await expect(dialog.locator("button", has_text="Logout").first).to_be_visible()
        await dialog.locator("button.close-modal").click()
        await expect(dialog).to_be_hidden()

        operation = page.locator(".opblock-get", has=page.locator(".opblock-summary-path",
                                                                   has_text="/v1/clients")).filter(
            has=page.locator(".opblock-summary-path[data-path='/v1/clients']")).first
        await operation.locator(".opblock-summary").click()
        await operation.locator("button.try-out__btn").click()
        await operation.locator("button.execute").click()
        status = operation.locator(".live-responses-table .response .response-col_status").first
        await expect(status).to_have_text("200", timeout=30_000)
        await expect(operation.locator(".live-responses-table .highlight-code").first).to_contain_text(
            "banco-andino")
        await browser.close()
    assert errors == [] and violations == [], (errors, violations)
    assert sent and sent[-1] == f"Bearer {platform.operator_key}", sent
