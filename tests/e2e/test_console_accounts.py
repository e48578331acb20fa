"""Finding an account and working it on the console in a real headless Chromium (Debian's, driven by Playwright)
(#23), against the whole platform: an operator goes from the console's first page to «Cuentas», finds an account
by its debtor's id number typed with dots, opens it and reads its timeline (its placement, its segment and why),
puts a legal hold on it and logs a contact, and sees both appear in the timeline. A person of the client company
finds only its own company's accounts, and another company's are not found."""

import datetime as dt
import uuid
import zoneinfo
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.async_api import async_playwright, expect

from recaudo_common.money import format_amount
from recaudo_common.testing import RunningPlatform, eventually
from recaudo_common.testing_pages import sign_in_on_console

from .browser_csp import csp_violations
from .test_debtor_page import CHROMIUM, CHROMIUM_ARGS, CHROMIUM_INSTALLED

pytestmark = pytest.mark.e2e
PASSWORD = "una frase larga de acceso"
# Amounts the page's script writes as the server would: halves of the last decimal (rounded to even, as Babel
# does), grouping from four digits on, a negative one, the largest balance.
SAMPLES = ["0", "0.5", "1234", "1500000.5", "-2500.25", "0.005", "0.015", "999999999999.99"]
BANCO = {"slug": "banco-andino", "name": "Banco Andino S.A.", "country": "CO", "currency": "COP",
         "timezone": "America/Bogota", "locale": "es-CO"}
OTRA = {**BANCO, "slug": "financiera-sur", "name": "Financiera del Sur"}
HEADER = "Número Obligación;Cédula;Nombre Completo;Celular;Saldo Total;Días Mora\n"
BANCO_CSV = HEADER + ("D-001;1020304050;María José Gómez;300 123 4501;1.500.000;45\n"
                      "D-002;79888777;Luis Peña;300 123 4502;250.000;95\n"
                      "D-003;52111222;Marisol Rueda;300 123 4503;90.000;10\n")
OTRA_CSV = HEADER + "S-001;1020304050;María José Gómez;300 123 4501;60.000;5\n"
_TODAY = dt.datetime.now(zoneinfo.ZoneInfo("America/Bogota")).weekday()  # mon 0
_OPEN = next(d for d in (0, 1, 2, 3, 4) if d not in (_TODAY, (_TODAY + 1) % 7))  # neither today nor tomorrow
OTHER_DAY_ONLY = {day: (["09:00", "12:00"] if i == _OPEN else None)
                  for i, day in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))}



async def test_an_operator_finds_an_account_by_id_number_and_works_it(platform: RunningPlatform,
                                                                      tmp_path: Path) -> None:
    assert CHROMIUM_INSTALLED, "Debian's chromium is not installed (scripts/test.sh installs it)"
    async with platform.client() as api:
        for client, csv in ((BANCO, BANCO_CSV), (OTRA, OTRA_CSV)):
            assert (await api.post("/v1/clients", json=client)).status_code == 201
            if client is BANCO:  # contact on one weekday only, not today's: each account's first SMS waits
                rules = await api.put("/v1/clients/banco-andino/contact-rules", json={"windows": OTHER_DAY_ONLY})
                assert rules.status_code == 200, rules.text
            sent = await api.post(f"/v1/clients/{client['slug']}/portfolios",
                                  files={"file": ("cartera.csv", csv.encode())})
            assert sent.status_code == 202, sent.text
        for user in ({"email": "ana@agencia.co", "role": "operator"},
                     {"email": "luis@bancoandino.co", "role": "client", "client": "banco-andino"}):
            answer = await api.post("/v1/users", json={**user, "password": PASSWORD})
            assert answer.status_code == 201, answer.text

        async def segmented() -> bool:  # placed (ingest), segmented and seen by reporting, known to outreach
            view = await api.get("/v1/clients/banco-andino/accounts/D-001")
            contacts = await api.get("/v1/clients/banco-andino/accounts/D-001/contacts")
            return view.status_code == 200 and view.json()["segment"] is not None and contacts.status_code == 200

        await eventually(segmented, timeout_s=120, message="D-001 placed, segmented and known to outreach")

        async def decided() -> bool:  # its first SMS decided: not on this day, it waits for the open one
            items = (await api.get("/v1/clients/banco-andino/accounts/D-001/contacts")).json()["items"]
            return any(a["decisions"] and a["status"] == "scheduled" for a in items)

        await eventually(decided, timeout_s=60, message="D-001's first SMS decided and waiting")

        async def paid() -> bool:  # a deposit entered by hand, once payments holds the account (each try its own key)
            answer = await api.post("/v1/clients/banco-andino/payments",
                                    headers={"Idempotency-Key": f"caja-{uuid.uuid4()}"},
                                    json={"account_ref": "D-001", "amount": "250000", "method": "cash",
                                          "paid_at": "2026-12-01T10:00:00-05:00"})
            return answer.status_code == 200 and answer.json()["status"] == "applied"

        await eventually(paid, timeout_s=60, message="a payment applied to D-001")

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = await (await browser.new_context(locale="es-CO")).new_page()
        violations = await csp_violations(page)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        await sign_in_on_console(page, platform.base_url, "ana@agencia.co", PASSWORD)
        await page.click("text=Cuentas: buscar una cuenta")  # from the console's first page
        await page.click("text=Banco Andino S.A.")
        assert page.url == platform.base_url + "/console/accounts/banco-andino"

        await page.get_by_label("Buscar cuenta").fill("1.020.304.050")
        await page.get_by_label("Buscar cuenta").press("Enter")
        rows = page.locator("#accounts tbody tr")
        await expect(rows).to_have_count(1)
        cells = await rows.first.locator("td").all_inner_texts()
        assert cells[:4] == ["D-001", "María José Gómez", "1020304050", "Activa"], cells
        assert cells[4] == "$1.500.000,00" and cells[5] == "45", cells  # Babel's CLDR for es-CO COP
        await page.screenshot(path=str(tmp_path / "accounts.png"), full_page=True)  # docs/console/accounts.png
        await page.get_by_label("Buscar cuenta").fill("gomez maria")
        await page.get_by_label("Buscar cuenta").press("Enter")
        await expect(rows).to_have_count(1)

        await page.click("#accounts >> text=D-001")
        assert page.url == platform.base_url + "/console/accounts/banco-andino/D-001"
        timeline = page.locator("#timeline")
        await expect(timeline).to_contain_text("Asignación de la cuenta")
        # One amount, one way: the placement's balance as the server wrote it in the facts and as the page's
        # script wrote it in the timeline read alike (Babel's CLDR for es-CO COP, not the browser's ICU).
        assigned = await page.locator("#facts dt:text-is('Saldo asignado') + dd").inner_text()
        assert assigned == "$1.500.000,00", assigned
        await expect(timeline).to_contain_text(f"Saldo {assigned}, 45 días de mora")
        shown = await page.evaluate("(xs) => xs.map((x) => window.recaudoAccount.money(x))", SAMPLES)
        assert shown == [format_amount(Decimal(x), "COP", "es-CO") for x in SAMPLES], shown
        await expect(timeline).to_contain_text("Segmento ")
        await expect(timeline).to_contain_text("por qué:")
        await expect(timeline).to_contain_text("Pago de $250.000,00 (registrado a mano)")
        # A message still to go says why it waits, in the page's words for the decision's reasons.
        await expect(timeline).to_contain_text("aplazado por: día no permitido")
        await expect(page.locator("#timeline-status")).to_have_text("")  # every service answered
        # The facts of the file beside today's: what is owed once the payment reached the recovery report.
        await expect(page.locator("#dpd-today")).to_have_text("45")

        async def owed_today() -> bool:
            await page.reload()
            await expect(page.locator("#timeline")).to_contain_text("Asignación de la cuenta")
            return await page.locator("#balance-today").inner_text() == "$1.250.000,00"

        await eventually(owed_today, timeout_s=30, message="today's balance on the account page")

        await page.select_option("#hold-kind", "dispute")
        await page.fill("#hold-note", "Reclamo ante la Superintendencia (queja 2026-4471)")
        await page.click("text=Poner retención legal")
        await expect(page.locator("#action-status")).to_have_text("Retención legal puesta: se detiene todo contacto.")
        await expect(timeline).to_contain_text("Retención legal: disputa o reclamo")
        await expect(timeline).to_contain_text("queja 2026-4471")
        await expect(page.locator("#holds-in-force")).to_contain_text("disputa o reclamo")

        # The debtor phones while the hold is in force: a contact the debtor started breaks no rule.
        await page.select_option("#contact-channel", "agent")
        await page.select_option("#contact-direction", "inbound")
        await page.select_option("#contact-outcome", "right_party")
        await page.click("text=Registrar contacto >> nth=-1")
        await expect(page.locator("#action-status")).to_have_text("Contacto registrado.")
        # The agency's own call under the same hold is logged, and said to break it.
        await page.select_option("#contact-direction", "outbound")
        await page.click("text=Registrar contacto >> nth=-1")
        await expect(page.locator("#action-status")).to_contain_text("incumple: retención legal")
        await expect(timeline).to_contain_text("Contacto registrado (asesor)")
        # The timeline says who started each: the debtor's call, breaking nothing, and the agency's, which did.
        await expect(timeline).to_contain_text("El deudor inició el contacto; habló con el titular")
        await expect(timeline).to_contain_text(
            "La agencia inició el contacto; habló con el titular; incumple: retención legal")
        await page.screenshot(path=str(tmp_path / "account.png"), full_page=True)  # docs/console/account.png

        await page.click("text=Levantar retención")
        await expect(page.locator("#action-status")).to_have_text("Retención legal levantada.")
        await expect(timeline).to_contain_text("Retención levantada: disputa o reclamo")
        assert errors == []

        # A person of the client company: straight to its own accounts, only those; another company's not found.
        own = await (await browser.new_context(locale="es-CO")).new_page()
        await sign_in_on_console(own, platform.base_url, "luis@bancoandino.co", PASSWORD)
        await own.click("text=Cuentas: buscar una cuenta")
        assert own.url == platform.base_url + "/console/accounts/banco-andino"
        await own.get_by_label("Buscar cuenta").fill("1020304050")
        await own.get_by_label("Buscar cuenta").press("Enter")
        await expect(own.locator("#accounts tbody tr")).to_have_count(1)
        assert "S-001" not in await own.content()
        await own.goto(platform.base_url + "/console/accounts/financiera-sur?q=1020304050")
        await expect(own.locator("[role=alert]")).to_have_text("No hay tal empresa cliente.")
        assert "S-001" not in await own.content()
        await own.goto(platform.base_url + "/console/accounts/financiera-sur/S-001")
        await expect(own.locator("[role=alert]")).to_have_text("No hay tal empresa cliente.")
        await own.goto(platform.base_url + "/console/accounts/banco-andino/D-001")
        await expect(own.locator("#timeline")).to_contain_text("Asignación de la cuenta")
        await expect(own.locator("#hold-form")).to_have_count(0)  # holds are the agency's operators'
        assert violations == [], violations  # no style or script the policy refuses
        await browser.close()
