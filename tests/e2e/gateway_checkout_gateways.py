"""The gateways' side of the e2e checkout test (#21): one local server standing in for Wompi, Mercado Pago, PayU
and Stripe (their hosted checkouts and the APIs payments calls, each checking the request's documented form), and
each gateway as it documents itself: the account an operator configures, where the debtor's browser is sent (checked
field by field at the fake, signatures recomputed) and its notification of a payment, signed as the gateway signs
it."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import html
import importlib.util
import json
import re
import sys
import time
import uuid
import zoneinfo
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from payments.gateways.domain import mercadopago, payu, stripe, wompi
from recaudo_common.testing import RunningPlatform

PAYMENTS_TESTS = Path(__file__).resolve().parents[2] / "services/payments/tests/integration"
ACCOUNT = "G-001"
PAID = Decimal("150000")
OUTCOME_REFERENCE = re.compile(r"RC[A-Z2-7]{20}")
BOGOTA = zoneinfo.ZoneInfo("America/Bogota")


def _load(name: str) -> ModuleType:
    """payments' local fakes of the gateways' APIs, loaded from their files: the tests' directories are not packages
    under pytest's importlib mode, and one fake of each API is better than two."""
    spec = importlib.util.spec_from_file_location(f"recaudo_e2e_{name}", PAYMENTS_TESTS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while they are built
    spec.loader.exec_module(module)
    return module


fake_checkouts = _load("fake_checkouts")
fake_gateways = _load("fake_gateways")


# ------------------------------------------------------------------ the gateways' side

@dataclass
class Gateways:
    """What the gateways were sent: Mercado Pago's preferences and Stripe's sessions (`apis`), the payments and
    transactions payments asked about (`lookups`), and what the debtor's browser brought to Wompi's Web Checkout
    (a GET) and to PayU's WebCheckout (a form POST)."""

    apis: Any  # fake_checkouts.FakeCheckoutApis
    lookups: Any  # fake_gateways.FakeGatewayApis
    wompi_checkouts: list[list[tuple[str, str]]] = field(default_factory=list)
    payu_forms: list[list[tuple[str, str]]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    base_url: str = ""


def gateways_app(g: Gateways) -> FastAPI:
    app: FastAPI = fake_checkouts.app_of(g.apis)
    taken = {getattr(r, "path", None) for r in app.routes}
    app.router.routes.extend(r for r in fake_gateways.app_of(g.lookups).routes if getattr(r, "path", None) not in taken)

    @app.get("/p/")  # https://docs.wompi.co/docs/colombia/widget-checkout-web/: a GET form to checkout.wompi.co/p/
    async def wompi_web_checkout(request: Request) -> HTMLResponse:
        g.wompi_checkouts.append(list(request.query_params.multi_items()))
        return HTMLResponse("<h1>Wompi</h1>")

    @app.post("/ppp-web-gateway-payu/")  # PayU WebCheckout: the browser POSTs the signed form
    async def payu_web_checkout(request: Request) -> HTMLResponse:
        if request.headers.get("content-type") != "application/x-www-form-urlencoded":
            g.refused.append("payu form not form-encoded")
        g.payu_forms.append(parse_qsl((await request.body()).decode(), keep_blank_values=True, strict_parsing=True))
        return HTMLResponse("<h1>PayU</h1>")

    return app


@dataclass
class World:
    platform: RunningPlatform
    gateways: Gateways


# ------------------------------------------------------------------ each gateway, as it documents itself

@dataclass(frozen=True)
class Sent:
    """A notification as the gateway sends it: where, what, with which headers."""

    url: str
    body: bytes
    headers: dict[str, str]


class Gateway:
    """One gateway: the account an operator configures, what the browser is sent to (checked at the fake), and its
    notification of a payment of a reference, signed as the gateway signs it."""

    name: str
    ok: tuple[int, ...] = (200,)  # what the gateway takes as received

    def account(self, g: Gateways) -> dict[str, str]:
        raise NotImplementedError

    async def reach(self, w: World, browser: httpx.AsyncClient, answer: httpx.Response, hook: str) -> str:
        """Follows payments' answer to the gateway as the browser would; asserts what the gateway received; the
        platform's payment reference."""
        raise NotImplementedError

    def notification(self, w: World, hook: str, *, reference: str, paid: str, payment_id: str,
                     secret: str | None = None) -> Sent:
        """`paid`: approved, declined."""
        raise NotImplementedError

    def payment_id(self, n: int) -> str:
        raise NotImplementedError


def outcome_url(w: World, reference: str) -> str:
    return f"{w.platform.base_url}/checkout/{reference}"


class Wompi(Gateway):
    name = "wompi"
    events_secret = "test_events_e2e-s3cr3t"
    integrity_secret = "test_integrity_e2e-s3cr3t"

    def account(self, g: Gateways) -> dict[str, str]:
        return {"kind": "wompi", "events_secret": self.events_secret, "integrity_secret": self.integrity_secret,
                "public_key": "pub_test_E2eWompiPublicKey0123"}

    async def reach(self, w: World, browser: httpx.AsyncClient, answer: httpx.Response, hook: str) -> str:
        assert answer.status_code == 303, answer.text
        location = answer.headers["location"]
        assert location.startswith(f"{w.gateways.base_url}/p/?")
        assert (await browser.get(location)).status_code == 200
        fields = w.gateways.wompi_checkouts[-1]
        assert [k for k, _ in fields] == ["public-key", "currency", "amount-in-cents", "reference",
                                          "signature:integrity", "redirect-url", "expiration-time"]
        sent = dict(fields)
        reference = sent["reference"]
        assert OUTCOME_REFERENCE.fullmatch(reference)
        assert (sent["public-key"], sent["currency"], sent["amount-in-cents"]) == (
            "pub_test_E2eWompiPublicKey0123", "COP", str(int(PAID * 100)))
        assert sent["redirect-url"] == outcome_url(w, reference)
        expires = dt.datetime.fromisoformat(sent["expiration-time"].replace("Z", "+00:00"))
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", sent["expiration-time"])
        assert dt.timedelta(minutes=30) < expires - dt.datetime.now(dt.UTC) <= dt.timedelta(hours=1)
        # "<reference><amount in cents><currency><expiration time><integrity secret>", SHA-256 in hex.
        assert sent["signature:integrity"] == hashlib.sha256(
            f"{reference}{sent['amount-in-cents']}COP{sent['expiration-time']}{self.integrity_secret}".encode()
        ).hexdigest()
        return reference

    def payment_id(self, n: int) -> str:
        return f"1234-{int(time.time())}-{n:05d}"

    def notification(self, w: World, hook: str, *, reference: str, paid: str, payment_id: str,
                     secret: str | None = None) -> Sent:
        """transaction.updated as Wompi's documentation shows it: the checksum over id, status and amount only, so
        payments asks Wompi's API for the reference (the fake answers the same transaction)."""
        transaction = {"id": payment_id, "amount_in_cents": int(PAID * 100), "reference": reference,
                       "customer_email": "pagador@example.com", "currency": "COP", "payment_method_type": "NEQUI",
                       "redirect_url": outcome_url(w, reference), "status": paid.upper(),
                       "shipping_address": None, "payment_link_id": None, "payment_source_id": None}
        w.gateways.lookups.wompi_transactions[payment_id] = transaction
        properties = ["transaction.id", "transaction.status", "transaction.amount_in_cents"]
        timestamp = int(time.time())
        checksum = wompi.event_checksum([str(transaction[p.split(".")[1]]) for p in properties], timestamp,
                                        secret or self.events_secret)
        body = json.dumps({"event": "transaction.updated", "data": {"transaction": transaction},
                           "environment": "test", "signature": {"properties": properties, "checksum": checksum},
                           "timestamp": timestamp, "sent_at": dt.datetime.now(dt.UTC).isoformat()}).encode()
        return Sent(hook, body, {"Content-Type": "application/json", "X-Event-Checksum": checksum.upper()})


class MercadoPago(Gateway):
    name = "mercadopago"
    ok = (200, 201)
    webhook_secret = "mp-e2e-webhook-s3cr3t"

    def account(self, g: Gateways) -> dict[str, str]:
        return {"kind": "mercadopago", "access_token": g.apis.mp_access_token, "webhook_secret": self.webhook_secret,
                "api_base_url": g.base_url}

    async def reach(self, w: World, browser: httpx.AsyncClient, answer: httpx.Response, hook: str) -> str:
        assert answer.status_code == 303, answer.text
        assert w.gateways.apis.refused == []
        preference = w.gateways.apis.preferences[-1]
        reference = preference["external_reference"]
        assert OUTCOME_REFERENCE.fullmatch(reference)
        pref_id = answer.headers["location"].rpartition("pref_id=")[2]
        assert answer.headers["location"] == \
            f"https://www.mercadopago.com.co/checkout/v1/redirect?pref_id={pref_id}"  # init_point: not a TEST- token
        assert preference["items"] == [{"id": reference, "title": f"Pago de la obligación {ACCOUNT}", "quantity": 1,
                                        "currency_id": "COP", "unit_price": float(PAID)}]
        assert preference["back_urls"] == {k: outcome_url(w, reference) for k in ("success", "pending", "failure")}
        assert (preference["auto_return"], preference["notification_url"], preference["expires"]) == (
            "approved", hook, True)
        assert "payer" not in preference
        return reference

    def payment_id(self, n: int) -> str:
        return f"{int(time.time())}{n:04d}"

    def notification(self, w: World, hook: str, *, reference: str, paid: str, payment_id: str,
                     secret: str | None = None) -> Sent:
        """A Webhooks notification: `?data.id=…&type=payment` on the notification_url, x-signature over
        "id:…;request-id:…;ts:…;" (not the body, which carries neither amount nor status: payments fetches the
        payment, which the fake answers)."""
        now = dt.datetime.now(dt.UTC)
        w.gateways.lookups.mp_payments[payment_id] = {
            "id": int(payment_id), "status": {"approved": "approved", "declined": "rejected"}[paid],
            "status_detail": "accredited" if paid == "approved" else "cc_rejected_other_reason",
            "transaction_amount": float(PAID), "transaction_amount_refunded": 0, "currency_id": "COP",
            "external_reference": reference, "payment_type_id": "account_money",
            "date_created": now.isoformat(timespec="milliseconds"),
            "date_approved": now.isoformat(timespec="milliseconds") if paid == "approved" else None,
            "payer": {"email": "pagador@example.com", "identification": {"type": "CC", "number": "1020304050"}}}
        request_id, ts = str(uuid.uuid4()), str(int(now.timestamp() * 1000))
        v1 = hmac.new((secret or self.webhook_secret).encode(), mercadopago.manifest(
            data_id=payment_id, request_id=request_id, ts=ts).encode(), hashlib.sha256).hexdigest()
        body = json.dumps({"action": "payment.updated", "api_version": "v1", "data": {"id": payment_id},
                           "date_created": now.isoformat(), "id": int(payment_id) + 7, "live_mode": False,
                           "type": "payment", "user_id": "1234567"}).encode()
        return Sent(f"{hook}?{urlencode({'data.id': payment_id, 'type': 'payment'})}", body, {
            "Content-Type": "application/json", "x-signature": f"ts={ts},v1={v1}", "x-request-id": request_id})


class PayU(Gateway):
    name = "payu"
    api_key = "4Vj8eK4rloUd272L48hsrarnUA"
    merchant_id = "508029"

    def account(self, g: Gateways) -> dict[str, str]:
        return {"kind": "payu", "api_key": self.api_key, "merchant_id": self.merchant_id, "account_id": "512321"}

    async def reach(self, w: World, browser: httpx.AsyncClient, answer: httpx.Response, hook: str) -> str:
        assert answer.status_code == 200 and "Lo estamos llevando a PayU" in answer.text, answer.text
        action = re.search(r'<form[^>]* action="([^"]+)"', answer.text)
        assert action is not None and action.group(1) == f"{w.gateways.base_url}/ppp-web-gateway-payu/"
        form = [(html.unescape(k), html.unescape(v)) for k, v in
                re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', answer.text)]
        await browser.post(html.unescape(action.group(1)), data=dict(form))  # the page's script submits it
        assert w.gateways.refused == []
        received = w.gateways.payu_forms[-1]
        assert [k for k, _ in received] == ["merchantId", "accountId", "description", "referenceCode", "amount",
                                            "tax", "taxReturnBase", "currency", "signature", "test", "responseUrl",
                                            "confirmationUrl"]
        sent = dict(received)
        reference = sent["referenceCode"]
        assert OUTCOME_REFERENCE.fullmatch(reference)
        assert {k: sent[k] for k in ("merchantId", "accountId", "description", "amount", "tax", "taxReturnBase",
                                     "currency", "test", "responseUrl", "confirmationUrl")} == {
            "merchantId": self.merchant_id, "accountId": "512321", "description": f"Pago de la obligación {ACCOUNT}",
            "amount": str(int(PAID)), "tax": "0", "taxReturnBase": "0", "currency": "COP", "test": "0",
            "responseUrl": outcome_url(w, reference), "confirmationUrl": hook}
        # MD5 of "ApiKey~merchantId~referenceCode~amount~currency".
        assert sent["signature"] == hashlib.md5(
            f"{self.api_key}~{self.merchant_id}~{reference}~{sent['amount']}~COP".encode(),
            usedforsecurity=False).hexdigest()
        return reference

    def payment_id(self, n: int) -> str:
        return str(uuid.uuid4())

    def notification(self, w: World, hook: str, *, reference: str, paid: str, payment_id: str,
                     secret: str | None = None) -> Sent:
        """The confirmation PayU POSTs to confirmationUrl: form-encoded, `sign` an MD5 over
        "ApiKey~merchant_id~reference_sale~new_value~currency~state_pol" (4 approved, 6 declined)."""
        state, value = {"approved": "4", "declined": "6"}[paid], f"{PAID}.00"
        sign = payu.confirmation_signature(api_key=secret or self.api_key, merchant_id=self.merchant_id,
                                           reference_sale=reference, value=value, currency="COP", state_pol=state)
        body = urlencode({
            "merchant_id": self.merchant_id, "state_pol": state, "risk": "0.0",
            "response_code_pol": "1" if paid == "approved" else "5",
            "reference_sale": reference, "reference_pol": "7069375", "sign": sign, "extra1": "", "extra2": "",
            "payment_method": "25", "payment_method_type": "4", "installments_number": "1", "value": value,
            "tax": "0.00", "transaction_date": dt.datetime.now(BOGOTA).strftime("%Y-%m-%d %H:%M:%S"),
            "currency": "COP", "email_buyer": "pagador@example.com", "cus": "", "pse_bank": "",
            "test": "0", "description": f"Pago de la obligación {ACCOUNT}", "billing_address": "",
            "shipping_address": "", "phone": "", "office_phone": "", "account_number_ach": "", "account_type_ach": "",
            "administrative_fee": "0.00", "administrative_fee_base": "0.00", "administrative_fee_tax": "0.00",
            "airline_code": "", "attempts": "1", "authorization_code": "", "bank_id": "", "billing_city": "",
            "billing_country": "CO", "commision_pol": "0.00", "commision_pol_currency": "", "customer_number": "",
            "date": "", "error_code_bank": "", "error_message_bank": "", "exchange_rate": "1.00", "ip": "",
            "nickname_buyer": "", "nickname_seller": "", "payment_method_id": "2", "payment_request_state": "A",
            "pseReference1": "", "pseReference2": "", "pseReference3": "",
            "response_message_pol": "APPROVED" if paid == "approved" else "ENTITY_DECLINED",
            "shipping_city": "", "shipping_country": "", "transaction_bank_id": "", "transaction_id": payment_id,
            "payment_method_name": "PSE"}).encode()
        return Sent(hook, body, {"Content-Type": "application/x-www-form-urlencoded"})


class Stripe(Gateway):
    name = "stripe"
    ok = tuple(range(200, 300))
    webhook_secret = "whsec_e2e_s1gn1ng"

    def account(self, g: Gateways) -> dict[str, str]:
        return {"kind": "stripe", "webhook_secret": self.webhook_secret, "secret_key": g.apis.stripe_secret_key}

    async def reach(self, w: World, browser: httpx.AsyncClient, answer: httpx.Response, hook: str) -> str:
        assert answer.status_code == 303, answer.text
        assert w.gateways.apis.refused == []
        key, (fields, session) = list(w.gateways.apis.sessions.items())[-1]
        assert answer.headers["location"] == session["url"]
        sent = dict(fields)
        reference = sent["client_reference_id"]
        assert OUTCOME_REFERENCE.fullmatch(reference) and key == reference  # the Idempotency-Key
        assert [k for k, _ in fields] == [
            "mode", "line_items[0][price_data][currency]", "line_items[0][price_data][unit_amount]",
            "line_items[0][price_data][product_data][name]", "line_items[0][quantity]", "client_reference_id",
            "metadata[reference]", "success_url", "cancel_url", "expires_at"]
        assert {k: v for k, v in sent.items() if k != "expires_at"} == {
            "mode": "payment", "line_items[0][price_data][currency]": "cop",
            "line_items[0][price_data][unit_amount]": str(int(PAID * 100)),  # COP: two decimals at Stripe
            "line_items[0][price_data][product_data][name]": f"Pago de la obligación {ACCOUNT}",
            "line_items[0][quantity]": "1", "client_reference_id": reference, "metadata[reference]": reference,
            "success_url": f"{outcome_url(w, reference)}?session_id={{CHECKOUT_SESSION_ID}}",
            "cancel_url": outcome_url(w, reference)}
        return reference

    def payment_id(self, n: int) -> str:
        return f"pi_3E2e{uuid.uuid4().hex[:16]}"

    def notification(self, w: World, hook: str, *, reference: str, paid: str, payment_id: str,
                     secret: str | None = None) -> Sent:
        """An event as Stripe sends it: `Stripe-Signature: t=…,v1=…` (HMAC-SHA256 of "t.body") at the time it is
        sent; a paid session is checkout.session.completed, a delayed method that failed async_payment_failed."""
        sessions = w.gateways.apis.sessions
        session_id = sessions[reference][1]["id"] if reference in sessions else f"cs_test_{uuid.uuid4().hex[:12]}"
        event_type = "checkout.session.completed" if paid == "approved" else "checkout.session.async_payment_failed"
        now = int(time.time())
        raw = json.dumps({
            "id": f"evt_{uuid.uuid4().hex[:24]}", "object": "event", "api_version": "2024-06-20", "created": now,
            "livemode": False, "pending_webhooks": 1, "type": event_type, "data": {"object": {
                "id": session_id, "object": "checkout.session", "amount_total": int(PAID * 100), "currency": "cop",
                "client_reference_id": reference, "metadata": {"reference": reference}, "mode": "payment",
                "payment_intent": payment_id, "payment_status": "paid" if paid == "approved" else "unpaid",
                "status": "complete", "created": now - 60,
                "customer_details": {"email": "pagador@example.com", "name": "Ana Gómez"}}}}).encode()
        signature = stripe.sign(raw, secret or self.webhook_secret, now)
        return Sent(hook, raw, {"Content-Type": "application/json", "Stripe-Signature": f"t={now},v1={signature}"})


GATEWAYS = [Wompi(), MercadoPago(), PayU(), Stripe()]
