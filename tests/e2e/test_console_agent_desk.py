"""The agent desk in a real headless Chromium (Debian's, driven by Playwright) (#23): an agent signs in, opens the
desk, takes the next call, sees the account and its script, logs a promise to pay with an amount and a date, and
reads the confirmation; the outcome is recorded with the agent's user id and the promise goes out as an event. The
balance reads as the server writes it (format_amount: es-CO's $1.500.000,00, as in the platform's script beside it);
a Chilean company's call shows its balance in whole pesos (CLP has no cents), and is taken off the desk, with why in
Spanish, once an operator puts its account on hold."""

import datetime as dt
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from playwright.async_api import async_playwright, expect
from sqlalchemy import text

from recaudo.services import build_units
from recaudo_common.bus.base import Message
from recaudo_common.bus.consumer import ConsumerRuntime
from recaudo_common.events import AccountPlaced, AccountSegmented, ClientRegistered, Event
from recaudo_common.money import format_amount
from recaudo_common.personal_data import PersonalData, Vault
from recaudo_common.runtime import Platform, build_app, make_platform
from recaudo_common.testing import sealed_person, serving_app, settings_for_test

from .browser_csp import csp_violations
from .test_debtor_page import CHROMIUM, CHROMIUM_ARGS, CHROMIUM_INSTALLED

pytestmark = pytest.mark.e2e
PASSWORD = "una frase larga de acceso"
WEDNESDAY_10 = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)  # 10:00 in Bogotá: the contact law allows a call


@dataclass
class Desk:
    base_url: str
    operator_key: str
    platform: Platform


def moving_clock() -> Callable[[], dt.datetime]:
    """A clock that starts on a weekday morning in Bogotá and moves with real time (the browser's is set alike)."""
    start = time.monotonic()
    return lambda: WEDNESDAY_10 + dt.timedelta(seconds=time.monotonic() - start)


@pytest.fixture
async def desk(database_url: str) -> AsyncIterator[Desk]:
    """Ingest (identity, sign-in) and outreach (the desk) on a real port, with an account queued for an agent."""
    platform = make_platform(settings_for_test(database_url), pool_size=4, clock=moving_clock())
    _, key = await platform.keys.create(role="operator", now=platform.clock())
    units = build_units(platform, ["ingest", "outreach"])
    [outreach] = [u for u in units if u.name == "outreach"]
    assert outreach.subscriptions is not None
    debtor_ref, personal = await sealed_person(platform.db, Vault.from_settings(platform.settings), "banco",
                                               PersonalData(full_name="MARÍA PÉREZ", id_number="1020304050",
                                                            id_type="CC", phones=("+573001234567",), email=None,
                                                            address=None), platform.clock())
    chilean, sealed = await sealed_person(platform.db, Vault.from_settings(platform.settings), "andes",
                                          PersonalData(full_name="CAMILA SOTO", id_number="123456785", id_type="RUT",
                                                       phones=("+56912345678",), email=None, address=None),
                                          platform.clock())
    events: list[Event] = [
        ClientRegistered(slug="banco", name="Banco Andino S.A.", country="CO", currency="COP",
                         timezone="America/Bogota", locale="es-CO", default_authorised_channels=["agent"]),
        AccountPlaced(account_ref="D-77", portfolio_id=uuid.uuid4(), debtor_ref=debtor_ref, personal=personal,
                      has_phone=True, has_email=False, balance=Decimal("1500000"), currency="COP", days_past_due=45,
                      as_of=dt.date(2026, 3, 4), authorised_channels=["agent"]),
        AccountSegmented(account_ref="D-77", days_past_due=45, bucket="31-60", bucket_at_placement="31-60",
                         segment="31-60/high", treatment="agent_first", channels=["agent"], propensity=Decimal("0.4"),
                         cost_to_collect=Decimal("100"), expected_net_recovery=Decimal("900000"), strategy_version=1,
                         strategy_arm="champion", model_version="scorecard-v1", why="test", trigger="placement",
                         cadence_days=3, offer="settlement", offer_discount_pct=Decimal("20"))]
    andes: list[Event] = [
        ClientRegistered(slug="andes", name="Retail Andes", country="CL", currency="CLP",
                         timezone="America/Santiago", locale="es-CL", default_authorised_channels=["agent"]),
        AccountPlaced(account_ref="C-01", portfolio_id=uuid.uuid4(), debtor_ref=chilean, personal=sealed,
                      has_phone=True, has_email=False, balance=Decimal("250000"), currency="CLP", days_past_due=45,
                      as_of=dt.date(2026, 3, 4), authorised_channels=["agent"]),
        events[2].model_copy(update={"account_ref": "C-01"})]
    runtime = ConsumerRuntime(platform.db, platform.transport, outreach.subscriptions, "t", platform.clock)
    for i, (client, e) in enumerate([("banco", e) for e in events] + [("andes", e) for e in andes]):
        envelope = e.envelope(client=client, occurred_at=platform.clock() + dt.timedelta(microseconds=i))
        assert await runtime.handle_batch([Message(f"t.{e.family}", e.key(client), envelope, {})]) == ["processed"]
    async with serving_app(build_app(platform, units)) as base_url:
        yield Desk(base_url, key, platform)
    await platform.db.dispose()


async def test_an_agent_takes_the_next_call_and_logs_a_promise_to_pay(desk: Desk, tmp_path: Path) -> None:
    assert CHROMIUM_INSTALLED, "Debian's chromium is not installed (scripts/test.sh installs it)"
    async with httpx.AsyncClient(base_url=desk.base_url,
                                 headers={"Authorization": f"Bearer {desk.operator_key}"}) as api:
        made = await api.post("/v1/users", json={"email": "luis@agencia.co", "password": PASSWORD, "role": "agent"})
        assert made.status_code == 201, made.text
        agent_id = made.json()["id"]

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = await browser.new_context(locale="es-CO")
        page = await context.new_page()
        violations = await csp_violations(page)
        await page.clock.install(time=WEDNESDAY_10)  # the browser's "now" (the contact's time) is the platform's
        await page.goto(desk.base_url + "/console/agent")
        assert page.url == desk.base_url + "/console/sign-in"  # no session: sent to sign in
        await page.fill("input[type=email]", "luis@agencia.co")
        await page.fill("input[type=password]", PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_selector("#signed-in-as")
        await page.click("text=Escritorio de agente")
        await page.wait_for_url(desk.base_url + "/console/agent")
        await expect(page.locator("#client")).to_have_value("banco")

        await page.click("text=Siguiente llamada")
        await expect(page.locator("#account-ref")).to_have_text("D-77", timeout=10_000)
        # One amount, one way: the balance as the server writes it (Babel's CLDR, not the browser's Intl), and as
        # the platform's script for the call, written by the server, says it.
        balance = format_amount(Decimal("1500000"), "COP", "es-CO")
        assert balance == "$1.500.000,00"
        await expect(page.locator("#balance")).to_have_text(balance)
        assert balance in await page.locator("#script").inner_text()
        await expect(page.locator("#debtor-name")).to_have_text("MARÍA PÉREZ")
        await expect(page.locator("#offer")).to_have_text("Pago único con descuento")
        assert (await page.locator("#script").inner_text()).strip()

        await page.select_option("#outcome", "promise_to_pay")
        await page.fill("#promise-amount", "150.000")  # written as the client's locale writes amounts
        await page.fill("#promise-date", "2026-03-10")
        await page.click("text=Registrar resultado")
        await expect(page.locator("#outcome-status")).to_have_text(
            "Resultado registrado para la cuenta D-77. Promesa de pago registrada.", timeout=10_000)
        await page.screenshot(path=str(tmp_path / "agent-desk.png"), full_page=True)  # docs/console/agent-desk.png

        await page.click("text=Siguiente llamada")
        await expect(page.locator("#desk-status")).to_have_text("No hay llamadas ahora.", timeout=10_000)

        await page.select_option("#client", "andes")  # Chilean pesos have no cents
        await page.click("text=Siguiente llamada")
        await expect(page.locator("#account-ref")).to_have_text("C-01", timeout=10_000)
        await expect(page.locator("#balance")).to_have_text(format_amount(Decimal("250000"), "CLP", "es-CL"))
        assert await page.locator("#balance").inner_text() == "$250.000"

        # An operator puts the account on hold while the call is on screen: the page, asking for its call again,
        # takes it off with why, before it is dialled.
        async with httpx.AsyncClient(base_url=desk.base_url,
                                     headers={"Authorization": f"Bearer {desk.operator_key}"}) as api:
            held = await api.post("/v1/clients/andes/accounts/C-01/legal-holds", json={"hold": "dispute"})
            assert held.status_code == 201, held.text
        await page.clock.run_for(10_000)
        await expect(page.locator("#desk-status")).to_have_text(
            "La llamada fue retirada y no debe hacerse: la cuenta tiene una retención legal (disputa). No cuenta "
            "como contacto; pida la siguiente.", timeout=10_000)
        await expect(page.locator("#call")).to_be_hidden()
        assert violations == [], violations  # no style or script the policy refuses
        await browser.close()

    async with desk.platform.db.transaction() as s:
        [(by, outcome)] = (await s.execute(text(
            "SELECT logged_by::text, outcome FROM outreach.contacts WHERE account_ref = 'D-77'"))).all()
        [(amount,)] = (await s.execute(text(
            "SELECT envelope->'payload'->>'amount' FROM outreach.outbox WHERE envelope->>'type' = 'promise.made'"))).all()
    assert (by, outcome, Decimal(amount)) == (agent_id, "promise_to_pay", Decimal("150000"))
