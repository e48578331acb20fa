"""Payments' lists paged as every list is (#23): the refused webhooks, the suspense queue and a gateway account's
unconfirmed refunds are read page by page following `next` (none twice, none missed, in the list's order, the
Link header on each page but the last), and a cursor they never gave is a 422 invalid_cursor."""

from __future__ import annotations

import json

import httpx
import pytest

from payments.main import build
from payments.settings import PaymentsSettings
from recaudo_common.runtime import build_app
from recaudo_common.testing_pages import assert_invalid_cursors_refused, walk_pages
from recaudo_common.webhook_signatures import sign

from .conftest import NOW, Gateway, payment
from .fake_reconciliation_apis import FakeReconciliationApis
from .test_gateway_refunds import apis, gw, payu_account, sender  # noqa: F401  (fixtures)

pytestmark = pytest.mark.integration


async def test_refused_webhooks_are_read_page_by_page(gateway: Gateway, payments_settings: PaymentsSettings) -> None:
    app = build_app(gateway.platform, [build(gateway.platform, payments_settings)])
    raw = json.dumps(payment("forged", amount="999999.00")).encode()
    for i in range(7):  # one row per source address, all seen at the same instant: the id breaks the tie
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(f"203.0.113.{i}", 4000)),
                                     base_url="http://test") as source:
            forged = await source.post("/v1/webhooks/payments/pasarela", content=raw,
                                       headers={"Recaudo-Signature": sign(raw, "adivinada", NOW)})
            assert forged.status_code == 401
    url = "/v1/webhooks/payments/rejections"
    everything = (await gateway.http.get(url, headers=gateway.as_operator())).json()["items"]
    assert len(everything) == 7
    items, pages = await walk_pages(gateway.http, url, limit=3, headers=gateway.as_operator())
    assert pages == 3 and items == everything  # the most recently seen first, none twice, none missed
    assert [i["id"] for i in items] == sorted((i["id"] for i in items), reverse=True)
    await assert_invalid_cursors_refused(gateway.http, url, ("2026-03-31T15:00:00", 1), ("ayer", 1),
                                         ("2026-03-31T15:00:00+00:00", "1"), headers=gateway.as_operator())


async def test_the_suspense_queue_is_read_page_by_page(gateway: Gateway) -> None:
    for i in range(5):
        assert (await gateway.send(payment(f"gw-{i}", ref="NO-EXISTE", amount=f"{i + 1}.00"))).json()[
            "status"] == "unmatched"
    url = "/v1/clients/banco/payments/unmatched"
    everything = (await gateway.http.get(url, headers=gateway.as_operator())).json()["items"]
    items, pages = await walk_pages(gateway.http, url, limit=2, headers=gateway.as_operator())
    # All received at the same instant (the test's clock): their ids break the tie.
    assert pages == 3 and items == everything and sorted(i["gateway_payment_id"] for i in items) == [
        f"gw-{i}" for i in range(5)]
    await assert_invalid_cursors_refused(gateway.http, url, ("2026-03-31T15:00:00+00:00", "no-es-un-uuid"),
                                         ("2026-03-31", None), headers=gateway.as_operator())


async def test_a_gateway_accounts_unconfirmed_refunds_are_read_page_by_page(
        gw: Gateway, apis: FakeReconciliationApis) -> None:  # noqa: F811
    send = sender(gw, await payu_account(gw, apis, api_login=False))
    claims = [(ref, value) for ref in ("A-1", "A-2") for value in ("1000.00", "2000.00", "3000.00")]
    for n, (ref, value) in enumerate(claims):
        assert await send(ref, "6", value=value, transaction_id=f"r-{n}", message="REFUNDED") == (
            200, "refund_unconfirmed")
    url = "/v1/clients/banco/gateways/payu/refunds/unconfirmed"
    items, pages = await walk_pages(gw.http, url, limit=4, headers=gw.as_operator())
    # All sent at the same instant: by reference, then amount.
    assert pages == 2 and [(u["reference"], u["amount"]) for u in items] == claims
    await assert_invalid_cursors_refused(gw.http, url, ("2026-03-31T15:00:00+00:00", "A-1", "diez", "COP"),
                                         ("2026-03-31T15:00:00+00:00", "A-1", "NaN", "COP"),
                                         ("2026-03-31T15:00:00+00:00", "A-1", 5, "COP"), headers=gw.as_operator())
