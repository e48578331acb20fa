"""The promise window through outreach's real HTTP app and PostgreSQL: 30 days from the client company's today
unless the client company set its own (client.* events carry it), the same for the debtor page and for a
promise an agent logs; and a recalled account stays recalled when a payment or a settlement comes after the
recall."""

import datetime as dt
import re
import uuid
from decimal import Decimal

import pytest

from recaudo_common.events import AccountRecalled, AccountSettled, ClientUpdated, PaymentApplied

from .conftest import Outreach, client_event, segmented

pytestmark = pytest.mark.integration
HTML = {"Accept": "text/html"}
TODAY = dt.date(2026, 3, 4)  # the fixture's clock: Wednesday 10:00 in Bogotá


async def debtor_page(o: Outreach, ref: str) -> tuple[str, str]:
    answer = await o.http.post(f"/v1/clients/banco/accounts/{ref}/payment-link", headers=o.auth)
    path = str(answer.json()["url"]).removeprefix(o.settings.public_url)
    page = await o.http.post(path, data={"digits": "304050"}, headers=HTML)
    assert page.status_code == 200, page.text
    return path, page.text


async def promise_on_page(o: Outreach, path: str, page: str, due: dt.date) -> tuple[int, str]:
    proof = re.search(r'name="proof" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    answer = await o.http.post(f"{path}/promise", headers=HTML,
                               data={"proof": proof, "amount": "1000", "due_date": due.isoformat()})
    return answer.status_code, answer.text


async def test_the_debtor_page_takes_promises_up_to_30_days_ahead_by_default(outreach: Outreach) -> None:
    await outreach.deliver(await outreach.placed("W-1"), segmented("W-1"))
    path, page = await debtor_page(outreach, "W-1")
    assert 'max="2026-04-03"' in page  # the date picker stops where the rule does
    assert (await promise_on_page(outreach, path, page, TODAY + dt.timedelta(days=30)))[0] == 200
    status, text = await promise_on_page(outreach, path, page, TODAY + dt.timedelta(days=31))
    assert status == 422 and "próximos 30 días" in text and "2026-04-03" in text
    assert (await promise_on_page(outreach, path, page, TODAY - dt.timedelta(days=1)))[0] == 422


async def test_a_client_companys_own_window_holds_on_the_page_and_for_agents(outreach: Outreach) -> None:
    own = client_event().model_dump() | {"promise_window_days": 45}
    await outreach.deliver(ClientUpdated(**own), await outreach.placed("W-2", channels=("sms", "voice")),
                           segmented("W-2"))
    path, page = await debtor_page(outreach, "W-2")
    assert 'max="2026-04-18"' in page
    assert (await promise_on_page(outreach, path, page, TODAY + dt.timedelta(days=45)))[0] == 200
    status, text = await promise_on_page(outreach, path, page, TODAY + dt.timedelta(days=46))
    assert status == 422 and "próximos 45 días" in text

    async def logged(due: dt.date) -> tuple[int, str]:
        answer = await outreach.http.post("/v1/clients/banco/accounts/W-2/contacts", headers=outreach.auth, json={
            "channel": "voice", "at": "2026-03-03T22:30:00-05:00", "outcome": "promise_to_pay",  # 03:30 UTC on 4th
            "promise": {"amount": "1000", "due_date": due.isoformat()}})
        return answer.status_code, answer.json().get("code", "")

    # The contact's day is the client company's (3 March in Bogotá), not UTC's 4 March.
    assert await logged(dt.date(2026, 3, 3) + dt.timedelta(days=45)) == (201, "")
    assert await logged(dt.date(2026, 3, 3) + dt.timedelta(days=46)) == (422, "invalid_promise")
    assert await logged(dt.date(2026, 3, 2)) == (422, "invalid_promise")


async def test_an_agents_promise_is_held_to_30_days_by_default_no_longer_90(outreach: Outreach) -> None:
    await outreach.deliver(await outreach.placed("W-3", channels=("sms", "voice")))

    async def logged(due: str) -> int:
        answer = await outreach.http.post("/v1/clients/banco/accounts/W-3/contacts", headers=outreach.auth, json={
            "channel": "voice", "at": "2026-03-04T09:00:00-05:00", "outcome": "promise_to_pay",
            "promise": {"amount": "1000", "due_date": due}})
        return answer.status_code

    assert await logged("2026-04-03") == 201
    assert await logged("2026-04-04") == 422
    assert await logged("2026-05-30") == 422  # was accepted while this path allowed 90 days


async def test_a_payment_after_a_recall_leaves_the_account_recalled(outreach: Outreach) -> None:
    await outreach.deliver(await outreach.placed("W-4"), segmented("W-4"))
    assert any(s == "scheduled" for _, s in await outreach.attempts("W-4"))
    await outreach.deliver(AccountRecalled(account_ref="W-4", recalled_at=outreach.clock.now))
    await outreach.deliver(PaymentApplied(
        payment_id=uuid.uuid4(), account_ref="W-4", amount=Decimal("1000"), currency="COP",
        paid_at=outreach.clock.now, source="gateway", new_balance=Decimal("1499000"), account_status="open"))
    rows = await outreach.sql("SELECT status FROM outreach.account_status WHERE account_ref = 'W-4'")
    assert [r[0] for r in rows] == ["recalled"]
    await outreach.deliver(segmented("W-4"))  # a later treatment plans nothing for it
    assert not any(s == "scheduled" for _, s in await outreach.attempts("W-4"))
    _, page = await debtor_page(outreach, "W-4")
    assert "Oferta de pago con descuento" not in page


async def test_a_recall_wins_over_a_later_payment_whose_event_arrived_first(outreach: Outreach) -> None:
    await outreach.deliver(await outreach.placed("W-5"), segmented("W-5"))
    recalled_at = outreach.clock.now
    outreach.clock.now = recalled_at + dt.timedelta(hours=2)  # the debtor paid two hours after the recall...
    await outreach.deliver(PaymentApplied(
        payment_id=uuid.uuid4(), account_ref="W-5", amount=Decimal("1000"), currency="COP",
        paid_at=outreach.clock.now, source="gateway", new_balance=Decimal("1499000"), account_status="open"))
    outreach.clock.now = recalled_at  # ...and that payment's event reached outreach before the recall's
    await outreach.deliver(AccountRecalled(account_ref="W-5", recalled_at=recalled_at))
    rows = await outreach.sql("SELECT status FROM outreach.account_status WHERE account_ref = 'W-5'")
    assert [r[0] for r in rows] == ["recalled"]
    assert not any(s == "scheduled" for _, s in await outreach.attempts("W-5"))


async def test_a_settlement_paid_after_a_recall_leaves_the_account_recalled(outreach: Outreach) -> None:
    """A settlement agreed before the recall and paid after it: the client company withdrew the account, so it
    stays recalled here as in segmentation and reporting (account.settled set it to settled)."""
    await outreach.deliver(await outreach.placed("W-6"), segmented("W-6"))
    await outreach.deliver(AccountRecalled(account_ref="W-6", recalled_at=outreach.clock.now))
    outreach.clock.now += dt.timedelta(hours=1)
    await outreach.deliver(AccountSettled(account_ref="W-6", arrangement_id=uuid.uuid4(),
                                          settled_at=outreach.clock.now))
    rows = await outreach.sql("SELECT status FROM outreach.account_status WHERE account_ref = 'W-6'")
    assert [r[0] for r in rows] == ["recalled"]
