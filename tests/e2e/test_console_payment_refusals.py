"""What the payments page's API refuses is said in Spanish, in a real headless Chromium (Debian's, driven by
Playwright) against the whole platform, as an operator reads it rather than as the API's English detail: a bank
file (a statement without a reference column, a file that is no statement, an Asobancaria file whose control totals
disagree with its lines, nothing of it applied), a payment in the queue assigned to an account that does not exist,
and a reversal of nothing or of more than the payment."""

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
CSV = "Número Obligación;Cédula;Nombre Completo;Celular;Saldo Total;Días Mora\n" \
      "B-001;1020304050;Ana Gómez;300 123 4567;2.500.000;45\n"
DEPOSIT = {"account_ref": "B-999", "amount": "150000.00", "paid_at": "2026-03-31T09:00:00-05:00", "method": "cash",
           "reference": "consignación 7781"}
WIDTH = 162  # an Asobancaria 2001 record (payments/domain/asobancaria.py)


def asobancaria_with_a_wrong_lot_total() -> bytes:
    """A recaudo file of one lot of two details whose control says a cent more than they add up to (line 5)."""
    details = [("A-1", 500_000), ("A-2", 100_000)]
    lines = ["01" + "9001234567" + "20260405" + "007" + "00000000400702127" + "20260406" + "0213" + "A" + "01",
             "05" + "7709998888487" + "0001"]
    for sequence, (reference, cents) in enumerate(details, start=2):
        lines.append("06" + reference.ljust(48) + f"{cents:014d}" + "01" + "01" + "000000" + "000000" + "040" +
                     "9779" + f"{sequence:07d}" + "000")
    total = sum(c for _, c in details)
    lines.append("08" + f"{len(details):09d}" + f"{total + 1:018d}" + "0001")
    lines.append("09" + f"{len(details):09d}" + f"{total:018d}")
    return "".join(record.ljust(WIDTH) + "\r\n" for record in lines).encode("ascii")


async def test_a_refused_bank_file_is_said_in_spanish(platform: RunningPlatform, tmp_path: Path) -> None:
    assert CHROMIUM_INSTALLED, "Debian's chromium is not installed (scripts/test.sh installs it)"
    async with platform.client() as api:
        assert (await api.post("/v1/users", json={"email": "ana@agencia.co", "password": PASSWORD,
                                                  "role": "operator"})).status_code == 201
        assert (await api.post("/v1/clients", json=BANCO)).status_code == 201

        async def known() -> bool:  # once payments has the client company (client.registered)
            return (await api.get("/v1/clients/banco-andino/payments/unmatched")).status_code == 200

        await eventually(known, timeout_s=90, message="banco-andino known to payments")

    no_reference = tmp_path / "extracto.csv"
    no_reference.write_text("Fecha;Valor\n01/12/2026;150.000\n", encoding="utf-8")
    picture = tmp_path / "extracto.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    totals = tmp_path / "RECAUDO0405.TXT"
    totals.write_bytes(asobancaria_with_a_wrong_lot_total())

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = await (await browser.new_context(locale="es-CO")).new_page()
        violations = await csp_violations(page)
        await sign_in_on_console(page, platform.base_url, "ana@agencia.co", PASSWORD)
        await page.goto(platform.base_url + "/console/payments/banco-andino")
        said = page.locator("#outcome")
        for sent, expected in (
                (no_reference, "No se recibió el archivo: no tiene columna para la referencia."),
                (picture, "No se recibió el archivo: el extracto debe ser un archivo CSV (o Asobancaria 2001)."),
                (totals, "No se aplicó nada del archivo: sus totales de control no cuadran con sus líneas "
                         "(línea 5).")):
            await page.set_input_files("#bank-file input[type=file]", str(sent))
            await page.click("text=Subir archivo")
            await expect(said).to_have_text(expected)
            await expect(said).to_have_attribute("role", "alert")
        assert violations == [], violations
        await browser.close()


async def test_a_refused_assignment_or_reversal_is_said_in_spanish(platform: RunningPlatform) -> None:
    assert CHROMIUM_INSTALLED, "Debian's chromium is not installed (scripts/test.sh installs it)"
    async with platform.client() as api:
        assert (await api.post("/v1/users", json={"email": "ana@agencia.co", "password": PASSWORD,
                                                  "role": "operator"})).status_code == 201
        assert (await api.post("/v1/clients", json=BANCO)).status_code == 201
        upload = await api.post("/v1/clients/banco-andino/portfolios",
                                files={"file": ("cartera.csv", CSV.encode(), "text/csv")})
        assert upload.status_code == 202, upload.text

        async def paid(body: dict[str, str], status: str) -> bool:  # once payments knows the company, the account
            answer = await api.post("/v1/clients/banco-andino/payments", json=body,
                                    headers={"Idempotency-Key": "consignacion-" + body["reference"][-4:]})
            return answer.status_code == 200 and answer.json()["status"] == status

        await eventually(lambda: paid(DEPOSIT, "unmatched"), timeout_s=90, message="a deposit in the queue")
        slip = {**DEPOSIT, "account_ref": "B-001", "amount": "30000.00", "reference": "consignación 7790"}
        await eventually(lambda: paid(slip, "applied"), timeout_s=90, message="a deposit applied to B-001")

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = await (await browser.new_context(locale="es-CO")).new_page()
        violations = await csp_violations(page)
        await sign_in_on_console(page, platform.base_url, "ana@agencia.co", PASSWORD)
        await page.goto(platform.base_url + "/console/payments/banco-andino")
        said = page.locator("#outcome")
        row = page.locator("#suspense tbody tr", has_text="consignación 7781")
        await row.locator("input[name=account_ref]").fill("NO-HAY")
        await row.locator("button", has_text="Asignar").click()
        await expect(said).to_have_text("No se asignó el pago: la cuenta indicada no existe en esta empresa.")
        await expect(row).to_have_count(1)  # still waiting

        await page.goto(platform.base_url + "/console/payments/banco-andino?cuenta=B-001")
        applied = page.locator("#account-payments tbody tr", has_text="consignación 7790")
        for typed, expected in (("40.000,00", "el monto pasa de lo que queda por revertir del pago"),
                                ("0", "el monto no es válido: debe ser mayor que cero, con dos decimales a lo sumo")):
            await applied.locator("input[name=amount]").fill(typed)
            await applied.locator("button", has_text="Revertir").click()
            await expect(said).to_have_text("No se revirtió el pago: " + expected + ".")
            await expect(said).to_have_attribute("role", "alert")
        assert violations == [], violations
        await browser.close()
