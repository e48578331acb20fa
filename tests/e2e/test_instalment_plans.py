"""Offers and plans end to end (#21), through the whole platform's public API and the debtor page as a browser
posts it: a client company's strategy offers an instalment plan, the debtor chooses 6 instalments on the page, sees
each before confirming, pays two (the first in two parts, the second through its own link on the debtor page and
the sandbox gateway), misses the third and then the fourth; the plan and the
account follow MISSION §7: each instalment a promise with its own link, partial payments counted in order, the
missed instalment broken after its grace day while the plan stands, the second breaking it, the rest cancelled, and
the account reverting, open with what was not paid, as payments' API and the client's account view show it.

Time moves as the platform's promise-verdict job would see it: payments' evaluate_due_promises run with a given now
against the platform's database (what its periodic worker runs with the clock)."""

import datetime as dt
import re
import uuid
import zoneinfo
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from payments.promises.handlers import evaluate_due_promises
from recaudo_common.db import Database
from recaudo_common.instalments import schedule
from recaudo_common.testing import RunningPlatform, eventually

pytestmark = pytest.mark.e2e
BOGOTA = zoneinfo.ZoneInfo("America/Bogota")
BANCO = {"slug": "banco-andino", "name": "Banco Andino S.A.", "country": "CO", "currency": "COP",
         "timezone": "America/Bogota", "locale": "es-CO"}
CSV = "Número Obligación;Cédula;Nombre Completo;Celular;Saldo Total;Días Mora\n" \
      "B-001;1020304050;Ana Gómez;300 123 4567;2.500.000;45\n"
BUCKETS = ["0", "1-30", "31-60", "61-90", "91-120", "121-180", "181-360", "361+"]
HTML = {"Accept": "text/html"}
ACCOUNT = "/v1/clients/banco-andino/accounts/B-001"


def plan_strategy() -> dict[str, Any]:
    return {"tiers": {"high": "100000", "medium": "10000"}, "rules": [
        {"bucket": b, "tier": t, "treatment": "cuotas", "channels": ["sms"], "cadence_days": 3,
         "offer": {"kind": "instalment_plan", "instalments": 6}} for b in BUCKETS for t in ("high", "medium", "low")]}


def proof_of(page: str) -> str:
    found = re.search(r'name="proof" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def after_grace(due: dt.date) -> dt.datetime:
    """The first minute after an instalment's grace day in the client company's time zone (MISSION §7)."""
    return dt.datetime.combine(due + dt.timedelta(days=2), dt.time(0, 1), BOGOTA)


async def test_a_debtor_chooses_six_instalments_pays_two_misses_and_the_plan_breaks(platform: RunningPlatform) -> None:
    async with platform.client() as operator, httpx.AsyncClient(base_url=platform.base_url, timeout=30) as browser:
        assert (await operator.post("/v1/clients", json=BANCO)).status_code == 201

        async def strategy_saved() -> bool:  # once segmentation has the client company (client.registered)
            return (await operator.put("/v1/clients/banco-andino/strategy", json=plan_strategy())).status_code == 200

        await eventually(strategy_saved, timeout_s=90, message="the strategy offering plans saved")
        upload = await operator.post("/v1/clients/banco-andino/portfolios",
                                     files={"file": ("cartera.csv", CSV.encode(), "text/csv")})
        assert upload.status_code == 202, upload.text

        async def offered_a_plan() -> dict[str, Any] | None:  # segmented under the strategy, known to outreach
            view = await operator.get(ACCOUNT)
            if view.status_code != 200 or view.json()["offer"] != "instalment_plan":
                return None
            answer = await operator.post(f"{ACCOUNT}/payment-link")
            return answer.json() if answer.status_code == 201 else None

        url = (await eventually(offered_a_plan, timeout_s=90, message="the account offered a plan"))["url"]
        path = url.removeprefix(platform.base_url)
        today = dt.datetime.now(BOGOTA).date()
        six = schedule(Decimal("2500000"), 6, today)

        # The debtor answers the identity question, chooses 6 instalments, sees each, confirms. Outreach reads the
        # decision on its own, and may do so after reporting (which said the offer above): the page offers the
        # plan once it has.
        async def plan_offered() -> httpx.Response | None:
            answer = await browser.post(path, data={"digits": "304050"}, headers=HTML)
            return answer if answer.status_code != 200 or "Número de cuotas" in answer.text else None

        page = await eventually(plan_offered, timeout_s=90, message="the debtor page offering the plan")
        assert page.status_code == 200 and re.findall(r'<option value="(\d+)"', page.text) == [
            str(n) for n in range(2, 13)]
        preview = await browser.post(f"{path}/plan", headers=HTML, data={"proof": proof_of(page.text),
                                                                          "instalments": "6"})
        assert preview.status_code == 200 and "Su plan de 6 cuotas" in preview.text
        assert re.findall(r"<tr><td>\d+</td><td>[^<]+</td><td>([^<]+)</td></tr>", preview.text) == [
            "$416.666,66"] * 5 + ["$416.666,70"]
        confirmed = await browser.post(f"{path}/arrangement", headers=HTML, data={
            "proof": proof_of(preview.text), "offer": "instalment_plan", "instalments": "6"})
        assert confirmed.status_code == 200 and "plan de 6 cuotas" in confirmed.text

        async def plan(check: Any) -> dict[str, Any]:
            async def latest() -> dict[str, Any] | None:
                answer = await operator.get(f"{ACCOUNT}/arrangements")
                items = answer.json()["items"] if answer.status_code == 200 else []
                return items[0] if items and check(items[0]) else None
            found: dict[str, Any] = await eventually(latest, timeout_s=90, message="the plan as expected")
            return found

        made = await plan(lambda p: p["status"] == "active")
        assert [(i["due_date"], Decimal(i["amount"])) for i in made["instalments"]] == [
            (d.isoformat(), a) for d, a in six]
        assert all(i["payment_url"].startswith(platform.base_url + "/pay/") for i in made["instalments"])
        assert len({i["payment_url"] for i in made["instalments"]}) == 6  # a link of its own each

        # The first instalment paid in two parts by the client company's cashier: partial payments count, in order.
        for amount in ("300000.00", "116666.66"):
            paid = await operator.post("/v1/clients/banco-andino/payments", headers={
                "Idempotency-Key": str(uuid.uuid4())}, json={
                "account_ref": "B-001", "amount": amount, "paid_at": dt.datetime.now(dt.UTC).isoformat()})
            assert paid.status_code == 200 and paid.json()["status"] == "applied", paid.text
        one_kept = await plan(lambda p: [i["status"] for i in p["instalments"]] == ["kept"] + ["pending"] * 5)
        # The second through its own link: the debtor page behind it, paid through the sandbox gateway.
        own = one_kept["instalments"][1]["payment_url"].removeprefix(platform.base_url)
        assert own != path
        page = await browser.post(own, data={"digits": "304050"}, headers=HTML)
        assert page.status_code == 200, page.text
        paid_page = await browser.post(f"{own}/pay", headers=HTML, data={
            "proof": proof_of(page.text), "amount": "416666.66", "nonce": uuid.uuid4().hex})
        assert paid_page.status_code == 200 and "Pago recibido" in paid_page.text
        two_kept = await plan(lambda p: [i["status"] for i in p["instalments"]] == ["kept"] * 2 + ["pending"] * 4)
        assert two_kept["paid_amount"] == "833333.32"
        assert two_kept["instalments"][1]["payment_url"] is None  # paid: its link is no longer offered

        engine = create_async_engine(platform.settings.database_url, pool_size=1)
        db = Database(engine)
        try:
            # The third missed: broken after its grace day, the plan stands (it survives one missed instalment).
            assert await evaluate_due_promises(db, now=after_grace(six[2][0])) == {"kept": 0, "broken": 1}
            one_missed = await plan(lambda p: p["instalments"][2]["status"] == "broken")
            assert one_missed["status"] == "active"
            # The fourth missed too: the plan is broken, the rest cancelled.
            assert await evaluate_due_promises(db, now=after_grace(six[3][0])) == {"kept": 0, "broken": 1}
        finally:
            await engine.dispose()
        broken = await plan(lambda p: p["status"] == "broken")
        assert [i["status"] for i in broken["instalments"]] == ["kept", "kept", "broken", "broken", "cancelled",
                                                               "cancelled"]

        async def reverted() -> dict[str, Any] | None:  # the client company's account view follows
            view = (await operator.get(ACCOUNT)).json()
            arrangements = view.get("arrangements") or []
            done = arrangements and arrangements[0]["result"] == "broken"
            return view if done and Decimal(view["balance"]) == Decimal("1666666.68") else None

        view = await eventually(reverted, timeout_s=90, message="the account view shows the plan broken")
        assert view["status"] == "open" and Decimal(view["recovered"]) == Decimal("833333.32")
        assert (view["arrangements"][0]["kind"], view["arrangements"][0]["instalments"]) == ("instalment_plan", 6)
