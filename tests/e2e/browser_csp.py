"""A page's Content-Security-Policy violations, as a browser test sees them: every inline style or script the
browser refused, whichever put it there (a template, a page's script, a charting library), so a test fails on
one instead of showing a page quietly unstyled."""

from __future__ import annotations

from playwright.async_api import ConsoleMessage, Page

# Runs before any script of the page (Playwright injects it past the page's own policy); the browser fires the
# event once per refused inline block or attribute, naming the directive and where.
_REPORT = ("document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation: ' + "
           "e.effectiveDirective + ' ' + e.blockedURI + ' ' + e.sourceFile + ':' + e.lineNumber + ' ' + e.sample))")


async def csp_violations(page: Page) -> list[str]:
    """The list that gathers, from now on, every violation on `page` (with the address the page was at)."""
    found: list[str] = []

    def heard(message: ConsoleMessage) -> None:
        if message.text.startswith("CSP violation: "):
            found.append(f"{page.url}: {message.text}")

    await page.add_init_script(_REPORT)
    page.on("console", heard)
    return found
