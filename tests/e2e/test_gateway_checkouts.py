"""A debtor pays for real at each gateway, end to end (#21): the whole platform as its own process, reached only
through its public HTTP API, the browser's pages and the gateways' webhooks, with one local server standing in for
Wompi, Mercado Pago, PayU and Stripe (their hosted checkouts and the APIs payments calls, each checking the request's
documented form). Per gateway: an operator registers a client company, places its portfolio and configures the
gateway account; the debtor opens the page, answers the identity question and pays online; payments sends the
browser to the gateway's checkout with its own payment reference (the request the gateway receives checked field by
field, signatures recomputed); the test, as the gateway, notifies the payment exactly as the gateway does at the
account's webhook; the money reaches the ledger once and the client company's account view and recovery report, the
checkout reads approved, the outcome page says so in Spanish and outreach queues the debtor's confirmation. Then a
redelivery changes nothing, a declined payment of a second checkout applies nothing and its page says so, a forged
notification is refused 401, and an approved payment with an unknown reference waits in suspense.

One platform for the module (its start costs about 20 s on two cores); each gateway has its own client company."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from recaudo_common.testing import eventually, platform_in_own_database, serving_app

from .gateway_checkout_gateways import (
    ACCOUNT,
    GATEWAYS,
    PAID,
    Gateway,
    Gateways,
    Sent,
    World,
    fake_checkouts,
    fake_gateways,
    gateways_app,
)

pytestmark = pytest.mark.e2e
OPERATOR_KEY = "rk_e2e_gateway_checkouts_0123456789"
HTML = {"Accept": "text/html"}
CSV = "Número Obligación;Cédula;Nombre Completo;Celular;Saldo Total;Días Mora\n" \
      "G-001;1020304050;Ana Gómez;300 123 4567;2.500.000;45\n"
PLACED = Decimal("2500000")
CASHIER = Decimal("1000")  # a cashier's payment after everything: once reporting has it, it has all before it
SECRETS = ("events_secret", "integrity_secret", "access_token", "webhook_secret", "api_key", "secret_key")


@pytest.fixture(scope="module")
async def world(postgres_server_url: str, template_database: str,
                tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    g = Gateways(apis=fake_checkouts.FakeCheckoutApis(now=dt.datetime.now(dt.UTC), mp_access_token="APP_USR-e2e"),
                 lookups=fake_gateways.FakeGatewayApis(access_token="APP_USR-e2e"))
    async with serving_app(gateways_app(g)) as base_url:
        g.base_url = g.apis.base_url = g.lookups.base_url = base_url
        async with platform_in_own_database(
                postgres_server_url, template_database, "gateway_checkouts", tmp_path_factory.mktemp("checkouts"),
                OPERATOR_KEY, RECAUDO_PAYMENTS_WOMPI_CHECKOUT_URL=f"{base_url}/p/",
                RECAUDO_PAYMENTS_PAYU_CHECKOUT_URL=f"{base_url}/ppp-web-gateway-payu/",
                RECAUDO_PAYMENTS_STRIPE_API_BASE_URL=base_url, RECAUDO_PAYMENTS_WOMPI_API_BASE_URL=base_url,
                RECAUDO_PAYMENTS_GATEWAY_API_TIMEOUT_S="5") as platform:
            yield World(platform, g)


# ------------------------------------------------------------------ the platform, as operators and browsers use it

def proof_and_nonce(page: str) -> tuple[str, str]:
    online = page[page.index('id="pay-online"'):]
    proof = re.search(r'name="proof" value="([^"]+)"', online)
    nonce = re.search(r'name="nonce" value="([^"]+)"', online)
    assert proof is not None and nonce is not None
    return proof.group(1), nonce.group(1)


async def client_company(w: World, operator: httpx.AsyncClient, gateway: Gateway) -> tuple[str, str, str]:
    """The gateway's client company with its portfolio placed and its gateway account configured: (slug, the
    account's webhook URL, the debtor page's path)."""
    slug = f"banco-{gateway.name}"
    created = await operator.post("/v1/clients", json={
        "slug": slug, "name": f"Banco {gateway.name.title()} S.A.", "country": "CO", "currency": "COP",
        "timezone": "America/Bogota", "locale": "es-CO"})
    assert created.status_code == 201, created.text
    upload = await operator.post(f"/v1/clients/{slug}/portfolios",
                                 files={"file": ("cartera.csv", CSV.encode(), "text/csv")})
    assert upload.status_code == 202, upload.text

    async def configured() -> httpx.Response | None:  # once payments knows the client company
        answer = await operator.put(f"/v1/clients/{slug}/gateways/principal", json=gateway.account(w.gateways))
        return answer if answer.status_code in (200, 201) else None

    account = (await eventually(configured, timeout_s=90, message=f"{slug}'s gateway account configured")).json()
    hook = account["webhook_url"]
    assert hook.startswith(f"{w.platform.base_url}/v1/webhooks/gateways/")
    given = gateway.account(w.gateways)
    assert not [k for k in SECRETS if k in given and given[k] in json.dumps(account)]  # never answered

    async def link() -> dict[str, Any] | None:
        answer = await operator.post(f"/v1/clients/{slug}/accounts/{ACCOUNT}/payment-link")
        return answer.json() if answer.status_code == 201 else None

    url = (await eventually(link, timeout_s=90, message="outreach knows the account"))["url"]
    assert url.startswith(f"{w.platform.base_url}/pay/")
    return slug, hook, url.removeprefix(w.platform.base_url)


async def pay_online(browser: httpx.AsyncClient, path: str, amount: Decimal) -> httpx.Response:
    """The debtor answers the identity question and presses "Pagar en línea" (once outreach has heard that the
    client company's gateway takes payments online); payments' answer to the checkout the page redirects to."""
    async def verified() -> str | None:
        page = await browser.post(path, data={"digits": "304050"}, headers=HTML)
        assert page.status_code == 200, page.text
        return page.text if "Pagar en línea" in page.text else None

    page = await eventually(verified, timeout_s=60, interval_s=0.5, message="the page offers to pay online")
    assert "Hola, Ana" in page
    proof, nonce = proof_and_nonce(page)
    paid = await browser.post(f"{path}/pay", headers=HTML, data={
        "proof": proof, "nonce": nonce, "method": "online", "amount": str(amount)})
    assert paid.status_code == 303, paid.text
    location = paid.headers["location"]
    assert location.startswith("/checkout/") and "." in location  # payments' checkout, with the signed ticket
    return await browser.get(location, headers=HTML)


async def notify(browser: httpx.AsyncClient, sent: Sent) -> httpx.Response:
    return await browser.post(sent.url, content=sent.body, headers=sent.headers)


@pytest.mark.parametrize("gateway", GATEWAYS, ids=[g.name for g in GATEWAYS])
async def test_a_debtor_pays_at_the_gateway_and_the_money_is_applied_once(world: World, gateway: Gateway) -> None:
    w = world
    async with w.platform.client() as operator, httpx.AsyncClient(base_url=w.platform.base_url, timeout=30,
                                                                   follow_redirects=False) as browser:
        slug, hook, path = await client_company(w, operator, gateway)

        # The debtor pays online: sent to the gateway's checkout with the platform's reference.
        reference = await gateway.reach(w, browser, await pay_online(browser, path, PAID), hook)
        waiting = await browser.get(f"/checkout/{reference}", headers=HTML)
        assert waiting.status_code == 200 and "Pago pendiente" in waiting.text
        opened = await operator.get(f"/v1/clients/{slug}/checkouts/{reference}")
        assert opened.status_code == 200 and opened.json()["status"] == "created", opened.text

        # The gateway notifies the approved payment at the account's webhook.
        approved = gateway.notification(w, hook, reference=reference, paid="approved", payment_id=gateway.payment_id(1))
        answer = await notify(browser, approved)
        assert answer.status_code in gateway.ok and answer.json()["status"] == "applied", answer.text

        async def balance_is(expected: Decimal) -> bool:
            view = await operator.get(f"/v1/clients/{slug}/accounts/{ACCOUNT}")
            return view.status_code == 200 and Decimal(view.json()["balance"]) == expected

        await eventually(lambda: balance_is(PLACED - PAID), timeout_s=60,
                         message="the payment in the client company's account view")
        checkout = await operator.get(f"/v1/clients/{slug}/checkouts/{reference}")
        assert checkout.status_code == 200, checkout.text
        shown = checkout.json()
        assert (shown["status"], Decimal(shown["amount"]), shown["gateway"], shown["account_ref"]) == (
            "approved", PAID, gateway.name, ACCOUNT)
        page = await browser.get(f"/checkout/{reference}", headers=HTML)
        assert page.status_code == 200 and "Pago aprobado" in page.text and "$150.000,00" in page.text
        assert f'href="{path}"' in page.text  # back to the debtor's page

        # Redelivered: the same notification changes nothing.
        again = await notify(browser, approved)
        assert again.status_code in gateway.ok and again.json()["status"] == "duplicate", again.text

        # A second checkout, declined at the gateway: nothing applied, and its page says so.
        declined_ref = await gateway.reach(w, browser, await pay_online(browser, path, PAID), hook)
        assert declined_ref != reference
        declined = await notify(browser, gateway.notification(w, hook, reference=declined_ref, paid="declined",
                                                              payment_id=gateway.payment_id(2)))
        assert declined.status_code in gateway.ok and declined.json()["status"] == "declined", declined.text
        page = await browser.get(f"/checkout/{declined_ref}", headers=HTML)
        assert "Pago rechazado" in page.text and "Pago aprobado" not in page.text
        assert (await operator.get(f"/v1/clients/{slug}/checkouts/{declined_ref}")).json()["status"] == "declined"

        # Forged: signed with a secret that is not the account's.
        forged = await notify(browser, gateway.notification(w, hook, reference=declined_ref, paid="approved",
                                                            payment_id=gateway.payment_id(3), secret="guessed-secret"))
        assert (forged.status_code, forged.json()["code"]) == (401, "bad_signature"), forged.text
        assert (await operator.get(f"/v1/clients/{slug}/checkouts/{declined_ref}")).json()["status"] == "declined"

        # Approved with a reference nobody issued: the suspense queue, with the gateway, its payment id and it.
        unknown_id = gateway.payment_id(4)
        unknown = await notify(browser, gateway.notification(w, hook, reference="NO-EMITIDA-77", paid="approved",
                                                             payment_id=unknown_id))
        assert unknown.status_code in gateway.ok and unknown.json()["status"] == "unmatched", unknown.text
        suspense = (await operator.get(f"/v1/clients/{slug}/payments/unmatched")).json()["items"]
        assert [(p["gateway"], p["gateway_payment_id"], p["reference"], Decimal(p["amount"])) for p in suspense] == [
            (f"{gateway.name}/{slug}/principal", unknown_id, "NO-EMITIDA-77", PAID)]

        # A cashier's payment after all that: once reporting has it, it has everything before it on the account,
        # so the balance shows the gateway's payment applied exactly once and nothing of the others.
        cashier = await operator.post(f"/v1/clients/{slug}/payments", headers={"Idempotency-Key": str(uuid.uuid4())},
                                      json={"account_ref": ACCOUNT, "amount": str(CASHIER),
                                            "paid_at": dt.datetime.now(dt.UTC).isoformat()})
        assert cashier.status_code == 200 and cashier.json()["status"] == "applied", cashier.text
        await eventually(lambda: balance_is(PLACED - PAID - CASHIER), timeout_s=60,
                         message="the gateway's payment applied once, the cashier's after it")
        report = (await operator.get(f"/v1/clients/{slug}/reports/recovery")).json()["totals"]
        assert (Decimal(report["recovered"]), report["payments"]) == (PAID + CASHIER, 2)

        # Outreach queued the debtor's confirmations: the approval and the decline, once each.
        async def confirmations() -> list[tuple[str, str]] | None:
            trail = (await operator.get(f"/v1/clients/{slug}/accounts/{ACCOUNT}/contacts")).json()["trail"]
            found = sorted((t["detail"]["confirmation"], t["detail"]["reference"], t["channel"]) for t in trail
                           if t["kind"] == "scheduled" and "confirmation" in t["detail"])
            return found if len(found) >= 2 else None  # then exactly these two: once each, whatever redelivered

        queued = await eventually(confirmations, timeout_s=60, message="the debtor's confirmations queued")
        assert queued == [("approved", reference, "sms"), ("declined", declined_ref, "sms")]
