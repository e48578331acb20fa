"""The dashboard in a real headless Chromium (Debian's, driven by Playwright) against the whole platform: it
loads with a client key, its numbers equal the API's and read as the client company's locale writes them (amounts
exactly as the server writes them, format_amount: es-CO "$7.800.000,00", on the tiles, the money axes' ticks and the
hovers; "1,9%", dates dd/mm/aaaa on the axis), and a payment posted during the test shows up live. Its
Content-Security-Policy allows no inline style but by hash, and Chromium refuses none: Plotly's own style rules
apply (its chart layers stacked) and nothing it adds breaks the policy."""

import datetime as dt
import os
import re
import shutil
import uuid
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Page, async_playwright

from recaudo_common.money import format_amount
from recaudo_common.testing import (
    REPOSITORY_ROOT,
    RunningPlatform,
    eventually,
)
from reporting.domain.headers import group_for

from .browser_csp import csp_violations
from .test_console_accounts import SAMPLES
from .test_debtor_page import CHROMIUM, CHROMIUM_ARGS, CHROMIUM_INSTALLED

pytestmark = pytest.mark.e2e
BANCO = {"slug": "banco-andino", "name": "Banco Andino S.A.", "country": "CO", "currency": "COP",
         "timezone": "America/Bogota", "locale": "es-CO"}
CSV = "Número Obligación;Cédula;Nombre Completo;Celular;Saldo Total;Días Mora\n" + "".join(
    f"D-{i:03d};10203040{i:02d};Cliente {i};300 123 45{i:02d};{(i + 1) * 100000};{15 * i}\n" for i in range(12))


async def tile(page: Page, name: str) -> str:
    return await page.locator(f"#{name}").get_attribute("data-value") or ""


def seen(text: str) -> str:
    """Text as a person reads it: Intl separates "%" with a no-break space."""
    return text.replace("\xa0", " ").replace("\u202f", " ").strip()


async def shown(page: Page, name: str) -> str:
    return seen(await page.locator(f"#{name}").inner_text())


async def ticks(page: Page, chart: str, axis: str) -> list[str]:
    return [seen(t) for t in await page.locator(f"#{chart} .{axis}tick text").all_text_contents()]


async def test_the_dashboard_shows_the_apis_numbers_and_updates_live(platform: RunningPlatform,
                                                                     tmp_path: Path) -> None:
    assert CHROMIUM_INSTALLED, "Debian's chromium is not installed (scripts/test.sh installs it)"
    async with platform.client() as operator:
        assert (await operator.post("/v1/clients", json=BANCO)).status_code == 201
        key = (await operator.post("/v1/keys", json={"role": "client", "client": "banco-andino"})).json()["key"]
        upload = await operator.post("/v1/clients/banco-andino/portfolios",
                                     files={"file": ("cartera.csv", CSV.encode(), "text/csv")})
        assert upload.status_code == 202, upload.text
        url = "/v1/clients/banco-andino/reports/recovery"

        async def placed() -> dict[str, object] | None:
            answer = await operator.get(url, params={"group_by": "bucket"})
            if answer.status_code != 200:  # the client company has not reached reporting yet
                return None
            body = answer.json()
            ready = body["totals"]["accounts_placed"] == 12 and all(g["key"] != "unassigned" for g in body["groups"])
            return body if ready else None

        await eventually(placed, timeout_s=90, message="the portfolio placed and segmented")
        pay = await operator.post("/v1/clients/banco-andino/payments", headers={"Idempotency-Key": str(uuid.uuid4())},
                                  json={"account_ref": "D-003", "amount": "150000",
                                        "paid_at": dt.datetime.now(dt.UTC).isoformat(), "method": "cash"})
        assert pay.status_code in (200, 201), pay.text

        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = await browser.new_page(viewport={"width": 1400, "height": 1000}, locale="es-CO")
            violations = await csp_violations(page)
            await page.goto(platform.base_url + "/dashboard")
            await page.fill("#key", key)
            await page.click("text=Entrar")
            await page.wait_for_selector("#recovered[data-value]", timeout=30_000)

            async def page_matches_api() -> bool:
                totals = (await operator.get(url)).json()["totals"]
                return (Decimal(await tile(page, "recovered") or "-1") == Decimal(totals["recovered"])
                        and await tile(page, "accounts_placed") == str(totals["accounts_placed"])
                        and Decimal(await tile(page, "placed_balance")) == Decimal(totals["placed_balance"])
                        and float(await tile(page, "recovery_rate")) == totals["recovery_rate"])

            await eventually(page_matches_api, timeout_s=30, message="the page shows the API's totals")
            assert Decimal(await tile(page, "recovered")) == Decimal("150000")
            report = (await operator.get(url)).json()
            assert (report["currency"], report["locale"]) == ("COP", "es-CO")  # what the page formats with
            # What a person at Banco Andino reads: one amount, one way, exactly as the server writes it on the
            # account page and in every message (Babel's CLDR, not the browser's Intl: "$ 7.800.000").
            cop = lambda amount: format_amount(Decimal(amount), "COP", "es-CO")  # noqa: E731
            assert await page.locator("#recovered").inner_text() == cop("150000") == "$150.000,00"
            assert await page.locator("#placed_balance").inner_text() == cop("7800000") == "$7.800.000,00"
            # The script's writer for any company in the style the page carries: a Chilean one's pesos, no decimals.
            written = await page.evaluate("(xs) => xs.map(formats('es-CL', 'CLP').money)", SAMPLES)
            assert written == [format_amount(Decimal(x), "CLP", "es-CL") for x in SAMPLES], written
            assert await shown(page, "accounts_placed") == "12"
            # a comma before the decimal; the space before "%" is the browser's ICU's to give ("1,9%" in Debian's)
            assert re.fullmatch(r"1,9 ?%", await shown(page, "recovery_rate"))
            today = dt.datetime.now(ZoneInfo("America/Bogota")).strftime("%d/%m/%Y")

            async def axes_in_locale() -> bool:
                money = await ticks(page, "by-bucket", "y")
                # the money axis's ticks as the tiles write amounts: the sign, dots, the cent after a comma
                return (today in await ticks(page, "curve", "x") and money != []
                        and any(re.fullmatch(r"\$\d{1,3}(\.\d{3})+,\d\d", label) for label in money)
                        and all(re.fullmatch(r"\$\d{1,3}(\.\d{3})*,\d\d", label) for label in money))

            await eventually(axes_in_locale, timeout_s=30, message="the charts' axes in es-CO (dates and pesos)")

            async def hovers_as_the_server() -> bool:  # what a bar's hover says is its amount as the server writes it
                groups = (await operator.get(url, params={"group_by": "bucket"})).json()["groups"]
                said = await page.evaluate("document.getElementById('by-bucket').data.map((t) => t.customdata)")
                return said == [[cop(g["placed_balance"]) for g in groups], [cop(g["recovered"]) for g in groups]]

            await eventually(hovers_as_the_server, timeout_s=30, message="the bars' hovers as format_amount writes")

            async def named_as_the_exports() -> bool:  # one word per thing: the charts name groups as the exports do
                for chart, by in (("by-bucket", "bucket"), ("by-channel", "channel"), ("arms", "strategy_arm")):
                    groups = (await operator.get(url, params={"group_by": by})).json()["groups"]
                    names = await page.evaluate(f"document.getElementById('{chart}').data[0].x")
                    if names != [group_for(by, g["key"], "es-CO") for g in groups] or "unassigned" in names:
                        return False
                return True

            await eventually(named_as_the_exports, timeout_s=30, message="the charts' group names as the exports'")
            assert await page.locator("#client-name").inner_text() == "Banco Andino S.A."
            assert await page.locator("#client").is_disabled()  # a client key sees only its own company
            assert await page.locator("#by-bucket .bars, #by-bucket .plot").count() >= 1  # Plotly drew the chart
            # Plotly's rules (in the <style> it fills through the CSSOM) apply: its layers lie on top of each other.
            assert await page.evaluate(
                "getComputedStyle(document.querySelector('#by-bucket .main-svg')).position") == "absolute"

            # A payment posted while the page is open shows up on it by itself.
            await operator.post("/v1/clients/banco-andino/payments", headers={"Idempotency-Key": str(uuid.uuid4())},
                                json={"account_ref": "D-005", "amount": "250000",
                                      "paid_at": dt.datetime.now(dt.UTC).isoformat(), "method": "cash"})

            async def updated() -> bool:
                return Decimal(await tile(page, "recovered") or "0") == Decimal("400000")

            await eventually(updated, timeout_s=30, message="the live stream updated the page")
            assert await page.locator("#recovered").inner_text() == "$400.000,00"
            await page.wait_for_selector('#curve[data-recovered="400000"]', timeout=30_000)  # the charts follow
            await eventually(page_matches_api, timeout_s=30, message="the page still equals the API")
            shot = tmp_path / "dashboard.png"
            await page.screenshot(path=str(shot), full_page=True)
            assert violations == [], violations
            await browser.close()
        if os.environ.get("RECAUDO_DOCS_SCREENSHOTS") == "1":
            shutil.copy(shot, REPOSITORY_ROOT / "docs" / "dashboard.png")
