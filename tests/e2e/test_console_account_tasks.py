"""An operator's everyday tasks on the account page that needed curl before, in a real headless Chromium (Debian's,
driven by Playwright) against the whole platform: a payment entered by hand (a date ahead refused in Spanish, a
double press applied once, the timeline showing it), and the debtor's data rights asked by phone: a copy of their
data downloaded as a JSON file, their contact points corrected (a wrong phone refused), their erasure refused while
an account is active and, after a confirmation that says it cannot be undone, completed for a paid one. A person of
the client company sees none of these actions; no page breaks the Content-Security-Policy."""

import asyncio
import datetime as dt
import json
import uuid
import zoneinfo
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Request, async_playwright, expect
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from recaudo_common.money import format_amount
from recaudo_common.testing import RunningPlatform, eventually
from recaudo_common.testing_pages import sign_in_on_console

from .browser_csp import csp_violations
from .test_console_accounts import SAMPLES
from .test_debtor_page import CHROMIUM, CHROMIUM_ARGS, CHROMIUM_INSTALLED

pytestmark = pytest.mark.e2e
PASSWORD = "una frase larga de acceso"
BOGOTA = zoneinfo.ZoneInfo("America/Bogota")
BANCO = {"slug": "banco-andino", "name": "Banco Andino S.A.", "country": "CO", "currency": "COP",
         "timezone": "America/Bogota", "locale": "es-CO"}
CSV = ("Número Obligación;Cédula;Nombre Completo;Celular;Saldo Total;Días Mora\n"
       "D-001;1020304050;María José Gómez;300 123 4501;1.500.000;45\n"
       "D-003;52111222;Marisol Rueda;300 123 4503;90.000;10\n")
ACCOUNT = "/console/accounts/banco-andino/"


async def paid_once(api: httpx.AsyncClient, slug: str, payment: dict[str, str]) -> str:
    """A payment by hand, sent with one Idempotency-Key however often it is retried, and its id once the account's
    ledger shows it applied. A payment sent before payments holds the account waits in suspense and is applied when
    the account arrives: a new key on each try would apply it twice."""
    key = f"caja-{uuid.uuid4()}"

    async def recorded() -> str | None:  # once payments knows the client company
        answer = await api.post(f"/v1/clients/{slug}/payments", headers={"Idempotency-Key": key}, json=payment)
        return str(answer.json()["id"]) if answer.status_code == 200 else None

    payment_id = await eventually(recorded, timeout_s=120, message=f"a payment to {payment['account_ref']}")

    async def applied() -> bool:
        listed = await api.get(f"/v1/clients/{slug}/accounts/{payment['account_ref']}/payments")
        return listed.status_code == 200 and any(p["id"] == payment_id for p in listed.json()["items"])

    await eventually(applied, timeout_s=120, message=f"the payment applied to {payment['account_ref']}")
    return payment_id


def local(moment: dt.datetime) -> str:
    """What a datetime-local field holds for `moment`, in the client company's time."""
    return moment.astimezone(BOGOTA).strftime("%Y-%m-%dT%H:%M")


async def test_an_operator_records_a_payment_and_answers_the_debtors_data_rights(platform: RunningPlatform,
                                                                                 tmp_path: Path) -> None:
    assert CHROMIUM_INSTALLED, "Debian's chromium is not installed (scripts/test.sh installs it)"
    async with platform.client() as api:
        assert (await api.post("/v1/clients", json=BANCO)).status_code == 201
        sent = await api.post("/v1/clients/banco-andino/portfolios", files={"file": ("cartera.csv", CSV.encode())})
        assert sent.status_code == 202, sent.text
        for user in ({"email": "ana@agencia.co", "role": "operator"},
                     {"email": "luis@bancoandino.co", "role": "client", "client": "banco-andino"}):
            answer = await api.post("/v1/users", json={**user, "password": PASSWORD})
            assert answer.status_code == 201, answer.text

        async def segmented() -> bool:  # placed, segmented and seen by reporting, known to outreach
            view = await api.get("/v1/clients/banco-andino/accounts/D-001")
            contacts = await api.get("/v1/clients/banco-andino/accounts/D-001/contacts")
            return view.status_code == 200 and view.json()["segment"] is not None and contacts.status_code == 200

        await eventually(segmented, timeout_s=120, message="D-001 placed, segmented and known to outreach")
        for ref, amount in (("D-001", "50000"), ("D-003", "90000")):  # D-003 paid off: its debtor may be erased

            await paid_once(api, "banco-andino", {"account_ref": ref, "amount": amount, "method": "cash",
                                                  "paid_at": "2026-12-01T10:00:00-05:00"})

        async def closed() -> bool:
            view = await api.get("/v1/clients/banco-andino/accounts/D-003")
            return view.status_code == 200 and view.json()["status"] == "paid"

        await eventually(closed, timeout_s=60, message="D-003 paid in reporting")

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = await browser.new_context(locale="es-CO")
        page = await context.new_page()
        violations = await csp_violations(page)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        await sign_in_on_console(page, platform.base_url, "ana@agencia.co", PASSWORD)
        await page.goto(platform.base_url + ACCOUNT + "D-001")
        timeline = page.locator("#timeline")
        await expect(timeline).to_contain_text("Pago de $50.000,00 (registrado a mano)")

        # «Registrar pago»: an amount not written as the company writes it, then a date ahead, both refused.
        status = page.locator("#payment-status")
        await page.get_by_label("Monto (COP)").fill("1.5")
        await page.click("text=Registrar pago >> nth=-1")
        await expect(status).to_have_text("Escriba el monto como lo escribe la empresa (150.000,00).")
        await page.get_by_label("Monto (COP)").fill("100.000")
        now = dt.datetime.now(dt.UTC)
        await page.get_by_label("Fecha y hora del pago (hora de la empresa)").fill(local(now + dt.timedelta(days=2)))
        await page.click("text=Registrar pago >> nth=-1")
        await expect(status).to_have_text(
            "La fecha del pago es posterior a este momento: nadie lo ha pagado todavía.")
        assert await status.get_attribute("class") == "task-status error"

        # A double press: both presses send the form's one Idempotency-Key, and the payment is applied once.
        keys: list[str] = []

        def posted(request: Request) -> None:
            if request.method == "POST" and request.url.endswith("/v1/clients/banco-andino/payments"):
                keys.append(request.headers["idempotency-key"])

        page.on("request", posted)
        await page.get_by_label("Fecha y hora del pago (hora de la empresa)").fill(local(now - dt.timedelta(hours=2)))
        await page.get_by_label("Referencia (opcional)").fill("Bancolombia 88412093")
        await page.dblclick("#payment-form button[type=submit]")
        await expect(status).to_have_text("Pago de $100.000,00 registrado. Saldo de la cuenta: $1.350.000,00.")
        await expect(page.locator("#timeline li", has_text="Pago de $100.000,00")).to_have_count(1)
        await expect(timeline).to_contain_text("referencia Bancolombia 88412093")
        assert len(keys) == 2 and keys[0] == keys[1], keys  # the second press is the first's retry
        async with platform.client() as api:
            listed = (await api.get("/v1/clients/banco-andino/accounts/D-001/payments")).json()["items"]
        assert sorted(p["amount"] for p in listed) == ["100000.00", "50000.00"], listed
        await expect(page.get_by_label("Monto (COP)")).to_have_value("")  # ready for the next payment

        # «Solicitar copia de los datos»: followed until every service answered, then offered as a file.
        await page.click("text=Solicitar copia de los datos")
        await expect(page.locator("#access-status")).to_contain_text("La copia de los datos está lista",
                                                                     timeout=60000)
        async with page.expect_download() as downloading:
            await page.click("text=Descargar la copia (JSON)")
        download = await downloading.value
        assert download.suggested_filename.startswith("datos-1020304050-"), download.suggested_filename
        saved = tmp_path / "copia.json"
        await download.save_as(saved)
        copy = json.loads(await asyncio.to_thread(saved.read_text, encoding="utf-8"))
        assert copy["status"] == "completed"
        assert copy["personal_data"]["identity"]["full_name"] == "María José Gómez"
        assert {"ingest", "outreach", "payments"} <= set(copy["held_by_service"]), copy["held_by_service"].keys()

        # «Rectificar datos de contacto»: a phone that is none refused, then the corrected phone and e-mail taken.
        rectified = page.locator("#rectify-status")
        await page.get_by_label("Teléfonos (separados por comas)").fill("123")
        await page.get_by_label("Qué pidió el titular (sin los datos)").fill("Pidió por teléfono cambiar su celular")
        await page.click("text=Rectificar datos de contacto >> nth=-1")
        await expect(rectified).to_have_text(
            "No se corrigió nada: un teléfono no es válido para el país de la empresa.")
        await page.get_by_label("Teléfonos (separados por comas)").fill("310 456 7890")
        await page.get_by_label("Correo").fill("maria.gomez@correo.com.co")
        await page.click("text=Rectificar datos de contacto >> nth=-1")
        await expect(rectified).to_contain_text("Datos de contacto corregidos (")
        await expect(rectified).to_contain_text("teléfonos")
        await expect(rectified).to_contain_text(") en 1 cuenta.")

        # «Solicitar supresión»: it says what goes and that it cannot be undone; refused while D-001 is owed.
        await page.get_by_label("Motivo o radicado (sin datos personales)").fill("Radicado SUP-2026-0341")
        await page.click("text=Solicitar supresión")
        confirm = page.locator("#erasure-confirm")
        await expect(confirm).to_be_visible()
        await expect(confirm).to_contain_text("María José Gómez")
        await expect(confirm).to_contain_text("Esta acción no se puede deshacer.")
        await page.click("text=Cancelar")
        await expect(confirm).to_be_hidden()
        await page.click("text=Solicitar supresión")
        await page.click("text=Sí, suprimir los datos")
        await expect(page.locator("#erasure-status")).to_have_text(
            "No se puede suprimir: la persona tiene obligaciones activas, que son la base legal para conservar sus "
            "datos. Se puede suprimir cuando cada una esté pagada, saldada o retirada. Cuentas activas: D-001.")
        await page.screenshot(path=str(tmp_path / "account-tasks.png"), full_page=True)  # docs/console/


        # The paid-off debtor's erasure, followed until every service confirmed.
        await page.goto(platform.base_url + ACCOUNT + "D-003")
        await page.click("text=Solicitar supresión")
        await expect(confirm).to_contain_text("Marisol Rueda")
        await page.click("text=Sí, suprimir los datos")
        await expect(page.locator("#erasure-status")).to_contain_text("Supresión completada", timeout=120000)
        await expect(page.locator("#erasure-status")).to_contain_text("(cuentas D-003)")
        await page.reload()
        await expect(page.locator("#facts")).to_contain_text("(datos suprimidos)")
        await expect(page.locator("#rights")).to_have_count(0)  # nobody left to answer for
        assert errors == []

        # A person of the client company: the account, without these actions (the APIs are operators' only).
        own = await (await browser.new_context(locale="es-CO")).new_page()
        own_violations = await csp_violations(own)
        await sign_in_on_console(own, platform.base_url, "luis@bancoandino.co", PASSWORD)
        await own.goto(platform.base_url + ACCOUNT + "D-001")
        await expect(own.locator("#timeline")).to_contain_text("Pago de $100.000,00")
        await expect(own.locator("#payment-form")).to_have_count(0)
        await expect(own.locator("#rights")).to_have_count(0)
        assert violations == [] and own_violations == [], violations + own_violations
        await browser.close()


async def test_amounts_are_read_in_each_client_companys_marks_and_currency(platform: RunningPlatform) -> None:
    """es-MX writes 1,500.50 (a comma groups thousands): the promise logged is of 1500.50 pesos, not 1.5005 (one
    above the balance refused in Spanish first). A
    Chilean peso has no cents: a payment of 1.000,50 CLP is refused in Spanish, 1.000 is applied."""
    assert CHROMIUM_INSTALLED, "Debian's chromium is not installed (scripts/test.sh installs it)"
    tienda = {"slug": "tienda-norte", "name": "Tienda del Norte", "country": "MX", "currency": "MXN",
              "timezone": "America/Mexico_City", "locale": "es-MX"}
    andes = {"slug": "retail-andes", "name": "Retail Andes", "country": "CL", "currency": "CLP",
             "timezone": "America/Santiago", "locale": "es-CL"}
    async with platform.client() as api:
        for client, csv in ((tienda, 'Cuenta,RFC,Nombre,Saldo,Dias Mora\nM-001,GOMA800101ABC,Mariana Gómez,"25,000.00",30\n'),
                            (andes, "Cuenta;Documento;Nombre;Saldo;Dias Mora\nC-001;12.345.678-5;Camila Soto;250.000;30\n")):
            assert (await api.post("/v1/clients", json=client)).status_code == 201
            sent = await api.post(f"/v1/clients/{client['slug']}/portfolios",
                                  files={"file": ("cartera.csv", csv.encode())})
            assert sent.status_code == 202, sent.text
        answer = await api.post("/v1/users", json={"email": "ana@agencia.co", "role": "operator",
                                                   "password": PASSWORD})
        assert answer.status_code == 201, answer.text

        async def known() -> bool:
            contacts = await api.get("/v1/clients/tienda-norte/accounts/M-001/contacts")
            return contacts.status_code == 200

        await eventually(known, timeout_s=120, message="M-001 known to outreach")

        await paid_once(api, "retail-andes", {"account_ref": "C-001", "amount": "10000", "method": "cash",
                                              "paid_at": "2026-12-01T10:00:00-03:00"})

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = await (await browser.new_context(locale="es-MX")).new_page()
        violations = await csp_violations(page)
        await sign_in_on_console(page, platform.base_url, "ana@agencia.co", PASSWORD)
        await page.goto(platform.base_url + "/console/accounts/tienda-norte/M-001")
        await page.select_option("#contact-outcome", "promise_to_pay")
        tomorrow = dt.datetime.now(zoneinfo.ZoneInfo("America/Mexico_City")).date() + dt.timedelta(days=2)
        await page.fill("#promise-date", tomorrow.isoformat())
        await page.fill("#promise-amount", "30,000.00")  # more than the 25,000.00 owed: refused, said in Spanish
        await page.click("text=Registrar contacto >> nth=-1")
        await expect(page.locator("#action-status")).to_have_text(
            "La promesa no es válida: el monto debe ser positivo y no mayor que el saldo, y la fecha debe estar "
            "dentro de la ventana de promesas del cliente.")
        await page.fill("#promise-amount", "1,500.50")
        await page.click("text=Registrar contacto >> nth=-1")
        await expect(page.locator("#action-status")).to_contain_text("Contacto registrado")
        await expect(page.locator("#timeline")).to_contain_text("Promesa de pago")

        await page.goto(platform.base_url + "/console/accounts/retail-andes/C-001")
        # Chilean pesos have no cents: the balance, the placement and the payment on the page are whole pesos.
        await expect(page.locator("#balance-today")).to_have_text("$240.000")
        await expect(page.locator("#timeline")).to_contain_text("Saldo $250.000, 30 días de mora")
        await expect(page.locator("#timeline")).to_contain_text("Pago de $10.000")
        shown = await page.evaluate("(xs) => xs.map((x) => window.recaudoAccount.money(x))", SAMPLES)
        assert shown == [format_amount(Decimal(x), "CLP", "es-CL") for x in SAMPLES], shown  # as the server
        await page.get_by_label("Monto (CLP)").fill("1.000,50")
        await page.click("text=Registrar pago >> nth=-1")
        await expect(page.locator("#payment-status")).to_have_text(
            "El monto tiene más decimales de los que usa la moneda (CLP).")
        await page.get_by_label("Monto (CLP)").fill("1.000")
        await page.click("text=Registrar pago >> nth=-1")
        await expect(page.locator("#payment-status")).to_have_text(
            "Pago de $1.000 registrado. Saldo de la cuenta: $239.000.")

        async def owed_today() -> bool:  # once the payment reached reporting's account view (read on each load)
            await page.reload()
            await expect(page.locator("#timeline")).to_contain_text("Asignación de la cuenta")
            return await page.locator("#balance-today").inner_text() == "$239.000"

        await eventually(owed_today, timeout_s=60, message="today's balance after the payment")
        assert violations == [], violations
        await browser.close()

    async with platform.client() as api:
        async def promised() -> list[str]:
            held = await api.get("/v1/clients/tienda-norte/debtors/GOMA800101ABC/personal-data")
            return [p["amount"] for p in held.json()["promises"]] if held.status_code == 200 else []

        await eventually(promised, timeout_s=60, message="the promise in reporting")
        assert await promised() == ["1500.50"]


async def test_an_erasure_refused_by_the_ledger_is_said_in_spanish(platform: RunningPlatform) -> None:
    """Reporting's view says the account is paid, so the erasure starts; but the payment was reversed meanwhile (a
    bounced cheque reporting has not read yet), and payments, the gate, refuses it: the page follows the erasure
    to its refusal, says why in Spanish, and nothing of the person is erased."""
    assert CHROMIUM_INSTALLED, "Debian's chromium is not installed (scripts/test.sh installs it)"
    csv = ("Número Obligación;Cédula;Nombre Completo;Celular;Saldo Total;Días Mora\n"
           "D-005;79888777;Rosa Linares;300 123 4505;90.000;10\n")
    async with platform.client() as api:
        assert (await api.post("/v1/clients", json=BANCO)).status_code == 201
        sent = await api.post("/v1/clients/banco-andino/portfolios", files={"file": ("cartera.csv", csv.encode())})
        assert sent.status_code == 202, sent.text
        answer = await api.post("/v1/users", json={"email": "ana@agencia.co", "role": "operator",
                                                   "password": PASSWORD})
        assert answer.status_code == 201, answer.text

        payment_id = await paid_once(api, "banco-andino", {"account_ref": "D-005", "amount": "90000",
                                                           "method": "cheque", "paid_at": "2026-12-01T10:00:00-05:00"})

        async def closed() -> bool:
            view = await api.get("/v1/clients/banco-andino/accounts/D-005")
            return view.status_code == 200 and view.json()["status"] == "paid"

        await eventually(closed, timeout_s=60, message="D-005 paid in reporting")

    engine = create_async_engine(platform.settings.database_url, pool_size=1)
    try:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = await (await browser.new_context(locale="es-CO")).new_page()
            violations = await csp_violations(page)
            await sign_in_on_console(page, platform.base_url, "ana@agencia.co", PASSWORD)
            await page.goto(platform.base_url + ACCOUNT + "D-005")
            status = page.locator("#erasure-status")
            async with engine.connect() as held, held.begin():
                # Reporting's row of the account held, so its view stays 'paid' until the erasure has started:
                # the reversal is in the ledger, not yet in the read model the page's request is judged on.
                await held.execute(text("SELECT 1 FROM reporting.accounts WHERE client_slug = 'banco-andino' "
                                        "AND account_ref = 'D-005' FOR UPDATE"))
                async with platform.client() as api:
                    reversed_ = await api.post(f"/v1/clients/banco-andino/payments/{payment_id}/reversal",
                                               headers={"Idempotency-Key": "cheque-devuelto-d005"},
                                               json={"reason": "Cheque devuelto"})
                    assert reversed_.status_code == 200, reversed_.text
                await page.get_by_label("Motivo o radicado (sin datos personales)").fill("Radicado SUP-2026-0400")
                await page.click("text=Solicitar supresión")
                await expect(page.locator("#erasure-confirm")).to_contain_text("Rosa Linares")
                await page.click("text=Sí, suprimir los datos")
                await expect(status).to_contain_text("Supresión en curso")
            await expect(status).to_have_text(
                "Supresión rechazada: una cuenta de la persona volvió a estar activa (un contracargo, una reversión, "
                "un saldo nuevo del cliente o una cuenta nueva) antes de borrar nada. No se suprimió ningún dato.",
                timeout=120_000)
            assert await status.get_attribute("class") == "task-status error"
            await page.reload()  # nothing erased: the person is still there, and so are the rights' actions
            await expect(page.locator("#facts")).to_contain_text("Rosa Linares")
            await expect(page.locator("#rights")).to_have_count(1)
            assert violations == [], violations
            await browser.close()
    finally:
        await engine.dispose()
