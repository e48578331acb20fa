"""Local fakes of the three APIs that issue cash vouchers, for integration tests: Mercado Pago's POST /v1/payments,
PayU's Payments API (POST /payments-api/4.0/service.cgi, SUBMIT_TRANSACTION) and Stripe's POST /v1/payment_intents.
Each checks the request's documented form (headers, authentication, encoding, required fields, PayU's order
signature), records what it was asked, refuses what is not in that form (and notes it in `malformed`), and answers as
the gateway documents; `down` makes it answer 503, `decline` makes it refuse as the gateway does, `huge` makes it
answer more than any voucher's answer can be.

https://www.mercadopago.com.co/developers/es/reference/payments/_payments/post
https://developers.payulatam.com/latam/en/docs/integrations/api-integration/payments-api-colombia.html
https://docs.stripe.com/api/payment_intents/create, https://docs.stripe.com/payments/oxxo/accept-a-payment
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from recaudo_common.testing import serving_app

MP_DATE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d")
PAYU_DATE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?")
EXPIRES = 1765173599  # what every fake voucher says it expires at (2025-12-08T05:59:59Z)


@dataclass
class Asked:
    """One request as the fake received it."""

    gateway: str
    headers: dict[str, str]
    body: Any  # the parsed JSON, or the form's fields
    raw: bytes = b""


@dataclass
class FakeCashGateways:
    base_url: str = ""
    mp_access_token: str = "APP_USR-cash-token"
    payu_api_key: str = "4Vj8eK4rloUd272L48hsrarnUA"
    payu_api_login: str = "pRRXKOl8ikMmt9u"
    payu_merchant_id: str = "508029"
    stripe_secret_key: str = "sk_test_cash"
    asked: list[Asked] = field(default_factory=list)
    malformed: list[str] = field(default_factory=list)  # requests not in the documented form
    down: bool = False
    decline: bool = False
    huge: bool = False
    issued: dict[str, dict[str, Any]] = field(default_factory=dict)  # idempotency key -> the answer given
    keyed_bodies: dict[str, bytes] = field(default_factory=dict)  # idempotency key -> the request it was first for


def _refuse(fake: FakeCashGateways, why: str, answer: dict[str, Any], status: int = 400) -> JSONResponse:
    fake.malformed.append(why)
    return JSONResponse(answer, status)


def app_of(fake: FakeCashGateways) -> FastAPI:
    app = FastAPI()

    def outage() -> Response | None:
        if fake.down:
            return JSONResponse({"message": "unavailable"}, 503)
        if fake.huge:
            return Response(b'{"padding": "' + b"x" * (300 * 1024) + b'"}', 200, media_type="application/json")
        return None

    @app.post("/v1/payments")
    async def mp_payment(request: Request) -> Response:
        raw = await request.body()
        headers = dict(request.headers)
        body = json.loads(raw) if raw.startswith(b"{") else None
        fake.asked.append(Asked("mercadopago", headers, body, raw))
        if headers.get("authorization") != f"Bearer {fake.mp_access_token}":
            return _refuse(fake, "mp without the access token", {"message": "invalid_token", "status": 401}, 401)
        key = headers.get("x-idempotency-key", "")
        try:
            uuid.UUID(key)
        except ValueError:
            return _refuse(fake, "mp without an X-Idempotency-Key", {"message": "header X-Idempotency-Key "
                                                                                "is required", "status": 400})
        if not headers.get("content-type", "").startswith("application/json") or not isinstance(body, dict):
            return _refuse(fake, "mp body not JSON", {"message": "bad request", "status": 400})
        payer = body.get("payer") if isinstance(body.get("payer"), dict) else {}
        problems = [name for name, ok in [
            ("transaction_amount", isinstance(body.get("transaction_amount"), int | float)),
            ("description", isinstance(body.get("description"), str)),
            ("payment_method_id", body.get("payment_method_id") in ("efecty", "oxxo", "pagoefectivo_atm")),
            ("external_reference", isinstance(body.get("external_reference"), str)),
            ("notification_url", str(body.get("notification_url", "")).startswith("https://")),
            ("date_of_expiration", MP_DATE.fullmatch(str(body.get("date_of_expiration", ""))) is not None),
            ("payer.email", isinstance(payer.get("email"), str) and "@" in payer["email"])] if not ok]
        if problems:
            return _refuse(fake, f"mp fields {problems}", {"message": "Params Error", "error": "bad_request",
                                                          "status": 400, "cause": [{"code": 1}]})
        if failure := outage():
            return failure
        if fake.decline:
            return JSONResponse({"message": "Invalid users involved", "error": "bad_request", "status": 400,
                                 "cause": [{"code": 2034, "description": "Invalid users involved"}]}, 400)
        if key not in fake.issued:
            payment_id = 1_000_000_000 + len(fake.issued)
            fake.issued[key] = {
                "id": payment_id, "status": "pending", "status_detail": "pending_waiting_payment",
                "payment_method_id": body["payment_method_id"], "payment_type_id": "ticket",
                "currency_id": "COP", "transaction_amount": body["transaction_amount"],
                "external_reference": body["external_reference"], "date_of_expiration": body["date_of_expiration"],
                "transaction_details": {
                    "external_resource_url": f"https://www.mercadopago.com.co/payments/{payment_id}/ticket?caller_id=1",
                    "payment_method_reference_id": str(9_000_000 + len(fake.issued))},
                "payer": {"email": payer["email"]}}
        return JSONResponse(fake.issued[key], 201)

    @app.post("/payments-api/4.0/service.cgi")
    async def payu_submit(request: Request) -> Response:
        raw = await request.body()
        headers = dict(request.headers)
        # Numbers kept as their text: the signature is over TX_VALUE as sent.
        body = json.loads(raw, parse_int=str, parse_float=str) if raw.startswith(b"{") else None
        fake.asked.append(Asked("payu", headers, body, raw))
        if not headers.get("content-type", "").startswith("application/json") or not isinstance(body, dict):
            return _refuse(fake, "payu body not JSON", {"code": "ERROR", "error": "Invalid request"}, 200)
        merchant = body.get("merchant") or {}
        if merchant != {"apiKey": fake.payu_api_key, "apiLogin": fake.payu_api_login}:
            return _refuse(fake, "payu credentials", {"code": "ERROR", "error": "Invalid credentials"}, 200)
        tx = body.get("transaction") or {}
        order = tx.get("order") or {}
        value = ((order.get("additionalValues") or {}).get("TX_VALUE") or {})
        signed = hashlib.md5(  # noqa: S324 - PayU's documented order signature
            f"{fake.payu_api_key}~{fake.payu_merchant_id}~{order.get('referenceCode')}~{value.get('value')}~"
            f"{value.get('currency')}".encode()).hexdigest()
        problems = [name for name, ok in [
            ("command", body.get("command") == "SUBMIT_TRANSACTION"), ("language", body.get("language") == "es"),
            ("test", body.get("test") in ("true", "false") or isinstance(body.get("test"), bool)),
            ("accountId", bool(order.get("accountId"))), ("referenceCode", bool(order.get("referenceCode"))),
            ("description", bool(order.get("description"))), ("signature", order.get("signature") == signed),
            ("notifyUrl", str(order.get("notifyUrl", "")).startswith("https://")),
            ("buyer.fullName", bool((order.get("buyer") or {}).get("fullName"))),
            ("payer.emailAddress", bool((tx.get("payer") or {}).get("emailAddress"))),
            ("type", tx.get("type") == "AUTHORIZATION_AND_CAPTURE"),
            ("paymentMethod", tx.get("paymentMethod") in ("EFECTY", "BALOTO", "OTHERS_CASH", "OXXO",
                                                          "PAGOEFECTIVO")),
            ("paymentCountry", tx.get("paymentCountry") in ("CO", "MX", "PE")),
            ("expirationDate", PAYU_DATE.fullmatch(str(tx.get("expirationDate", ""))) is not None),
            ("ipAddress", bool(tx.get("ipAddress")))] if not ok]
        if problems:
            return _refuse(fake, f"payu fields {problems}", {"code": "ERROR", "error": f"Invalid {problems[0]}"},
                           200)
        if failure := outage():
            return failure
        if fake.decline:
            return JSONResponse({"code": "SUCCESS", "error": None, "transactionResponse": {
                "orderId": 1, "transactionId": str(uuid.uuid4()), "state": "DECLINED",
                "responseCode": "PAYMENT_NETWORK_REJECTED", "extraParameters": {}}})
        order_id = 1_400_449_740 + len(fake.asked)
        return JSONResponse({"code": "SUCCESS", "error": None, "transactionResponse": {
            "orderId": order_id, "transactionId": str(uuid.uuid4()), "state": "PENDING",
            "pendingReason": "AWAITING_NOTIFICATION", "responseCode": "PENDING_TRANSACTION_CONFIRMATION",
            "extraParameters": {
                "EXPIRATION_DATE": EXPIRES * 1000, "REFERENCE": order_id,
                "URL_PAYMENT_RECEIPT_HTML": f"https://sandbox.checkout.payulatam.com/ppp-web-gateway-payu/app/v2"
                                            f"?vid={order_id}Y1"}}})

    @app.post("/v1/payment_intents")
    async def stripe_intent(request: Request) -> Response:
        raw = await request.body()
        headers = dict(request.headers)
        form = dict(parse_qsl(raw.decode("ascii"), keep_blank_values=True))
        fake.asked.append(Asked("stripe", headers, form, raw))
        if headers.get("authorization") != f"Bearer {fake.stripe_secret_key}":
            return _refuse(fake, "stripe without the secret key", {"error": {
                "type": "invalid_request_error", "message": "Invalid API Key provided"}}, 401)
        if headers.get("content-type") != "application/x-www-form-urlencoded":
            return _refuse(fake, "stripe body not a form", {"error": {"type": "invalid_request_error"}})
        key = headers.get("idempotency-key", "")
        problems = [name for name, ok in [
            ("Idempotency-Key", bool(key)), ("amount", form.get("amount", "").isdigit()),
            ("currency", form.get("currency") == "mxn"), ("confirm", form.get("confirm") == "true"),
            ("payment_method_types[]", form.get("payment_method_types[]") == "oxxo"),
            ("payment_method_data[type]", form.get("payment_method_data[type]") == "oxxo"),
            ("billing_details[name]", bool(form.get("payment_method_data[billing_details][name]"))),
            ("billing_details[email]", "@" in form.get("payment_method_data[billing_details][email]", "")),
            ("expires_after_days", form.get("payment_method_options[oxxo][expires_after_days]", "")
             in [str(d) for d in range(1, 8)]),
            ("metadata[reference]", bool(form.get("metadata[reference]")))] if not ok]
        if problems:
            return _refuse(fake, f"stripe fields {problems}", {"error": {
                "type": "invalid_request_error", "code": "parameter_missing", "param": problems[0]}})
        if failure := outage():
            return failure
        if fake.decline:
            return JSONResponse({"error": {"type": "invalid_request_error", "code": "amount_too_large",
                                           "message": "Amount must be no more than $10,000.00 mxn"}}, 400)
        if fake.keyed_bodies.setdefault(key, raw) != raw:
            # https://docs.stripe.com/api/idempotent_requests: a key reused with other parameters is an error.
            return _refuse(fake, "stripe idempotency key reused", {"error": {
                "type": "idempotency_error", "message": "Keys for idempotent requests can only be used with the "
                                                        "same parameters they were first used with."}})
        if key not in fake.issued:
            number = f"{93_000_000_000 + len(fake.issued):032d}"
            fake.issued[key] = {
                "id": f"pi_fake{len(fake.issued)}", "object": "payment_intent", "amount": int(form["amount"]),
                "currency": "mxn", "status": "requires_action",
                "metadata": {"reference": form["metadata[reference]"]},
                "next_action": {"type": "oxxo_display_details", "oxxo_display_details": {
                    "expires_after": EXPIRES, "number": number,
                    "hosted_voucher_url": f"https://payments.stripe.com/oxxo/voucher/test_{number}"}}}
        return JSONResponse(fake.issued[key], 200)

    return app


@contextlib.asynccontextmanager
async def cash_gateway_apis() -> AsyncIterator[FakeCashGateways]:
    fake = FakeCashGateways()
    async with serving_app(app_of(fake)) as base_url:
        fake.base_url = base_url
        yield fake
