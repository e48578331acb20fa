"""Editing a strategy on the console in a real headless Chromium (Debian's, driven by Playwright) (#23), against the
whole platform: an operator signs in, opens the client company's strategy, changes a cell of the bucket x tier grid
(a channel and the cadence) and saves; the new version appears in the versions with that cell's difference. A cell
the API refuses is named in Spanish; a save over a version someone else saved meanwhile answers the Spanish 412
message and offers to reload; restoring the first version brings the grid back as it was. The operator then creates
a challenger from the champion, gives it a share and an offer, saves, and promotes it. A client company's person
reads its own strategy only, with nothing to edit (the API lets only operators and supervisors write it), and
another company's is not there for them."""

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Dialog, Locator, Page, async_playwright, expect

from recaudo_common.testing import RunningPlatform, eventually
from recaudo_common.testing_pages import sign_in_on_console

from .browser_csp import csp_violations
from .test_debtor_page import CHROMIUM, CHROMIUM_ARGS, CHROMIUM_INSTALLED

pytestmark = pytest.mark.e2e
PASSWORD = "una frase larga de acceso"
BANCO = {"slug": "banco-andino", "name": "Banco Andino S.A.", "country": "CO", "currency": "COP",
         "timezone": "America/Bogota", "locale": "es-CO"}
OTRO = {**BANCO, "slug": "otro-banco", "name": "Otro Banco S.A."}
DEADLINE_MS = 60_000


def cell(page: Page, arm: str, bucket: str, tier: str) -> Locator:
    return page.locator(f'#{arm}-grid td[data-bucket="{bucket}"][data-tier="{tier}"]')


async def what_cell_holds(where: Locator) -> dict[str, Any]:
    return {"treatment": await where.locator("input[name=treatment]").input_value(),
            "channels": [await c.get_attribute("value") for c in await where.locator(
                "input[name=channel]:checked").all()],
            "contacts": await where.locator("input[name=contacts_per_channel]").input_value(),
            "cadence": await where.locator("input[name=cadence_days]").input_value(),
            "offer": await where.locator("select[name=offer]").input_value(),
            "discount": await where.locator("input[name=discount_pct]").input_value()}



async def test_an_operator_edits_saves_and_restores_a_strategy_in_the_browser(platform: RunningPlatform,
                                                                             tmp_path: Path) -> None:
    assert CHROMIUM_INSTALLED, "Debian's chromium is not installed (scripts/test.sh installs it)"
    async with platform.client() as api:
        for company in (BANCO, OTRO):
            assert (await api.post("/v1/clients", json=company)).status_code == 201
        for email, role, client in (("ana@agencia.co", "operator", None), ("eva@bancoandino.co", "client",
                                                                             "banco-andino")):
            made = await api.post("/v1/users", json={"email": email, "password": PASSWORD, "role": role,
                                                     "client": client})
            assert made.status_code == 201, made.text

        async def known() -> bool:
            return (await api.get("/v1/clients/banco-andino/strategy")).status_code == 200

        await eventually(known, timeout_s=90, message="banco-andino's strategy in segmentation")
        default = (await api.get("/v1/clients/banco-andino/strategy")).json()
        first = {k: v for k, v in default.items() if k != "version"}
        assert (await api.put("/v1/clients/banco-andino/strategy", json=first)).json()["version"] == 1

        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = await (await browser.new_context(locale="es-CO", viewport={"width": 1400, "height": 900})
                          ).new_page()
            violations = await csp_violations(page)
            page.set_default_timeout(DEADLINE_MS)
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("response", lambda r: errors.append(f"{r.status} {r.request.method} {r.url}")
                    if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
            await sign_in_on_console(page, platform.base_url, "ana@agencia.co", PASSWORD)
            strategy_page = platform.base_url + "/console/strategy/banco-andino"
            await page.click("text=Estrategia y sus versiones")  # the first page's link, then the company
            await page.click("text=Banco Andino S.A.")
            await page.wait_for_url(strategy_page)
            await expect(page.locator("#editor-version")).to_have_text("Versión 1 (vigente).")
            assert await page.locator("#champion-grid tbody tr").count() == 8  # the default buckets
            target = cell(page, "champion", "31-60", "high")
            before = await what_cell_holds(target)
            assert before["channels"] == ["sms", "whatsapp", "voice"] and before["cadence"] == "3"

            # A cell changed and saved: a new version, whose difference is that cell.
            await target.get_by_label("Agente").check()
            await target.get_by_label("Cada cuántos días").fill("5")
            await page.click("#save")
            await page.wait_for_url(strategy_page + "?saved=2")
            await expect(page.locator("#notice")).to_contain_text(
                "Estrategia guardada como versión 2")
            await expect(page.locator("#editor-version")).to_have_text("Versión 2 (vigente).")
            v2 = page.locator("#version-2")
            await expect(v2).to_contain_text("Versión 2 (vigente)")
            await expect(v2).to_contain_text("ana@agencia.co · editada")
            diff = v2.locator("tbody tr")
            assert await diff.count() == 1
            assert await diff.locator("td").all_inner_texts() == [
                "Campeón · 31-60 días · valor alto", "digital_and_voicebot: sms, whatsapp, voice × 3 cada 3 días; "
                "sin oferta", "digital_and_voicebot: sms, whatsapp, voice, agent × 3 cada 5 días; sin oferta"]
            assert (await what_cell_holds(target))["channels"] == ["sms", "whatsapp", "voice", "agent"]

            # A cell the API refuses is named, in Spanish, and marked.
            wrong = cell(page, "champion", "61-90", "low")
            await wrong.get_by_label("Cada cuántos días").fill("0")
            await page.click("#save")
            await expect(page.locator("#editor-error")).to_contain_text(
                "Campeón · 61-90 días · valor bajo: la cadencia debe estar entre 1 y 60 días.")
            await expect(wrong).to_have_attribute("aria-invalid", "true")
            await wrong.get_by_label("Cada cuántos días").fill("3")
            empty = cell(page, "champion", "0", "medium")  # a value the body's schema refuses, named the same way
            await empty.get_by_label("Contactos por canal").fill("")
            await page.click("#save")
            await expect(page.locator("#editor-error")).to_contain_text(
                "Campeón · 0 días · valor medio: valor no válido en los contactos por canal.")
            await expect(wrong).not_to_have_attribute("aria-invalid", "true")
            await empty.get_by_label("Contactos por canal").fill("1")

            # Someone else saves meanwhile (a key, here): this page's save is refused as stale, and says so.
            third = {**first, "tiers": {"high": "150000", "medium": "10000"},
                     "rules": (await api.get("/v1/clients/banco-andino/strategy")).json()["rules"]}
            assert (await api.put("/v1/clients/banco-andino/strategy", json=third)).json()["version"] == 3
            await cell(page, "champion", "0", "low").get_by_label("Tratamiento").fill("recordatorio_suave")
            await page.click("#save")
            await expect(page.locator("#editor-error")).to_contain_text(
                "Otra persona guardó la estrategia mientras usted la editaba: sus cambios no se guardaron.")
            asked: list[str] = []  # leaving with changes not saved: the browser asks, and staying keeps them

            async def stay(dialog: Dialog) -> None:
                asked.append(dialog.type)
                await dialog.dismiss()

            page.once("dialog", stay)
            await page.click("text=Restaurar la versión 1")
            await expect(page.locator("#editor-error")).to_be_visible()
            assert asked == ["beforeunload"] and page.url == strategy_page + "?saved=2"
            await page.click("text=Recargar la estrategia")
            await expect(page.locator("#editor-version")).to_have_text("Versión 3 (vigente).")
            assert await page.input_value("#champion-tier-high") == "150000"
            stale = [e for e in errors if e.startswith(("412 PUT", "422 PUT"))]
            assert len(stale) == 3
            errors[:] = [e for e in errors if e not in stale]

            # The first version restored: the grid is back as it was.
            await page.click("text=Restaurar la versión 1")
            await page.wait_for_url(strategy_page + "?restored=1&as=4")
            await expect(page.locator("#editor-version")).to_have_text("Versión 4 (vigente).")
            assert await what_cell_holds(cell(page, "champion", "31-60", "high")) == before
            assert await page.input_value("#champion-tier-high") == default["tiers"]["high"]
            await expect(page.locator("#version-4")).to_contain_text("restaurada (de la versión 1)")

            # A challenger made from the champion, for a fifth of the accounts, offering a settlement.
            await expect(page.locator("#challenger-none")).to_be_visible()
            await page.click("text=Crear retador")
            await expect(page.locator("#challenger-grid tbody tr")).to_have_count(8)
            await page.fill("#challenger-share", "20")
            offer = cell(page, "challenger", "91-120", "low")
            await offer.get_by_label("Oferta").select_option(label="Acuerdo de pago")
            await offer.get_by_label("Descuento (%)").fill("20")
            await page.click("#save")
            await page.wait_for_url(strategy_page + "?saved=5")
            assert await page.locator("#version-5 tbody tr").first.locator("td").all_inner_texts() == [
                "Retador", "—", "20 % de las cuentas"]
            assert await page.input_value("#challenger-share") == "20"
            assert (await what_cell_holds(cell(page, "challenger", "91-120", "low")))["offer"] == "settlement"
            await page.screenshot(path=str(tmp_path / "strategy.png"))  # docs/console/strategy.png

            await page.click("text=Promover el retador a campeón")
            await page.wait_for_url(strategy_page + "?promoted=6")
            await expect(page.locator("#editor-version")).to_have_text("Versión 6 (vigente).")
            await expect(page.locator("#challenger-none")).to_be_visible()
            promoted = await what_cell_holds(cell(page, "champion", "91-120", "low"))
            assert promoted["offer"] == "settlement" and promoted["discount"] == "20"
            assert errors == []

            # A client company's person: its own strategy, read-only; another company's is not there.
            eva = await (await browser.new_context(locale="es-CO")).new_page()
            eva.set_default_timeout(DEADLINE_MS)
            await sign_in_on_console(eva, platform.base_url, "eva@bancoandino.co", PASSWORD)
            await eva.click("text=Estrategia y sus versiones")
            await eva.wait_for_url(strategy_page)
            await expect(eva.locator("#editor-version")).to_have_text("Versión 6 (vigente).")
            await expect(eva.locator("#read-only")).to_have_text(
                "Solo lectura: su rol no permite cambiar la estrategia.")
            assert await eva.locator("#save").count() == 0 and await eva.get_by_text("Restaurar").count() == 0
            assert await eva.locator("#champion-grid input:enabled, #champion-grid select:enabled").count() == 0
            other = await eva.goto(platform.base_url + "/console/strategy/otro-banco")
            assert other is not None and other.status == 404
            await expect(eva.locator("body")).to_contain_text("No hay tal empresa cliente.")
            assert violations == [], violations  # no style or script the policy refuses
            await browser.close()
        assert (await api.get("/v1/clients/banco-andino/strategy")).json()["version"] == 6
