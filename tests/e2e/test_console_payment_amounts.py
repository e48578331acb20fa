"""Amounts on the payments page as the client company writes them, in a real headless Chromium (Debian's, driven by
Playwright) against the whole platform: a Chilean company's reversal and bank-file lines in whole pesos (CLP has no
minor unit), as the page's own rows write them."""

from pathlib import Path

import pytest
from playwright.async_api import async_playwright, expect

from recaudo_common.testing import RunningPlatform, eventually
from recaudo_common.testing_pages import sign_in_on_console

from .browser_csp import csp_violations
from .test_debtor_page import CHROMIUM, CHROMIUM_ARGS, CHROMIUM_INSTALLED

pytestmark = pytest.mark.e2e
PASSWORD = "una frase larga de acceso"
ANDES = {"slug": "retail-andes", "name": "Retail Andes", "country": "CL", "currency": "CLP",
         "timezone": "America/Santiago", "locale": "es-CL"}
CSV = "Cuenta;Documento;Nombre;Saldo;Dias Mora\nC-001;12.345.678-5;Camila Soto;250.000;30\n"
DEPOSIT = {"account_ref": "C-001", "amount": "30000", "paid_at": "2026-12-01T10:00:00-03:00", "method": "cash",
           "reference": "depósito 5521"}


async def test_a_chilean_companys_reversal_and_bank_lines_are_written_in_whole_pesos(platform: RunningPlatform,
                                                                                     tmp_path: Path) -> None:
    assert CHROMIUM_INSTALLED, "Debian's chromium is not installed (scripts/test.sh installs it)"
    async with platform.client() as api:
        assert (await api.post("/v1/users", json={"email": "ana@agencia.co", "password": PASSWORD,
                                                  "role": "operator"})).status_code == 201
        assert (await api.post("/v1/clients", json=ANDES)).status_code == 201
        upload = await api.post("/v1/clients/retail-andes/portfolios",
                                files={"file": ("cartera.csv", CSV.encode(), "text/csv")})
        assert upload.status_code == 202, upload.text

        async def applied() -> bool:  # once payments holds the account
            answer = await api.post("/v1/clients/retail-andes/payments", json=DEPOSIT,
                                    headers={"Idempotency-Key": "deposito-5521"})
            return answer.status_code == 200 and answer.json()["status"] == "applied"

        await eventually(applied, timeout_s=90, message="a deposit applied to C-001")

    statement = tmp_path / "extracto.csv"
    statement.write_bytes(b"Fecha;Referencia;Valor;Comprobante\n02/12/2026;C-001;20.000;TX-1\n")
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = await (await browser.new_context(locale="es-CL")).new_page()
        violations = await csp_violations(page)
        await sign_in_on_console(page, platform.base_url, "ana@agencia.co", PASSWORD)
        await page.goto(platform.base_url + "/console/payments/retail-andes?cuenta=C-001")
        paid = page.locator("#account-payments tbody tr", has_text="depósito 5521")
        await expect(paid.locator("td.amount").first).to_have_text("$30.000")  # the server's row
        await paid.locator("input[name=amount]").fill("10.000")
        await paid.locator("button", has_text="Revertir").click()
        await expect(page.locator("#outcome")).to_have_text(
            "Pago revertido por $10.000; del pago quedan $20.000 y la cuenta C-001 debe $230.000.", timeout=30_000)
        await expect(paid.locator(".reversed")).to_have_text("$10.000")

        await page.set_input_files("#bank-file input[type=file]", str(statement))
        await page.click("text=Subir archivo")
        await expect(page.locator("#bank-file-counts")).to_contain_text("1 aplicados", timeout=30_000)
        await expect(page.locator("#bank-file-rows tbody tr").first.locator("td").nth(3)).to_have_text("$20.000")
        assert violations == [], violations
        await browser.close()
