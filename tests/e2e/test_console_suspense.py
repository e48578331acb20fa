"""Assigning a suspense payment on the console in a real headless Chromium (Debian's, driven by Playwright) (#23),
against the whole platform: an operator signs in, goes from the console's first page to the payments page, sees the
payment that matched no account in the suspense table (the amount as es-CO writes it), types the account it belongs
to, presses «Asignar», and the row leaves the queue with the page saying so in Spanish; the account's payment is
then applied (payments' ledger) and the queue, read again, is empty. The operator then finds the account's payments
and takes part of that one back (a bounced cheque), the amount typed as es-CO writes it, and sends a bank's
statement whose result (one line applied, three in the queue: two for no account, one that may be the deposit recorded
by hand) the page shows line by line; the operator closes the held line as that very deposit, and assigning a line
of the same amount as another deposit recorded by hand to the account is refused until the operator says it is
another deposit («Es otra consignación: asignar»)."""

from decimal import Decimal
from pathlib import Path

import pytest
from playwright.async_api import async_playwright, expect
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from recaudo_common.testing import RunningPlatform, eventually

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


async def test_an_operator_assigns_a_suspense_payment_in_the_browser(platform: RunningPlatform,
                                                                     tmp_path: Path) -> None:
    assert CHROMIUM_INSTALLED, "Debian's chromium is not installed (scripts/test.sh installs it)"
    engine = create_async_engine(platform.settings.database_url, pool_size=1)
    async with platform.client() as api:
        assert (await api.post("/v1/users", json={"email": "ana@agencia.co", "password": PASSWORD,
                                                  "role": "operator"})).status_code == 201
        assert (await api.post("/v1/clients", json=BANCO)).status_code == 201
        upload = await api.post("/v1/clients/banco-andino/portfolios",
                                files={"file": ("cartera.csv", CSV.encode(), "text/csv")})
        assert upload.status_code == 202, upload.text

        async def in_suspense() -> bool:  # once payments has the client company (client.registered)
            answer = await api.post("/v1/clients/banco-andino/payments", json=DEPOSIT,
                                    headers={"Idempotency-Key": "consignacion-7781"})
            return answer.status_code == 200 and answer.json()["status"] == "unmatched"

        await eventually(in_suspense, timeout_s=90, message="the deposit in the suspense queue")

    async def placed_in_payments() -> bool:  # the account B-001 the operator will name (account.placed)
        async with engine.connect() as c:
            return bool(await c.scalar(text(
                "SELECT count(*) FROM payments.accounts WHERE client_slug = 'banco-andino' AND account_ref = 'B-001'")))

    try:
        await eventually(placed_in_payments, timeout_s=90, message="account B-001 placed in payments")
        async with platform.client() as api:  # a second deposit, recorded by hand to the account itself
            slip = await api.post("/v1/clients/banco-andino/payments", headers={"Idempotency-Key": "consignacion-7790"},
                                  json={**DEPOSIT, "account_ref": "B-001", "amount": "30000.00",
                                        "reference": "consignación 7790"})
            assert (slip.status_code, slip.json()["status"]) == (200, "applied"), slip.text
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = await (await browser.new_context(locale="es-CO")).new_page()
            violations = await csp_violations(page)
            await page.goto(platform.base_url + "/console/payments/banco-andino")
            assert page.url == platform.base_url + "/console/sign-in"  # no session: sent to sign in
            await page.fill("input[type=email]", "ana@agencia.co")
            await page.fill("input[type=password]", PASSWORD)
            await page.click("button[type=submit]")
            await page.wait_for_selector("#signed-in-as")
            await page.click("text=Pagos sin asignar")  # from the console's first page
            await page.click("text=Banco Andino S.A.")
            row = page.locator("#suspense tbody tr", has_text="B-999")
            await row.wait_for()
            seen = (await row.inner_text()).replace("\xa0", " ")
            assert "$ 150.000,00" in seen or "$150.000,00" in seen
            assert "consignación 7781" in seen and "La cuenta indicada no existe" in seen
            assert "Registro manual" in seen

            await row.locator("input[name=account_ref]").fill("NO-HAY")  # a refusal is shown, the row stays
            await row.locator("button", has_text="Asignar").click()
            await page.locator("#outcome[role=alert]", has_text="No se asignó el pago").wait_for()
            assert await row.count() == 1

            await row.locator("input[name=account_ref]").fill("B-001")
            await row.locator("button", has_text="Asignar").click()
            await page.locator("#outcome[role=status]",
                               has_text="asignado a la cuenta B-001").wait_for(timeout=30_000)
            assert await row.count() == 0  # the row left the queue

            await page.reload()  # and it stays out: the queue is empty
            await page.locator("#empty", has_text="No hay pagos sin asignar.").wait_for()

            # The account's payments: part of the deposit taken back, typed as es-CO writes it.
            await page.fill("input[name=cuenta]", "B-001")
            await page.click("text=Buscar pagos")
            paid = page.locator("#account-payments tbody tr", has_text="consignación 7781")
            await paid.wait_for()
            await paid.locator("input[name=amount]").fill("50.000,00")
            await paid.locator("input[name=reason]").fill("Cheque devuelto")
            await paid.locator("button", has_text="Revertir").click()
            said = page.locator("#outcome[role=status]", has_text="Pago revertido por")
            await said.wait_for(timeout=30_000)
            assert "por $50.000,00;" in await said.inner_text()
            # One amount, one way: what the script wrote in the row reads as the server writes it after a reload.
            written = await paid.locator(".reversed").inner_text()
            assert written == "$50.000,00", written
            await page.reload()
            await expect(paid.locator(".reversed")).to_have_text(written)
            await expect(paid.locator("td.amount").first).to_have_text("$150.000,00")

            # A bank's statement sent from the page: one line applied, one left in the queue.
            statement = tmp_path / "extracto.csv"
            statement.write_bytes(b"Fecha;Referencia;Valor;Comprobante\n02/04/2026;B-001;20.000,00;TX-1\n"
                                  b"02/04/2026;B-777;7.500,00;TX-2\n02/04/2026;B-001;150.000,00;TX-3\n"
                                  b"02/04/2026;B-0O1;30.000,00;TX-4\n")
            await page.set_input_files("#bank-file input[type=file]", str(statement))
            await page.click("text=Subir archivo")
            counts = page.locator("#bank-file-counts", has_text="1 aplicados, 3 en la cola sin asignar")
            await counts.wait_for(timeout=30_000)
            lines = (await page.locator("#bank-file-rows tbody").inner_text()).replace("\xa0", " ")
            assert "Aplicado" in lines and "B-777" in lines and "La cuenta indicada no existe" in lines
            assert "7.500,00" in lines
            assert "Puede ser la consignación ya registrada a mano" in lines  # the deposit assigned above
            await page.click("text=Ver la cola actualizada")
            await page.locator("#suspense tbody tr", has_text="B-777").wait_for()
            same = page.locator("#suspense tbody tr", has_text="Puede ser la consignación ya registrada a mano")
            await same.locator("button", has_text="Es la misma consignación").click()
            await page.locator("#outcome[role=status]", has_text="no se aplicó de nuevo").wait_for(timeout=30_000)
            assert await same.count() == 0
            # B-0O1's line (a letter O for a zero) assigned to B-001, which has 30.000 recorded by hand those days.
            mistyped = page.locator("#suspense tbody tr", has_text="B-0O1")
            await mistyped.locator("input[name=account_ref]").fill("B-001")
            await mistyped.locator("button", has_text="Asignar").click()
            await page.locator("#outcome[role=alert]", has_text="puede ser la misma consignación").wait_for()
            # Held now as maybe that deposit, the row offers to close it as such too; the operator says it is not.
            await mistyped.locator("button", has_text="Es la misma consignación").wait_for()
            await mistyped.locator("button", has_text="Es otra consignación: asignar").click()
            await page.locator("#outcome[role=status]",
                               has_text="asignado a la cuenta B-001").wait_for(timeout=30_000)
            assert await mistyped.count() == 0
            await page.screenshot(path=str(tmp_path / "payments.png"), full_page=True)  # docs/console/payments.png
            assert violations == [], violations  # no style or script the policy refuses
            await browser.close()

        async def applied() -> bool:
            async with engine.connect() as c:
                return bool(await c.scalar(text(
                    "SELECT status FROM payments.payments WHERE client_slug = 'banco-andino' "
                    "AND reference = 'consignación 7781' AND account_ref = 'B-001'")) == "applied")

        await eventually(applied, timeout_s=30, message="the deposit applied to B-001")
        async with engine.connect() as c:
            assert await c.scalar(text(
                "SELECT reversed_amount FROM payments.payments WHERE client_slug = 'banco-andino' "
                "AND reference = 'consignación 7781'")) == Decimal("50000.00")
    finally:
        await engine.dispose()
