"""Every console page for every role, in a real headless Chromium (Debian's, driven by Playwright) against the whole
platform (#23): each person signs in and opens each page; what they may use shows its heading in Spanish and loads
without a script error or a failed request, what their role may not is refused in Spanish (never an empty shell or
a stack trace), and a client company's person is refused another company's pages. No page leaves the session's
token or a key where a script could read it, and none breaks its Content-Security-Policy (an inline style or script
the policy does not allow is refused by the browser: the page would show unstyled or dead)."""

from pathlib import Path

import pytest
from playwright.async_api import async_playwright, expect

from recaudo_common.testing import RunningPlatform, eventually
from recaudo_common.testing_pages import sign_in_on_console

from .browser_csp import csp_violations
from .test_debtor_page import CHROMIUM, CHROMIUM_ARGS, CHROMIUM_INSTALLED

pytestmark = pytest.mark.e2e
PASSWORD = "una frase larga de acceso"
BANCO = {"slug": "banco-andino", "name": "Banco Andino S.A.", "country": "CO", "currency": "COP",
         "timezone": "America/Bogota", "locale": "es-CO"}
OTRA = {**BANCO, "slug": "financiera-sur", "name": "Financiera del Sur"}
PEOPLE = {"operator": "ana@agencia.co", "supervisor": "sofia@agencia.co", "agent": "pedro@agencia.co",
          "client": "luis@bancoandino.co", "sre": "rita@agencia.co"}
PAGES = ["/console", "/console/portfolios/banco-andino", "/console/accounts/banco-andino",
         "/console/strategy/banco-andino", "/console/payments/banco-andino", "/console/agent",
         "/console/settings/banco-andino", "/dashboard"]
# What each page's heading says to a person who may use it.
HEADINGS = {"/console": "Bienvenido", "/console/portfolios/banco-andino": "Carteras de Banco Andino S.A.",
            "/console/accounts/banco-andino": "Cuentas de Banco Andino S.A.",
            "/console/strategy/banco-andino": "Estrategia vigente de Banco Andino S.A.",
            "/console/payments/banco-andino": "Pagos sin asignar de Banco Andino S.A.",
            "/console/agent": "Escritorio de agente", "/console/settings/banco-andino": "Ajustes de Banco Andino S.A.",
            "/dashboard": "Recuperación · Banco Andino S.A."}
EVERYTHING = set(PAGES)
MAY_USE = {"operator": EVERYTHING, "supervisor": EVERYTHING,
           "agent": {"/console", "/console/agent"},
           "client": EVERYTHING - {"/console/agent"},
           "sre": {"/console"}}
OTHER_COMPANY = ["/console/portfolios/financiera-sur", "/console/accounts/financiera-sur",
                 "/console/strategy/financiera-sur", "/console/payments/financiera-sur",
                 "/console/settings/financiera-sur"]


async def test_every_page_for_every_role(platform: RunningPlatform, tmp_path: Path) -> None:
    assert CHROMIUM_INSTALLED, "Debian's chromium is not installed (scripts/test.sh installs it)"
    async with platform.client() as api:
        for company in (BANCO, OTRA):
            assert (await api.post("/v1/clients", json=company)).status_code == 201
        for role, email in PEOPLE.items():
            person = {"email": email, "password": PASSWORD, "role": role,
                      **({"client": "banco-andino"} if role == "client" else {})}
            assert (await api.post("/v1/users", json=person)).status_code == 201

        async def everywhere() -> bool:
            answers = [await api.get(f"/v1/clients/banco-andino{p}") for p in ("/strategy", "/contact-rules",
                                                                                "/reports/recovery")]
            return all(a.status_code == 200 for a in answers)

        await eventually(everywhere, timeout_s=90, message="banco-andino in every service")

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for role, email in PEOPLE.items():
            context = await browser.new_context(locale="es-CO")
            page = await context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
            violations = await csp_violations(page)
            await sign_in_on_console(page, platform.base_url, email, PASSWORD)
            for path in PAGES + (OTHER_COMPANY if role == "client" else []):
                answer = await page.goto(platform.base_url + path)
                assert answer is not None
                heading = page.locator("h1").first
                said = f"{role} at {path}"
                if path in MAY_USE[role]:
                    assert answer.status == 200, said
                    await expect(heading).to_have_text(HEADINGS[path])
                else:
                    assert answer.status == (404 if path in OTHER_COMPANY else 403), said
                    refusal = page.locator("[role=alert]")
                    await expect(refusal).to_contain_text(
                        "No hay tal empresa cliente." if path in OTHER_COMPANY else "Su rol no permite"
                        if path != "/console/agent" else "solo para agentes, operadores y supervisores")
                    await expect(page.locator("body")).to_contain_text(email)  # the header says who is signed in
                    assert "Traceback" not in await page.content(), said
                # Nothing a script could read: no key or token in storage, the session cookie out of reach.
                assert await page.evaluate("localStorage.length + sessionStorage.length") == 0, said
                assert "recaudo_session" not in await page.evaluate("document.cookie"), said
            assert errors == [], (role, errors)
            assert violations == [], (role, violations)
            await context.close()
        await browser.close()
