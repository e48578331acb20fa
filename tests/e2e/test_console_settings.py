"""A client company's settings on the console in a real headless Chromium (Debian's, driven by Playwright) (#23),
against the whole platform: an operator goes from the console's first page to «Ajustes», narrows Saturday's contact
hours and saves them (and sees them again after a reload), edits the SMS template and sees the live preview change
before saving (an unknown variable said in Spanish), saves it, changes the company's time zone, sets its costs and
commission (written as es-CO writes numbers) and a Stripe account whose secret is never shown back. A person of the
client company reads its own settings without a way to change them, and another company's are not found."""

from pathlib import Path

import pytest
from playwright.async_api import async_playwright, expect

from recaudo_common.testing import RunningPlatform, eventually
from recaudo_common.testing_pages import sign_in_on_console

from .browser_csp import csp_violations
from .test_debtor_page import CHROMIUM, CHROMIUM_ARGS, CHROMIUM_INSTALLED

PASSWORD = "una frase larga de acceso"
pytestmark = pytest.mark.e2e
BANCO = {"slug": "banco-andino", "name": "Banco Andino S.A.", "country": "CO", "currency": "COP",
         "timezone": "America/Bogota", "locale": "es-CO"}
OTRA = {**BANCO, "slug": "financiera-sur", "name": "Financiera del Sur"}
TEMPLATE = "{{ creditor }}: hola {{ debtor_name }}, su saldo es {{ balance }}. {{ opt_out }}"


async def test_an_operator_edits_a_client_companys_settings_in_the_browser(platform: RunningPlatform,
                                                                           tmp_path: Path) -> None:
    assert CHROMIUM_INSTALLED, "Debian's chromium is not installed (scripts/test.sh installs it)"
    async with platform.client() as api:
        for client in (BANCO, OTRA):
            assert (await api.post("/v1/clients", json=client)).status_code == 201
        for user in ({"email": "ana@agencia.co", "role": "operator"},
                     {"email": "luis@bancoandino.co", "role": "client", "client": "banco-andino"}):
            answer = await api.post("/v1/users", json={**user, "password": PASSWORD})
            assert answer.status_code == 201, answer.text

        async def in_every_service() -> bool:  # the rules (outreach), commission (reporting), the client (ingest)
            answers = [await api.get(f"/v1/clients/banco-andino{p}") for p in ("", "/contact-rules",
                                                                                "/commission-rates")]
            return all(a.status_code == 200 for a in answers)

        await eventually(in_every_service, timeout_s=90, message="banco-andino in every service")

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = await (await browser.new_context(locale="es-CO")).new_page()
        violations = await csp_violations(page)
        await sign_in_on_console(page, platform.base_url, "ana@agencia.co", PASSWORD)
        await page.click("text=Ajustes de las empresas cliente")  # from the console's first page
        await page.click("text=Banco Andino S.A.")
        assert page.url == platform.base_url + "/console/settings/banco-andino"
        await expect(page.locator("#general-name")).to_have_value("Banco Andino S.A.")

        # Contact rules: Saturday's hours narrowed within the law's (08:00-15:00 in Colombia).
        await expect(page.locator("#rules-sat-to")).to_have_value("15:00")
        await page.fill("#rules-sat-from", "09:00")
        await page.fill("#rules-sat-to", "12:00")
        await page.click("text=Guardar reglas de contacto")
        await expect(page.locator("#rules-status")).to_have_text("Cambios guardados.")
        await page.fill("#rules-sun-from", "08:00")  # the law closes Sunday: refused, said in Spanish
        await page.fill("#rules-sun-to", "10:00")
        await page.click("text=Guardar reglas de contacto")
        await expect(page.locator("#rules-status")).to_contain_text("más flexibles que las de la ley")

        # The SMS template: the preview follows the text as it is typed, before anything is saved.
        await expect(page.locator("#template-source")).to_have_text("Plantilla predeterminada de la plataforma.")
        before = await page.locator("#preview-body").inner_text()
        await page.fill("#template-body", TEMPLATE.replace("{{ opt_out }}", "{{ apodo }} {{ opt_out }}"))
        await expect(page.locator("#preview-state")).to_contain_text("Usa variables que no existen: apodo")
        await page.fill("#template-body", TEMPLATE)
        await expect(page.locator("#preview-body")).to_contain_text("Banco Andino S.A.: hola María, su saldo es")
        await expect(page.locator("#preview-state")).to_have_text("Vista previa al día.")
        assert before != await page.locator("#preview-body").inner_text()
        await expect(page.locator("#template-source")).to_have_text("Plantilla predeterminada de la plataforma.")
        await page.click("text=Guardar plantilla")
        await expect(page.locator("#template-status")).to_have_text("Cambios guardados.")
        await expect(page.locator("#template-source")).to_have_text("Plantilla propia de la empresa (versión 1).")

        # The time zone (ingest's settings, with its ETag).
        await page.fill("#general-timezone", "America/Lima")
        await page.click("text=Guardar general")
        await expect(page.locator("#general-status")).to_have_text("Cambios guardados.")

        # Costs (after the general save: the ETag it answered), commission, a gateway whose secret is never shown.
        for channel, cost in (("sms", "45"), ("whatsapp", "120"), ("email", "8,50"), ("voice", "350"),
                              ("agent", "2800")):
            await page.fill(f"#cost-{channel}", cost)
        await page.click("text=Guardar costos")
        await expect(page.locator("#costs-status")).to_have_text("Cambios guardados.")
        await page.click("text=Agregar tramo")
        await page.locator("#commission-rows input[aria-label=Tramo]").fill("31-60")
        await page.locator("#commission-rows input[aria-label='Comisión (%)']").fill("12,5")
        await page.fill("#commission-default", "25")
        await page.click("text=Guardar comisión")
        await expect(page.locator("#commission-status")).to_have_text("Cambios guardados.")
        await page.select_option("#gateway-kind", "stripe")
        await page.fill("#gateway-webhook_secret", "whsec_secreto_de_prueba")
        await page.click("text=Guardar pasarela")
        await expect(page.locator("#gateway-status")).to_have_text("Cambios guardados.")
        await expect(page.locator("#gateway-current")).to_contain_text("/v1/webhooks/gateways/")
        await expect(page.locator("#gateway-webhook_secret")).to_have_value("")

        await page.reload()
        await expect(page.locator("#cost-email")).to_have_value("8.50")
        await expect(page.locator("#commission-rows input[aria-label='Comisión (%)']")).to_have_value("12.5")
        await expect(page.locator("#commission-default")).to_have_value("25")
        await expect(page.locator("#gateway-current")).to_contain_text("Cuenta «principal» en Stripe")
        assert "whsec_secreto_de_prueba" not in await page.content()
        await expect(page.locator("#general-timezone")).to_have_value("America/Lima")
        await expect(page.locator("#rules-sat-from")).to_have_value("09:00")
        await expect(page.locator("#rules-sat-to")).to_have_value("12:00")
        await expect(page.locator("#rules-sun-from")).to_have_value("")
        await expect(page.locator("#template-body")).to_have_value(TEMPLATE)
        await expect(page.locator("#whatsapp-current")).to_have_text("WhatsApp no está configurado para esta empresa.")
        await page.screenshot(path=str(tmp_path / "settings.png"), full_page=True)  # docs/console/settings.png

        # A person of the client company: its own settings, read only; another company's are not found.
        own = await (await browser.new_context(locale="es-CO")).new_page()
        await sign_in_on_console(own, platform.base_url, "luis@bancoandino.co", PASSWORD)
        await own.goto(platform.base_url + "/console/settings/financiera-sur")
        await expect(own.locator("[role=alert]")).to_have_text("No hay tal empresa cliente.")
        assert "Financiera del Sur" not in await own.content()
        await own.goto(platform.base_url + "/console/settings")  # straight to its own
        assert own.url == platform.base_url + "/console/settings/banco-andino"
        await expect(own.locator("#read-only")).to_contain_text("Solo lectura")
        await expect(own.locator("#general-timezone")).to_have_value("America/Lima")
        await expect(own.locator("#general-timezone")).to_be_disabled()
        await expect(own.locator("#template-body")).to_have_value(TEMPLATE)
        await expect(own.locator("text=Guardar general")).to_be_hidden()
        assert violations == [], violations  # no style or script the policy refuses
        await browser.close()
