"""A promise to pay in a currency without cents (CLP), through outreach's real HTTP app and PostgreSQL: the debtor
page and an agent's logged contact refuse an amount with decimals the currency does not have
(amount_not_in_minor_units, 422, in Spanish on the page), as payments refuses such a payment; whole pesos are taken."""

import datetime as dt

import pytest

from recaudo_common.events import ClientUpdated, PaymentMethodsAvailable

from .conftest import Outreach, client_event, segmented
from .test_promise_window import HTML, TODAY, debtor_page

pytestmark = pytest.mark.integration
DUE = (TODAY + dt.timedelta(days=5)).isoformat()


async def chilean(outreach: Outreach, ref: str) -> None:
    pesos = client_event(country="CL", timezone="America/Santiago", locale="es-CL", currency="CLP").model_dump()
    placed = (await outreach.placed(ref, channels=("sms", "voice"))).model_copy(update={"currency": "CLP"})
    await outreach.deliver(ClientUpdated(**pesos), placed, segmented(ref))


async def test_the_debtor_page_refuses_a_promise_in_pesos_with_cents(outreach: Outreach) -> None:
    await chilean(outreach, "C-1")
    path, page = await debtor_page(outreach, "C-1")
    proof = page.split('name="proof" value="', 1)[1].split('"', 1)[0]

    async def promised(amount: str, accept: dict[str, str]) -> tuple[int, str]:
        answer = await outreach.http.post(f"{path}/promise", headers=accept,
                                          data={"proof": proof, "amount": amount, "due_date": DUE})
        return answer.status_code, answer.text

    status, text = await promised("1000.50", HTML)
    assert status == 422 and "CLP" in text and "sin decimales" in text
    status, text = await promised("1000,5", {})
    assert status == 422 and '"amount_not_in_minor_units"' in text
    assert (await promised("1000", HTML))[0] == 200
    assert (await promised("1000.00", HTML))[0] == 200
    made = await outreach.sql("SELECT envelope->'payload'->>'amount' FROM outreach.outbox "
                              "WHERE envelope->>'type' = 'promise.made' ORDER BY id")
    assert [r[0] for r in made] == ["1000", "1000.00"]


async def test_an_agents_promise_in_pesos_with_cents_is_refused(outreach: Outreach) -> None:
    await chilean(outreach, "C-2")

    async def logged(amount: str) -> tuple[int, str]:
        answer = await outreach.http.post("/v1/clients/banco/accounts/C-2/contacts", headers=outreach.auth, json={
            "channel": "voice", "at": "2026-03-04T09:00:00-03:00", "outcome": "promise_to_pay",
            "promise": {"amount": amount, "due_date": DUE}})
        return answer.status_code, answer.json().get("code", "")

    assert await logged("1000.50") == (422, "amount_not_in_minor_units")
    assert await logged("1000") == (201, "")
    rows = await outreach.sql("SELECT count(*) FROM outreach.outbox WHERE envelope->>'type' = 'promise.made'")
    assert rows[0][0] == 1


async def test_the_debtor_page_refuses_to_pay_pesos_with_cents(outreach: Outreach) -> None:
    """Paying on the page, through the sandbox and through a gateway's checkout: 1000.50 CLP is refused in Spanish
    before any charge or ticket (no gateway can charge half a peso); whole pesos get their checkout ticket."""
    now = outreach.clock.now
    await chilean(outreach, "C-3")
    path, page = await debtor_page(outreach, "C-3")
    proof = page.split('name="proof" value="', 1)[1].split('"', 1)[0]
    sandbox = await outreach.http.post(f"{path}/pay", headers=HTML, data={"proof": proof, "amount": "1000.50"})
    assert sandbox.status_code == 422 and "CLP" in sandbox.text and "sin decimales" in sandbox.text
    assert await outreach.sql("SELECT count(*) FROM outreach.trail WHERE kind = 'page_payment'") == [(0,)]

    await outreach.deliver(PaymentMethodsAvailable(online=True, cash_networks=[], changed_at=now))
    path, page = await debtor_page(outreach, "C-3")
    proof = page.split('name="proof" value="', 1)[1].split('"', 1)[0]
    online = await outreach.http.post(f"{path}/pay", data={"proof": proof, "method": "online", "amount": "1000,5"})
    assert online.status_code == 422 and online.json()["code"] == "amount_not_in_minor_units"
    assert await outreach.sql("SELECT count(*) FROM outreach.trail WHERE kind = 'page_checkout'") == [(0,)]
    whole = await outreach.http.post(f"{path}/pay", data={"proof": proof, "method": "online", "amount": "1000"})
    assert whole.status_code == 303 and whole.headers["location"].startswith("/checkout/")
