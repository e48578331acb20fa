"""Uploading a portfolio on the console in a real headless Chromium (Debian's, driven by Playwright) (#23): a client
company's person signs in, follows the first page's link to the company's portfolios, chooses a small XLSX with one
bad row in the file picker ('Cargar cartera'), watches it run, and reads the result: the counts, the rejected row
in the table, and the rejections' CSV download; then drops another file on the drop zone, and saves a mapping
profile that a third upload names."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import xlsxwriter
from playwright.async_api import Page, async_playwright

from ingest.main import build
from ingest.settings import IngestSettings
from recaudo_common.runtime import Platform, build_app, make_platform
from recaudo_common.testing import serving_app, settings_for_test

from .browser_csp import csp_violations
from .test_debtor_page import CHROMIUM, CHROMIUM_ARGS, CHROMIUM_INSTALLED

pytestmark = pytest.mark.e2e
PASSWORD = "una frase larga de acceso"
CSV = ("Número Obligación;Cédula;Nombre Completo;Celular;Saldo Total;Días Mora\n"
       "D-001;1020304050;Cliente Uno;300 123 4501;150.000;15\n"
       "D-002;1020304051;Cliente Dos;300 123 4502;no es un saldo;30\n"
       "D-003;1020304052;Cliente Tres;300 123 4503;250.000;45\n")
DEADLINE_MS = 60_000


@contextlib.asynccontextmanager
async def serving_ingest(database_url: str, *, with_worker: bool) -> AsyncIterator[tuple[Platform, str, str]]:
    """Ingest served on a real port, with its upload worker running or (so an upload stays where a test puts it)
    without; its platform, base URL and an operator key."""
    platform = make_platform(settings_for_test(database_url), pool_size=3)
    _, key = await platform.keys.create(role="operator", now=platform.clock())
    unit = build(platform, IngestSettings(upload_poll_s=0.2))
    stop = asyncio.Event()
    # The worker that processes the waiting uploads.
    uploads = asyncio.ensure_future(unit.workers[0](stop)) if with_worker else None
    try:
        async with serving_app(build_app(platform, [unit])) as base_url:
            yield platform, base_url, key
    finally:
        stop.set()
        if uploads is not None:
            await uploads
        await platform.db.dispose()


@pytest.fixture
async def console(database_url: str) -> AsyncIterator[tuple[str, str]]:
    """Ingest served on a real port with its upload worker running; its base URL and an operator key."""
    async with serving_ingest(database_url, with_worker=True) as (_, base_url, key):
        yield base_url, key


async def sign_in_as_eva(page: Page, base_url: str) -> None:
    await page.goto(base_url + "/console")
    await page.fill("input[type=email]", "eva@bancoandino.co")
    await page.fill("input[type=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_selector("#signed-in-as")


async def banco_andino_and_its_person(api: httpx.AsyncClient) -> None:
    """Banco Andino registered by the operator's key, and Eva, its person on the console."""
    assert (await api.post("/v1/clients", json={
        "slug": "banco-andino", "name": "Banco Andino S.A.", "country": "CO", "currency": "COP",
        "timezone": "America/Bogota", "locale": "es-CO"})).status_code == 201
    made = await api.post("/v1/users", json={"email": "eva@bancoandino.co", "password": PASSWORD,
                                             "role": "client", "client": "banco-andino"})
    assert made.status_code == 201, made.text


async def test_a_client_person_uploads_a_portfolio_and_reads_its_rejections(console: tuple[str, str],
                                                                            tmp_path: Path) -> None:
    assert CHROMIUM_INSTALLED, "Debian's chromium is not installed (scripts/test.sh installs it)"
    base_url, key = console
    async with httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {key}"}) as api:
        await banco_andino_and_its_person(api)
    cartera = tmp_path / "cartera-diciembre.xlsx"
    book = xlsxwriter.Workbook(str(cartera))  # as Excel saves it: amounts as numbers, one written as words
    sheet = book.add_worksheet("Cartera")
    for r, line in enumerate(CSV.splitlines()):
        for c, cell in enumerate(line.split(";")):
            amount = cell.replace(".", "")
            sheet.write(r, c, int(amount) if c == 4 and amount.isdigit() else cell)
    book.close()

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = await browser.new_context(locale="es-CO", accept_downloads=True)
        page = await context.new_page()
        violations = await csp_violations(page)
        page.set_default_timeout(DEADLINE_MS)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        # What failed to load, but the browser's own ask for a favicon (the console has none).
        page.on("response", lambda r: errors.append(f"{r.status} {r.url}")
                if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
        await sign_in_as_eva(page, base_url)

        await page.click("text=cargar cartera")  # the first page's link, to the company's own portfolios
        await page.wait_for_url(base_url + "/console/portfolios/banco-andino")
        assert "Carteras de Banco Andino S.A." in await page.locator("h1").inner_text()
        await page.get_by_label("Cargar cartera").set_input_files(str(cartera))

        # The script sends the file and opens its page, which follows the upload until its result is shown.
        await page.wait_for_url(f"{base_url}/console/portfolios/banco-andino/*")
        await page.locator("#status", has_text="Completada").wait_for()
        assert [await page.locator(f"#rows-{n}").inner_text() for n in ("total", "accepted", "rejected")] == [
            "3", "2", "1"]
        rejected = page.locator("#rejections tbody tr")
        assert await rejected.count() == 1
        cells = await rejected.first.locator("td").all_inner_texts()
        # The detail, in Spanish, names the field; the cell refused is shown among the row's cells, while they are kept.
        assert cells[:5] == ["3", "balance", "invalid_balance", "Saldo no válido",
                             "El saldo no es un número como se escribe en es-CO"] and "no es un saldo" in cells[5]
        await page.screenshot(path=str(tmp_path / "portfolio.png"), full_page=True)

        link = page.locator("#rejections-csv")
        async with page.expect_download() as downloading:
            await link.click()
        download = await downloading.value
        saved = await download.path()
        assert "invalid_balance" in await asyncio.to_thread(saved.read_text, encoding="utf-8-sig")
        href = await link.get_attribute("href")
        assert href is not None
        answer = await context.request.get(base_url + href)  # the same link with the browser's session
        assert answer.status == 200 and answer.headers["content-type"].startswith("text/csv")

        await page.goto(base_url + "/console/portfolios/banco-andino")
        assert "cartera-diciembre.xlsx" in await page.locator("#uploads").inner_text()
        first = page.url
        # A file dropped on the drop zone goes the same way (the browser's own drop event, with a file in it).
        await page.evaluate("""csv => {
            const moved = new DataTransfer();
            moved.items.add(new File([csv], "cartera-enero.csv", {type: "text/csv"}));
            document.getElementById("dropzone").dispatchEvent(
                new DragEvent("drop", {dataTransfer: moved, bubbles: true, cancelable: true}));
        }""", CSV.replace("D-00", "E-00"))
        await page.wait_for_url(lambda url: url.startswith(first + "/"))
        await page.locator("#status", has_text="Completada").wait_for()
        assert await page.locator("#rows-rejected").inner_text() == "1"
        await page.goto(first)
        listed = await page.locator("#uploads tbody tr td:first-child").all_inner_texts()
        assert listed == ["cartera-enero.csv", "cartera-diciembre.xlsx"]  # newest first
        await page.screenshot(path=str(tmp_path / "portfolios.png"), full_page=True)

        # A mapping profile saved on the page is read back, and an upload naming it is read with it.
        await page.fill("#profile-name", "cartera-mensual")
        await page.fill("#profile-mapping", "account_ref = Obligación\ndebtor_id = Documento\nfull_name = Titular\n"
                                            "balance = Deuda\ndays_past_due = Mora")
        await page.click("#profile-save")
        await page.locator("#profile-status", has_text="Perfil «cartera-mensual» guardado.").wait_for()
        await page.fill("#profile-mapping", "nonsense = Columna")
        await page.click("#profile-save")
        await page.locator("#profile-status", has_text="No se guardó").wait_for()
        refused = [e for e in errors if e.startswith("422 ") and e.endswith("/mappings/cartera-mensual")]
        assert len(refused) == 1  # the API's refusal of a field it does not know, as the page said
        errors.remove(refused[0])
        await page.reload()
        # The saved profile is listed by name: one click reads it.
        await page.locator("#profiles button.profile", has_text="cartera-mensual").click()
        await page.locator("#profile-status", has_text="leído").wait_for()
        assert await page.input_value("#profile-name") == "cartera-mensual"
        assert "balance = Deuda" in await page.input_value("#profile-mapping")
        await page.fill("#mapping-profile", "cartera-mensual")
        mapped = tmp_path / "cartera-propia.csv"
        mapped.write_text("Obligación;Documento;Titular;Deuda;Mora\nF-001;1020304099;Cliente Cuatro;90.000;20\n",
                          encoding="utf-8")
        await page.get_by_label("Cargar cartera").set_input_files(str(mapped))
        await page.wait_for_url(lambda url: url.startswith(first + "/"))
        await page.locator("#status", has_text="Completada").wait_for()
        assert await page.locator("#rows-accepted").inner_text() == "1"
        assert errors == []
        assert violations == [], violations  # no style or script the policy refuses
        await browser.close()


async def test_an_upload_paused_by_the_bulk_lane_says_why_on_its_page_until_it_goes_on(database_url: str) -> None:
    """A large upload waiting between batches for the services to catch up (#24) says so on its page, in the
    company's time, and the page's script follows it: the sentence goes when the upload goes on, and comes back,
    naming what it waits for, when it waits again; the company's list of uploads says it is paused."""
    import datetime as dt
    import uuid

    from sqlalchemy import text

    from ingest.handlers import show_pause
    from recaudo_common.events import topic_name

    assert CHROMIUM_INSTALLED, "Debian's chromium is not installed (scripts/test.sh installs it)"
    paused_at = dt.datetime(2026, 12, 1, 15, 4, tzinfo=dt.UTC)  # 10:04 in Bogotá
    async with serving_ingest(database_url, with_worker=False) as (platform, base_url, key):
        prefix = platform.settings.topic_prefix
        async with httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {key}"}) as api:
            await banco_andino_and_its_person(api)
            sent = await api.post("/v1/clients/banco-andino/portfolios", files={"file": ("grande.csv", CSV)},
                                  data={"as_of": "2026-12-01"})
            assert sent.status_code == 202, sent.text
            upload = uuid.UUID(sent.json()["id"])
            async with platform.db.transaction() as s:  # as if a worker were on it, far into a large file
                await s.execute(text("UPDATE ingest.portfolios SET status = 'processing', progress = 0.4 "
                                     "WHERE id = :id"), {"id": upload})
            await show_pause(platform.db, upload, lambda: paused_at, topic_name(prefix, "contact"), 0.0)

            async with async_playwright() as p:
                browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = await (await browser.new_context(locale="es-CO")).new_page()
                page.set_default_timeout(DEADLINE_MS)
                errors: list[str] = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                await sign_in_as_eva(page, base_url)
                await page.goto(f"{base_url}/console/portfolios/banco-andino/{upload}")
                said = page.locator("#paused")
                assert await said.is_visible()
                text_shown = await said.inner_text()
                assert text_shown.startswith("En pausa desde las 10:04") and "contactos" in text_shown, text_shown
                assert await page.locator("#progress-text").inner_text() == "40 %"

                await show_pause(platform.db, upload, lambda: paused_at, None, 0.0)  # it goes on
                await page.locator("#paused").wait_for(state="hidden")
                await show_pause(platform.db, upload, lambda: paused_at + dt.timedelta(minutes=3),
                                 topic_name(prefix, "account"), 60.0)  # and waits again, for the account readers
                await page.locator("#paused", has_text="En pausa desde las 10:06").wait_for()
                assert "leen las cuentas" in await said.inner_text()
                # The company's list of uploads says so too, and why when pointed at.
                await page.goto(f"{base_url}/console/portfolios/banco-andino")
                listed = page.locator("#uploads tbody tr", has_text="grande.csv").locator("td.status-processing")
                assert await listed.inner_text() == "Procesando (40 %, en pausa)"
                assert (await listed.get_attribute("title") or "").startswith("En pausa desde las 10:06")
                assert errors == []
                await browser.close()


async def test_a_refused_file_is_said_in_spanish(console: tuple[str, str], tmp_path: Path) -> None:
    """A file the API refuses is said in Spanish with what to fix, never as a bare status: one with nothing in it, one
    sent under a mapping profile the company does not have (refused at the door, nothing kept), and one without a
    balance column (kept and refused: its page names the columns missing)."""
    assert CHROMIUM_INSTALLED, "Debian's chromium is not installed (scripts/test.sh installs it)"
    base_url, key = console
    async with httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {key}"}) as api:
        await banco_andino_and_its_person(api)
    empty, no_balance = tmp_path / "vacia.csv", tmp_path / "sin-saldo.csv"
    empty.write_bytes(b"")
    no_balance.write_text("Obligación;Cédula;Nombre;Mora\nG-001;1020304077;Cliente Cinco;20\n", encoding="utf-8")
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = await (await browser.new_context(locale="es-CO")).new_page()
        page.set_default_timeout(DEADLINE_MS)
        await sign_in_as_eva(page, base_url)
        await page.goto(base_url + "/console/portfolios/banco-andino")
        said = page.locator("#upload-error")

        await page.get_by_label("Cargar cartera").set_input_files(str(empty))
        await said.wait_for()
        assert await said.inner_text() == "No se pudo cargar la cartera: El archivo está vacío."
        await page.fill("#mapping-profile", "cartera-trimestral")
        await page.get_by_label("Cargar cartera").set_input_files(str(no_balance))
        await page.locator("#upload-error", has_text="perfil").wait_for()
        assert await said.inner_text() == ("No se pudo cargar la cartera: La empresa no tiene un perfil de mapeo "
                                           "con ese nombre; revise cómo se escribe en «Perfiles de mapeo».")

        await page.fill("#mapping-profile", "")
        await page.get_by_label("Cargar cartera").set_input_files(str(no_balance))
        await page.wait_for_url(f"{base_url}/console/portfolios/banco-andino/*")
        shown = await page.locator("[role=alert]").inner_text()
        assert shown.startswith("Al archivo le faltan columnas obligatorias: el saldo.") \
            and shown.endswith("(código missing_required_columns)"), shown
        assert await page.locator("#status").inner_text() == "Fallida"
        await browser.close()
