"""The debtor's page in a real headless Chromium (Debian's, driven by Playwright) against the whole platform:
the link from outreach, the identity question, a promise, and a payment through the sandbox gateway whose
signed webhook reaches payments and lowers the balance the client company sees."""

import datetime as dt
import zoneinfo
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import async_playwright

from recaudo_common.testing import (
    RunningPlatform,
    eventually,
)

from .browser_csp import csp_violations

pytestmark = pytest.mark.e2e
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_INSTALLED = Path(CHROMIUM).exists()
# As the machine's probe runs it: no background networking, which this closed network refuses.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update"]
BANCO = {"slug": "banco-andino", "name": "Banco Andino S.A.", "country": "CO", "currency": "COP",
         "timezone": "America/Bogota", "locale": "es-CO"}
CSV = "Número Obligación;Cédula;Nombre Completo;Celular;Saldo Total;Días Mora\n" \
      "B-001;1020304050;Ana Gómez;300 123 4567;2.500.000;45\n"


async def test_a_debtor_verifies_promises_and_pays_in_a_real_browser(platform: RunningPlatform) -> None:
    assert CHROMIUM_INSTALLED, "Debian's chromium is not installed (scripts/test.sh installs it)"
    async with platform.client() as operator:
        assert (await operator.post("/v1/clients", json=BANCO)).status_code == 201
        upload = await operator.post("/v1/clients/banco-andino/portfolios",
                                     files={"file": ("cartera.csv", CSV.encode(), "text/csv")})
        assert upload.status_code == 202, upload.text

        async def link() -> dict[str, Any] | None:
            answer = await operator.post("/v1/clients/banco-andino/accounts/B-001/payment-link")
            return answer.json() if answer.status_code == 201 else None

        url = (await eventually(link, timeout_s=90, message="outreach knows the account"))["url"]
        assert url.startswith(platform.base_url + "/pay/")
        today = dt.datetime.now(zoneinfo.ZoneInfo("America/Bogota")).date()

        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = await browser.new_page(viewport={"width": 390, "height": 844}, locale="es-CO")  # a phone
            violations = await csp_violations(page)
            await page.goto(url)
            assert await page.locator("h1").inner_text() == "Banco Andino S.A."
            assert "2.500.000" not in await page.content()
            await page.fill("#digits", "999999")
            await page.click("text=Continuar")
            assert "no coinciden" in await page.locator("[role=alert]").inner_text()
            await page.fill("#digits", "304050")
            await page.click("text=Continuar")
            assert await page.locator("h1").inner_text() == "Hola, Ana"
            assert "2.500.000,00" in await page.locator("#balance").inner_text()

            await page.fill("#promise-amount", "500000")
            await page.fill("#promise-date", (today + dt.timedelta(days=5)).isoformat())
            await page.click("text=Comprometerme a pagar")
            assert "Registramos su compromiso de pagar" in await page.locator("#notice").inner_text()

            await page.fill("#amount", "100000")
            await page.click("button:text-is('Pagar')")
            assert "Pago recibido" in await page.locator("[role=alert]").inner_text()
            await page.screenshot(path=str(Path(platform.process.log_path).parent / "debtor-page.png"))
            assert violations == [], violations  # no style or script the policy refuses
            await browser.close()

        async def balance_lowered() -> bool:
            view = await operator.get("/v1/clients/banco-andino/accounts/B-001")
            return view.status_code == 200 and Decimal(view.json()["balance"]) == Decimal("2400000")

        await eventually(balance_lowered, timeout_s=90, message="the payment reached the client's account view")
        contacts = (await operator.get("/v1/clients/banco-andino/accounts/B-001/contacts")).json()
        kinds = [t["kind"] for t in contacts["trail"]]
        assert {"page_verification_failed", "page_verified", "page_promise", "page_payment"} <= set(kinds)
