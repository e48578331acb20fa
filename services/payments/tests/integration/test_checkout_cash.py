"""A cash checkout through the real HTTP API and PostgreSQL (#21): the debtor page's ticket for method "cash" shows
the form of what the client company's gateway account issues (Mercado Pago's Efecty in Colombia, at the local fake
of its payments API) and asks only what that gateway demands; a wrong answer is shown again with the reason; the
voucher issued for the checkout's reference is shown on the outcome page and the checkout waits pending with it,
published; nothing the payer typed is kept; without an account that issues vouchers the page says so (503)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from sqlalchemy import text

from payments.settings import PaymentsSettings
from recaudo_common.runtime import make_platform
from recaudo_common.testing import settings_for_test

from .conftest import NOW, Gateway, gateway_on
from .fake_cash_gateways import FakeCashGateways, cash_gateway_apis
from .test_checkouts import assert_private, checkout_rows, outboxed, ticket
from .test_gateway_accounts import WOMPI, configure

pytestmark = pytest.mark.integration
HTML = {"Accept": "text/html"}  # a browser: refusals are pages in Spanish


@pytest.fixture
async def fake() -> AsyncIterator[FakeCashGateways]:
    async with cash_gateway_apis() as opened:
        yield opened


@pytest.fixture
async def gw(database_url: str) -> AsyncIterator[Gateway]:
    # Mercado Pago takes only an https notification_url: the platform's public URL is one here.
    settings = settings_for_test(database_url).model_copy(update={"public_url": "https://recaudo.example"})
    platform = make_platform(settings, pool_size=8, clock=lambda: NOW)
    async with gateway_on(platform, PaymentsSettings(gateway_api_timeout_s=2.0)) as opened:
        yield opened
    await platform.db.dispose()


async def test_a_cash_checkout_issues_the_voucher_and_waits_pending(gw: Gateway, fake: FakeCashGateways) -> None:
    await configure(gw, "wompi-principal", WOMPI)  # online only: Wompi's corresponsales are not offered
    no_cash = await gw.http.get(f"/checkout/{ticket(gw, method='cash')}", headers=HTML, follow_redirects=False)
    assert no_cash.status_code == 503 and "El pago en efectivo no está disponible" in no_cash.text
    as_api = await gw.http.get(f"/checkout/{ticket(gw, method='cash')}")  # not a browser: problem details
    assert (as_api.status_code, as_api.json()["code"]) == (503, "cash_unavailable")
    hook = await configure(gw, "mp", {"kind": "mercadopago", "access_token": fake.mp_access_token,
                                      "webhook_secret": "w", "api_base_url": fake.base_url})
    assert [(e["online"], e["cash_networks"]) for e in await outboxed(gw, "payment.methods_available")][-1] == \
        (True, ["efecty"])
    token = ticket(gw, method="cash", amount="65000", nonce=uuid.uuid4().hex)
    form = await gw.http.get(f"/checkout/{token}", headers=HTML, follow_redirects=False)
    assert form.status_code == 200
    assert_private(form)
    assert 'value="efecty"' in form.text and "Efecty" in form.text and 'name="email"' in form.text
    assert 'name="id_number"' not in form.text  # Mercado Pago asks only an e-mail in Colombia
    wrong = await gw.http.post(f"/checkout/{token}", data={"network": "efecty", "email": "no es correo"},
                               headers=HTML, follow_redirects=False)
    assert wrong.status_code == 422 and "Escriba un correo electrónico válido" in wrong.text
    assert 'name="email"' in wrong.text  # the form again, to correct
    no_network = await gw.http.post(f"/checkout/{token}", data={"network": "baloto", "email": "a@b.co"})
    assert (no_network.status_code, no_network.json()["code"]) == (422, "invalid_cash_form")
    assert fake.asked == []  # nothing was sent to the gateway
    done = await gw.http.post(f"/checkout/{token}", data={"network": "efecty", "email": "ana.perez@example.co"},
                              follow_redirects=False)
    (row,) = [r for r in await checkout_rows(gw) if r["gateway"] == "mercadopago"]
    reference = row["reference"]
    assert done.status_code == 303 and done.headers["location"] == f"https://recaudo.example/checkout/{reference}"
    assert fake.malformed == []
    (asked,) = fake.asked
    assert asked.body["external_reference"] == reference and asked.body["payer"] == {"email": "ana.perez@example.co"}
    assert asked.body["notification_url"] == f"https://recaudo.example{hook}"
    issued = next(iter(fake.issued.values()))["transaction_details"]["payment_method_reference_id"]
    page = await gw.http.get(f"/checkout/{reference}")
    assert "Pago pendiente" in page.text and "<dd>Efecty</dd>" in page.text and f"<dd>{issued}</dd>" in page.text
    assert "$65.000,00" in page.text and 'http-equiv="refresh"' not in page.text
    shown = await gw.http.get(f"/v1/clients/banco/checkouts/{reference}", headers=gw.as_operator())
    assert shown.json()["status"] == "pending" and shown.json()["method"] == "cash"
    assert shown.json()["voucher"]["reference"] == issued and shown.json()["voucher"]["network"] == "efecty"
    updates = [e for e in await outboxed(gw, "payment.checkout_updated") if e["reference"] == reference]
    assert [(e["status"], (e["voucher"] or {}).get("reference")) for e in updates] == \
        [("created", None), ("pending", issued)]
    # The same click again (a reload, the back button) shows the voucher; it is never issued twice.
    again = await gw.http.get(f"/checkout/{token}", follow_redirects=False)
    resent = await gw.http.post(f"/checkout/{token}", data={"network": "efecty", "email": "ana.perez@example.co"},
                                follow_redirects=False)
    assert again.status_code == resent.status_code == 303 and len(fake.asked) == 1
    async with gw.platform.db.transaction() as s:
        rows = [r[0] for table in ("checkouts", "outbox", "gateway_payment_states")
                for r in await s.execute(text(f'SELECT row_to_json(t)::text FROM payments."{table}" t'))]
    assert not any("ana.perez" in r for r in rows)  # the payer's e-mail went to the gateway only


async def test_a_gateway_that_declines_or_is_down_is_said_and_nothing_is_kept(gw: Gateway,
                                                                              fake: FakeCashGateways) -> None:
    await configure(gw, "mp", {"kind": "mercadopago", "access_token": fake.mp_access_token,
                               "webhook_secret": "w", "api_base_url": fake.base_url})
    token = ticket(gw, method="cash")
    fake.decline = True
    declined = await gw.http.post(f"/checkout/{token}", data={"network": "efecty", "email": "ana@example.co"},
                                  headers=HTML)
    assert declined.status_code == 422 and "mercadopago_2034" in declined.text and "ana@" not in declined.text
    fake.decline, fake.down = False, True
    down = await gw.http.post(f"/checkout/{token}", data={"network": "efecty", "email": "ana@example.co"})
    assert (down.status_code, down.json()["code"]) == (503, "gateway_unreachable")
    (row,) = await checkout_rows(gw)
    assert row["status"] == "created" and row["gateway_payment_id"] is None
    online_ticket = ticket(gw)  # a ticket for the online method is not a cash form's
    refused = await gw.http.post(f"/checkout/{online_ticket}", data={"network": "efecty"})
    assert (refused.status_code, refused.json()["code"]) == (401, "invalid_ticket")
    assert Decimal(row["amount"]) == Decimal("30000")

