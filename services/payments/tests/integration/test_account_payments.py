"""An account's payments, newest first and a page at a time (`GET /v1/clients/{slug}/accounts/{ref}/payments`, the
account page's timeline, #23): each with its source, reference and what was reversed of it; another account's are
not among them, and a client company's key sees only its own (real PostgreSQL and payments' real routes)."""

import pytest

from recaudo_common.testing_pages import walk_pages

from .conftest import NOW, Gateway, payment

pytestmark = pytest.mark.integration
URL = "/v1/clients/banco/accounts/A-1/payments"


async def test_an_accounts_payments_newest_first_paged_with_what_was_reversed(gateway: Gateway) -> None:
    assert (await gateway.http.get(URL, headers=gateway.as_operator())).json() == {"items": [], "next": None}
    for i in range(5):
        paid = await gateway.manual(f"caja-manual-{i}", {"account_ref": "A-1", "amount": f"{1000 * (i + 1)}.00",
                                                 "paid_at": NOW.isoformat(), "method": "cash",
                                                 "reference": f"recibo {i}"})
        assert paid.status_code == 200 and paid.json()["status"] == "applied", paid.text
    assert (await gateway.send(payment("gw-9", ref="A-2", amount="7.00"))).status_code == 200  # another account's
    items, pages = await walk_pages(gateway.http, URL, limit=2, headers=gateway.as_operator())
    assert pages == 3, items
    # Received at one instant (the test's clock): newest first is then by id, a stable order across pages.
    assert sorted(i["amount"] for i in items) == ["1000.00", "2000.00", "3000.00", "4000.00", "5000.00"]
    assert [i["id"] for i in items] == sorted((i["id"] for i in items), reverse=True)
    assert {(i["source"], i["method"], i["status"], i["reversed_amount"], i["currency"]) for i in items} == {
        ("manual", "cash", "applied", "0.00", "COP")}
    assert {i["amount"]: i["reference"] for i in items}["5000.00"] == "recibo 4"

    [first] = [i["id"] for i in items if i["amount"] == "1000.00"]
    reversal = await gateway.http.post(f"/v1/clients/banco/payments/{first}/reversal", headers={
        **gateway.as_operator(), "Idempotency-Key": "reversal-0001"}, json={"amount": "400.00", "reason": "chargeback"})
    assert reversal.status_code in (200, 201), reversal.text
    again = (await gateway.http.get(URL, headers=gateway.as_operator())).json()["items"]
    assert {i["amount"]: i["reversed_amount"] for i in again}["1000.00"] == "400.00"


async def test_a_client_company_sees_only_its_own_accounts_payments(gateway: Gateway) -> None:
    _, other = await gateway.platform.keys.create(role="client", client_slug="otro", now=NOW)
    _, own = await gateway.platform.keys.create(role="client", client_slug="banco", now=NOW)
    assert (await gateway.http.get(URL, headers={"Authorization": f"Bearer {other}"})).status_code == 404
    assert (await gateway.http.get(URL, headers={"Authorization": f"Bearer {own}"})).status_code == 200
