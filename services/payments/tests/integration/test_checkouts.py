"""Debtors' checkouts through the real HTTP API and PostgreSQL (#21): the debtor page's signed ticket opens one
checkout per click at the client company's gateway account (Wompi's and PayU's signed forms, Mercado Pago's
preference and Stripe's Checkout Session at local fakes that check the documented requests); a forged or expired
ticket is refused, no checkout-capable account is a 503 page; the gateway's notification of the checkout's
reference applies the money to its account once and moves the checkout (approved, declined, pending), each change
published on the payment topic; the outcome page says it in Spanish; an operator reads the checkout."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from sqlalchemy import text

from payments.checkouts.following import expire_overdue
from payments.gateways.domain import payu
from payments.settings import PaymentsSettings
from recaudo_common.checkout_tickets import CheckoutTicket, make_ticket
from recaudo_common.events.envelope import topic_name
from recaudo_common.page_policy import digest
from recaudo_common.runtime import make_platform
from recaudo_common.testing import eventually, relay_all, settings_for_test

from .conftest import NOW, Gateway, gateway_on
from .fake_checkouts import FakeCheckoutApis, checkout_apis
from .fake_gateways import gateway_apis
from .test_gateway_accounts import (
    MP_SECRET,
    PAYU,
    STRIPE,
    WOMPI,
    balance,
    configure,
    mp_payment,
    mp_send,
    payu_form,
    session,
    stripe_send_args,
    wompi_event,
)

pytestmark = pytest.mark.integration

SIGNED = ("transaction.id", "transaction.status", "transaction.amount_in_cents", "transaction.reference",
          "transaction.currency")


@pytest.fixture
async def fake() -> AsyncIterator[FakeCheckoutApis]:
    async with checkout_apis(NOW) as opened:
        yield opened


@pytest.fixture
async def gw(database_url: str, fake: FakeCheckoutApis) -> AsyncIterator[Gateway]:
    platform = make_platform(settings_for_test(database_url), pool_size=8, clock=lambda: NOW)
    settings = PaymentsSettings(stripe_api_base_url=fake.base_url, gateway_api_timeout_s=2.0)
    async with gateway_on(platform, settings) as opened:
        yield opened
    await platform.db.dispose()


def ticket(gw: Gateway, *, amount: str = "30000", method: str = "online", nonce: str | None = None,
           expires_at: dt.datetime = NOW + dt.timedelta(minutes=30), account: str = "A-1") -> str:
    return make_ticket(CheckoutTicket(
        client="banco", account_ref=account, link_token=f"link-{account}", amount=Decimal(amount), currency="COP",
        method=method, nonce=nonce or uuid.uuid4().hex, expires_at=expires_at),  # type: ignore[arg-type]
        gw.platform.settings.link_secret)


async def click(gw: Gateway, token: str) -> httpx.Response:
    return await gw.http.get(f"/checkout/{token}", headers={"Accept": "text/html"}, follow_redirects=False)


async def checkout_rows(gw: Gateway) -> list[dict[str, Any]]:
    async with gw.platform.db.transaction() as s:
        rows = await s.execute(text("SELECT reference, account_ref, gateway, gateway_account, status, amount, "
                                    "gateway_payment_id FROM payments.checkouts ORDER BY created_at, reference"))
        return [dict(r._mapping) for r in rows]


async def outboxed(gw: Gateway, event_type: str) -> list[dict[str, Any]]:
    async with gw.platform.db.transaction() as s:
        rows = await s.execute(text("SELECT envelope->'payload' FROM payments.outbox WHERE envelope->>'type' = :t "
                                    "ORDER BY id"), {"t": event_type})
        return [r[0] for r in rows]


def assert_private(answer: httpx.Response) -> None:
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["referrer-policy"] == "no-referrer"
    csp = answer.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "base-uri 'none'" in csp
    # Each inline block the page carries (the style, PayU's form's submit) runs by its hash: nothing unsafe-inline.
    assert "unsafe-inline" not in csp
    for body in re.findall(r"<(?:style|script)>(.*?)</(?:style|script)>", answer.text, re.DOTALL):
        assert digest(body) in csp


# ------------------------------------------------------------------ opening a checkout at each gateway

async def test_wompi_sends_the_browser_to_its_web_checkout_once_per_click(gw: Gateway) -> None:
    hook = await configure(gw, "wompi-principal", WOMPI)
    token = ticket(gw, amount="30000.50")
    first, again = await click(gw, token), await click(gw, token)
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]  # one click, one checkout
    assert_private(first)
    url = urlsplit(first.headers["location"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == "https://checkout.wompi.co/p/"
    fields = dict(parse_qsl(url.query))
    (row,) = await checkout_rows(gw)
    reference = row["reference"]
    assert re.fullmatch(r"RC[A-Z2-7]{20}", reference)
    assert fields["public-key"] == WOMPI["public_key"] and fields["currency"] == "COP"
    assert fields["amount-in-cents"] == "3000050" and fields["reference"] == reference
    assert fields["redirect-url"] == f"http://127.0.0.1:8000/checkout/{reference}"
    assert fields["expiration-time"] == "2026-03-31T16:00:00.000Z"
    assert fields["signature:integrity"] == hashlib.sha256(
        f"{reference}3000050COP2026-03-31T16:00:00.000Z{WOMPI['integrity_secret']}".encode()).hexdigest()
    assert (row["account_ref"], row["gateway"], row["gateway_account"], row["status"]) == \
        ("A-1", "wompi", "wompi-principal", "created")
    created = await outboxed(gw, "payment.checkout_updated")
    assert [(e["reference"], e["status"], e["amount"]) for e in created] == [(reference, "created", "30000.50")]
    assert hook  # the same account's webhook receives its notification (below)


async def test_the_page_nonce_asked_for_another_amount_method_or_account_is_another_checkout(gw: Gateway) -> None:
    # The debtor page's one nonce is in both its forms (online and cash), and a debtor may come back and ask
    # another amount: the same nonce must never send them to the checkout of what they asked before.
    await configure(gw, "wompi-principal", WOMPI)
    nonce = uuid.uuid4().hex
    asked = [("30000", "A-1"), ("45000", "A-1"), ("30000", "A-2")]
    answers = [await click(gw, ticket(gw, nonce=nonce, amount=amount, account=account)) for amount, account in asked]
    assert [a.status_code for a in answers] == [303, 303, 303]
    sent = [dict(parse_qsl(urlsplit(a.headers["location"]).query)) for a in answers]
    assert [f["amount-in-cents"] for f in sent] == ["3000000", "4500000", "3000000"]
    rows = await checkout_rows(gw)
    assert len({f["reference"] for f in sent}) == 3 == len(rows)
    assert sorted((r["account_ref"], r["amount"]) for r in rows) == \
        [("A-1", Decimal("30000")), ("A-1", Decimal("45000")), ("A-2", Decimal("30000"))]
    cash = await click(gw, ticket(gw, nonce=nonce, amount="30000", account="A-1", method="cash"))
    assert cash.status_code == 503 and "El pago en efectivo no está disponible" in cash.text  # not sent to Wompi
    assert len(await checkout_rows(gw)) == 3


async def test_payu_gets_its_signed_form_posted_by_the_browser(gw: Gateway) -> None:
    hook = await configure(gw, "payu", PAYU)
    answer = await click(gw, ticket(gw, amount="150000"))
    assert answer.status_code == 200
    assert_private(answer)
    (row,) = await checkout_rows(gw)
    reference = row["reference"]
    assert 'action="https://checkout.payulatam.com/ppp-web-gateway-payu/"' in answer.text
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', answer.text))
    assert fields == {
        "merchantId": "508029", "accountId": "512321", "description": "Pago de la obligación A-1",
        "referenceCode": reference, "amount": "150000", "tax": "0", "taxReturnBase": "0", "currency": "COP",
        "signature": payu.checkout_signature(api_key=PAYU["api_key"], merchant_id="508029", reference_code=reference,
                                             amount="150000", currency="COP"),
        "test": "0", "responseUrl": f"http://127.0.0.1:8000/checkout/{reference}",
        "confirmationUrl": f"http://127.0.0.1:8000{hook}"}
    assert "Lo estamos llevando a PayU para pagar <strong>$150.000,00</strong>" in answer.text
    hostile = await click(gw, ticket(gw, account='A-"><script>alert(1)</script>'))
    assert hostile.status_code == 200 and "<script>alert(1)" not in hostile.text
    assert 'value="Pago de la obligación A-&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in hostile.text


async def test_mercado_pago_creates_one_preference_and_sends_the_browser_to_it(gw: Gateway,
                                                                                fake: FakeCheckoutApis) -> None:
    hook = await configure(gw, "mp", {"kind": "mercadopago", "access_token": fake.mp_access_token,
                                      "webhook_secret": "w", "api_base_url": fake.base_url})
    token = ticket(gw, amount="45000")
    first, again = await click(gw, token), await click(gw, token)
    assert fake.refused == []
    (sent,) = fake.preferences  # the repeated click goes to the same preference
    (row,) = await checkout_rows(gw)
    reference = row["reference"]
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"] == \
        f"https://www.mercadopago.com.co/checkout/v1/redirect?pref_id={row['gateway_payment_id']}"
    assert sent["external_reference"] == reference
    assert sent["items"] == [{"id": reference, "title": "Pago de la obligación A-1", "quantity": 1,
                              "currency_id": "COP", "unit_price": 45000}]
    assert sent["notification_url"] == f"http://127.0.0.1:8000{hook}"
    assert sent["back_urls"]["success"] == f"http://127.0.0.1:8000/checkout/{reference}"
    fake.down = True
    refused = await click(gw, ticket(gw))
    assert refused.status_code == 503 and "La pasarela de pagos no responde" in refused.text


async def test_stripe_creates_a_checkout_session_with_the_reference_as_idempotency_key(
        gw: Gateway, fake: FakeCheckoutApis) -> None:
    await configure(gw, "stripe", STRIPE)  # no secret key: notifications only
    no_key = await click(gw, ticket(gw))
    assert no_key.status_code == 503 and "El pago en línea no está disponible" in no_key.text
    await configure(gw, "stripe", {**STRIPE, "secret_key": fake.stripe_secret_key})
    answer = await click(gw, ticket(gw, amount="99999.99"))
    assert fake.refused == []
    ((key, (fields, session)),) = fake.sessions.items()
    rows = await checkout_rows(gw)
    reference = rows[-1]["reference"]
    assert answer.status_code == 303 and answer.headers["location"] == session["url"]
    assert key == reference and rows[-1]["gateway_payment_id"] == session["id"]
    sent = dict(fields)
    assert sent["line_items[0][price_data][currency]"] == "cop"
    assert sent["line_items[0][price_data][unit_amount]"] == "9999999"
    assert sent["client_reference_id"] == sent["metadata[reference]"] == reference
    assert sent["success_url"] == f"http://127.0.0.1:8000/checkout/{reference}?session_id={{CHECKOUT_SESSION_ID}}"


# ------------------------------------------------------------------ refusals

async def test_a_forged_or_expired_ticket_is_refused_and_no_gateway_is_a_503_page(gw: Gateway) -> None:
    good = ticket(gw)
    no_gateway = await click(gw, good)
    assert no_gateway.status_code == 503
    assert (await gw.http.get(f"/checkout/{good}")).json()["code"] == "online_unavailable"
    assert "El pago en línea no está disponible" in no_gateway.text and 'href="/pay/link-A-1"' in no_gateway.text
    await configure(gw, "wompi-principal", WOMPI)
    body, signature = good.split(".")
    forged = ticket(gw, amount="1").split(".")[0] + "." + signature
    for token in (forged, f"{body}.{'A' * len(signature)}", ticket(gw, expires_at=NOW), "x.y"):
        refused = await click(gw, token)
        assert refused.status_code == 401, token
        assert "Este enlace de pago no es válido o ya venció" in refused.text
        assert_private(refused)
        as_api = await gw.http.get(f"/checkout/{token}")  # not a browser: problem details
        assert (as_api.status_code, as_api.json()["code"]) == (401, "invalid_ticket")
    assert await checkout_rows(gw) == []
    assert (await click(gw, "RC" + "A" * 20)).status_code == 404


# ------------------------------------------------------------------ the notification and the outcome

async def test_the_notification_of_a_checkout_applies_to_its_account_once_and_approves_it(gw: Gateway) -> None:
    hook = await configure(gw, "wompi-principal", WOMPI)
    await click(gw, ticket(gw, amount="30000", account="A-2"))
    (row,) = await checkout_rows(gw)
    reference = row["reference"]
    pending = await gw.http.get(f"/checkout/{reference}")
    assert "Pago pendiente" in pending.text and '<meta http-equiv="refresh"' in pending.text
    # A partial payment (20.000 of the 30.000 the checkout asked) counts: what was paid is applied.
    event = wompi_event({"id": "1234-1774969170-20001", "amount_in_cents": 2000000, "reference": reference,
                         "currency": "COP", "status": "APPROVED", "payment_method_type": "CARD"}, properties=SIGNED)
    answers = [await gw.http.post(hook, content=event) for _ in range(3)]
    assert [a.json()["status"] for a in answers] == ["applied", "duplicate", "duplicate"]
    assert await balance(gw, "A-2") == "80000.00" and await balance(gw, "A-1") == "100000.00"
    shown = await gw.http.get(f"/v1/clients/banco/checkouts/{reference}", headers=gw.as_operator())
    assert shown.status_code == 200
    assert {k: shown.json()[k] for k in ("status", "amount", "gateway", "method", "account_ref")} == \
        {"status": "approved", "amount": "30000.000", "gateway": "wompi", "method": "online", "account_ref": "A-2"}
    page = await gw.http.get(f"/checkout/{reference}")
    assert page.status_code == 200 and "Pago aprobado" in page.text and "$30.000,00" in page.text
    assert 'href="/pay/link-A-2"' in page.text and "refresh" not in page.text
    assert [e["status"] for e in await outboxed(gw, "payment.checkout_updated")] == ["created", "approved"]
    # ...and published on the payment topic by the relay, as outreach reads it.
    platform, prefix = gw.platform, gw.platform.settings.topic_prefix
    await platform.transport.start()
    try:
        topic = topic_name(prefix, "payment")
        await platform.transport.ensure_topics([topic])
        await relay_all(platform, "payments")
        subscriber = platform.transport.subscriber(f"{prefix}.checkout-reader", [topic])
        await subscriber.start()
        seen: list[dict[str, Any]] = []

        async def approved() -> bool:
            batch = await subscriber.fetch(max_records=100, timeout_s=0.5)
            seen.extend(m.envelope.payload for m in batch if m.envelope.type == "payment.checkout_updated")
            return any(e["reference"] == reference and e["status"] == "approved" for e in seen)

        await eventually(approved, timeout_s=30, message="payment.checkout_updated approved on the topic")
        await subscriber.stop()
    finally:
        await platform.transport.stop()
    other = await gw.http.get(f"/v1/clients/otro/checkouts/{reference}", headers=gw.as_operator())
    assert other.status_code == 404


async def test_a_declined_checkout_applies_nothing_and_says_so(gw: Gateway) -> None:
    hook = await configure(gw, "wompi-principal", WOMPI)
    await click(gw, ticket(gw))
    reference = (await checkout_rows(gw))[0]["reference"]
    event = wompi_event({"id": "1234-1774969170-20002", "amount_in_cents": 3000000, "reference": reference,
                         "currency": "COP", "status": "DECLINED", "payment_method_type": "CARD"}, properties=SIGNED)
    assert (await gw.http.post(hook, content=event)).json()["status"] == "declined"
    assert await balance(gw, "A-1") == "100000.00"
    page = await gw.http.get(f"/checkout/{reference}")
    assert "Pago rechazado" in page.text and "refresh" not in page.text
    shown = await gw.http.get(f"/v1/clients/banco/checkouts/{reference}", headers=gw.as_operator())
    assert shown.json()["status"] == "declined"
    assert [e["status"] for e in await outboxed(gw, "payment.checkout_updated")] == ["created", "declined"]


async def test_a_pending_notification_shows_pending_and_an_unknown_reference_is_not_found(gw: Gateway) -> None:
    hook = await configure(gw, "wompi-principal", WOMPI)
    await click(gw, ticket(gw))
    reference = (await checkout_rows(gw))[0]["reference"]
    event = wompi_event({"id": "1234-1774969170-20003", "amount_in_cents": 3000000, "reference": reference,
                         "currency": "COP", "status": "PENDING", "payment_method_type": "PSE"}, properties=SIGNED)
    assert (await gw.http.post(hook, content=event)).json()["status"] == "pending"
    shown = await gw.http.get(f"/v1/clients/banco/checkouts/{reference}", headers=gw.as_operator())
    assert shown.json()["status"] == "pending"
    page = await gw.http.get(f"/checkout/{reference}")
    assert "Pago pendiente" in page.text and 'content="10"' in page.text
    # What the gateway's return appends to the URL is the browser's word, never read: the page says what was notified.
    forged = await gw.http.get(f"/checkout/{reference}?id=1234-1&status=APPROVED&transactionState=4&env=prod")
    assert "Pago pendiente" in forged.text and "Pago aprobado" not in forged.text
    unknown = await gw.http.get("/checkout/RC" + "B" * 20)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")
    assert (await gw.http.get("/v1/clients/banco/checkouts/nada", headers=gw.as_operator())).status_code == 422


async def test_putting_a_gateway_account_publishes_the_ways_to_pay(gw: Gateway, fake: FakeCheckoutApis) -> None:
    await configure(gw, "stripe", STRIPE)
    await configure(gw, "stripe", {**STRIPE, "secret_key": fake.stripe_secret_key})
    published = await outboxed(gw, "payment.methods_available")
    assert [(e["online"], e["cash_networks"]) for e in published] == [(False, []), (True, [])]



async def test_a_checkout_never_paid_expires_after_its_time_and_a_late_approval_still_counts(gw: Gateway) -> None:
    hook = await configure(gw, "wompi-principal", WOMPI)
    await click(gw, ticket(gw))
    reference = (await checkout_rows(gw))[0]["reference"]
    db = gw.platform.db
    assert await expire_overdue(db, now=NOW + dt.timedelta(hours=1, minutes=59)) == 0  # its hour and the grace
    assert await expire_overdue(db, now=NOW + dt.timedelta(hours=2, seconds=1)) == 1
    assert await expire_overdue(db, now=NOW + dt.timedelta(hours=3)) == 0
    page = await gw.http.get(f"/checkout/{reference}")
    assert "Pago vencido" in page.text
    event = wompi_event({"id": "1234-1774969170-20004", "amount_in_cents": 3000000, "reference": reference,
                         "currency": "COP", "status": "APPROVED", "payment_method_type": "CARD"}, properties=SIGNED)
    assert (await gw.http.post(hook, content=event)).json()["status"] == "applied"
    assert await balance(gw, "A-1") == "70000.00"
    assert [e["status"] for e in await outboxed(gw, "payment.checkout_updated")] == ["created", "expired", "approved"]


async def test_a_hosted_checkout_the_gateway_holds_pending_is_left_to_the_gateway_not_expired(gw: Gateway) -> None:
    # The payer chose cash at Wompi's own checkout (a corresponsal's reference, payable for days): the sweep must not
    # tell the debtor it expired (they would start another and pay twice); Wompi's own word ends it.
    hook = await configure(gw, "wompi-principal", WOMPI)
    await click(gw, ticket(gw))
    reference = (await checkout_rows(gw))[0]["reference"]
    pending = wompi_event({"id": "1234-1774969170-20005", "amount_in_cents": 3000000, "reference": reference,
                           "currency": "COP", "status": "PENDING", "payment_method_type": "BANCOLOMBIA_COLLECT"},
                          properties=SIGNED)
    assert (await gw.http.post(hook, content=pending)).json()["status"] == "pending"
    assert await expire_overdue(gw.platform.db, now=NOW + dt.timedelta(days=3)) == 0
    page = await gw.http.get(f"/checkout/{reference}")
    assert "Pago pendiente" in page.text and "Pago vencido" not in page.text
    declined = wompi_event({"id": "1234-1774969170-20005", "amount_in_cents": 3000000, "reference": reference,
                            "currency": "COP", "status": "DECLINED", "payment_method_type": "BANCOLOMBIA_COLLECT"},
                           properties=SIGNED)
    assert (await gw.http.post(hook, content=declined)).status_code == 200
    assert "Pago rechazado" in (await gw.http.get(f"/checkout/{reference}")).text
    assert [e["status"] for e in await outboxed(gw, "payment.checkout_updated")] == ["created", "pending", "declined"]


async def test_stripe_and_payu_notifications_of_a_checkout_reference_move_it_and_pay_its_account(
        gw: Gateway, fake: FakeCheckoutApis) -> None:
    """Stripe's client_reference_id and PayU's reference_sale carry the checkout's reference: a delayed method
    pending then paid (Stripe), a declined attempt then an approved one (PayU); each applied to the checkout's
    account, once."""
    stripe_hook = await configure(gw, "stripe", {**STRIPE, "secret_key": fake.stripe_secret_key})
    await click(gw, ticket(gw, account="A-2"))
    stripe_ref = (await checkout_rows(gw))[0]["reference"]

    async def send(event_type: str, data: dict[str, Any], event_id: str) -> str:
        raw, headers = stripe_send_args(event_type, data, event_id=event_id)
        answer: str = (await gw.http.post(stripe_hook, content=raw, headers=headers)).json()["status"]
        return answer

    assert await send("checkout.session.completed", session("unpaid", stripe_ref), "evt_1") == "pending"
    assert (await gw.http.get(f"/checkout/{stripe_ref}")).text.count("Pago pendiente") == 1
    assert await send("checkout.session.async_payment_succeeded", session("paid", stripe_ref), "evt_2") == "applied"
    assert await send("checkout.session.async_payment_succeeded", session("paid", stripe_ref), "evt_3") == "duplicate"
    assert await balance(gw, "A-2") == "70000.00"
    payu_hook = await configure(gw, "payu", PAYU)
    async with gw.platform.db.transaction() as s:  # the PayU account is not the first checkout-capable one
        await s.execute(text("UPDATE payments.gateway_accounts SET created_at = created_at - interval '1 day' "
                             "WHERE name = 'payu'"))
    await click(gw, ticket(gw, account="A-2"))
    payu_ref = next(r["reference"] for r in await checkout_rows(gw) if r["gateway"] == "payu")
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    declined = await gw.http.post(payu_hook, content=payu_form(payu_ref, "6", transaction_id="t-1"), headers=form)
    approved = await gw.http.post(payu_hook, content=payu_form(payu_ref, "4", transaction_id="t-2"), headers=form)
    assert [declined.json()["status"], approved.json()["status"]] == ["declined", "applied"]
    assert await balance(gw, "A-2") == "40000.00" and await balance(gw, "A-1") == "100000.00"
    statuses = [(e["reference"], e["status"]) for e in await outboxed(gw, "payment.checkout_updated")]
    assert statuses == [(stripe_ref, "created"), (stripe_ref, "pending"), (stripe_ref, "approved"),
                        (payu_ref, "created"), (payu_ref, "declined"), (payu_ref, "approved")]


async def test_a_mercado_pago_payment_of_a_checkout_reference_pays_its_account(gw: Gateway,
                                                                               fake: FakeCheckoutApis) -> None:
    """The payment Mercado Pago's API answers for the notification carries the preference's external_reference."""
    account = {"kind": "mercadopago", "access_token": fake.mp_access_token, "webhook_secret": MP_SECRET,
               "api_base_url": fake.base_url}
    await configure(gw, "mp", account)
    await click(gw, ticket(gw, account="A-2", amount="45000"))
    reference = (await checkout_rows(gw))[0]["reference"]
    async with gateway_apis() as apis:  # the payments API the notification sends us to
        apis.access_token = fake.mp_access_token
        hook = await configure(gw, "mp", {**account, "api_base_url": apis.base_url})
        paid = mp_payment("4001", "approved", amount="45000", reference=reference)
        apis.mp_payments["4001"] = {k: str(v) if isinstance(v, Decimal) else v for k, v in paid.items()}
        answers = [(await mp_send(gw, hook, "4001")).json()["status"] for _ in range(2)]
    assert answers == ["applied", "duplicate"]
    assert await balance(gw, "A-2") == "55000.00"
    shown = await gw.http.get(f"/v1/clients/banco/checkouts/{reference}", headers=gw.as_operator())
    assert (shown.json()["status"], shown.json()["gateway"]) == ("approved", "mercadopago")
