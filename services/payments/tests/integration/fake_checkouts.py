"""Local fakes of the two gateway APIs a hosted checkout is opened at, for integration tests: Mercado Pago's
`POST /checkout/preferences` and Stripe's `POST /v1/checkout/sessions`. Each checks the request's documented form
(headers, encoding, required fields), records what it was sent, and answers as the gateway documents; `down` makes
it answer 503 as an outage would.

https://www.mercadopago.com.co/developers/es/reference/preferences/_checkout_preferences/post
https://docs.stripe.com/api/checkout/sessions/create, https://docs.stripe.com/api/idempotent_requests
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from recaudo_common.testing import serving_app

MP_DATE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{2}:\d{2}")


@dataclass
class FakeCheckoutApis:
    now: dt.datetime
    base_url: str = ""
    mp_access_token: str = "APP_USR-checkout-token"
    stripe_secret_key: str = "sk_test_checkout"
    preferences: list[dict[str, Any]] = field(default_factory=list)
    sessions: dict[str, tuple[list[tuple[str, str]], dict[str, Any]]] = field(default_factory=dict)  # by key
    refused: list[str] = field(default_factory=list)  # requests not in the documented form
    down: bool = False


def _mp_problems(request: Request, body: Any, fake: FakeCheckoutApis) -> list[str]:
    problems = []
    if request.headers.get("authorization") != f"Bearer {fake.mp_access_token}":
        problems.append("mp without the access token")
    if not request.headers.get("content-type", "").startswith("application/json"):
        problems.append("mp body not JSON")
    if not isinstance(body, dict):
        return [*problems, "mp body not an object"]
    items = body.get("items")
    if not (isinstance(items, list) and items and all(
            isinstance(i, dict) and isinstance(i.get("title"), str) and type(i.get("quantity")) is int
            and i["quantity"] >= 1 and type(i.get("unit_price")) in (int, float) and isinstance(i.get("currency_id"), str)
            for i in items)):
        problems.append("mp items without title, quantity, unit_price, currency_id")
    if body.get("auto_return") is not None and not (body.get("back_urls") or {}).get("success"):
        problems.append("mp auto_return without back_urls.success")
    if body.get("expires") is True and not all(MP_DATE.fullmatch(str(body.get(k, "")))
                                               for k in ("expiration_date_from", "expiration_date_to")):
        problems.append("mp expiration dates not in the documented form")
    return problems


def _stripe_problems(request: Request, fields: list[tuple[str, str]], fake: FakeCheckoutApis) -> list[str]:
    given, problems = dict(fields), []
    if request.headers.get("authorization") != f"Bearer {fake.stripe_secret_key}":
        problems.append("stripe without the secret key")
    if request.headers.get("content-type") != "application/x-www-form-urlencoded":
        problems.append("stripe body not form-encoded")
    if not request.headers.get("idempotency-key"):
        problems.append("stripe without an Idempotency-Key")
    if given.get("mode") != "payment":
        problems.append("stripe mode is not payment")
    currency = given.get("line_items[0][price_data][currency]", "")
    if not re.fullmatch(r"[a-z]{3}", currency):
        problems.append("stripe currency not a lower-case ISO code")
    if not re.fullmatch(r"[1-9][0-9]*", given.get("line_items[0][price_data][unit_amount]", "")):
        problems.append("stripe unit_amount not a positive integer of minor units")
    if not given.get("line_items[0][price_data][product_data][name]") or given.get("line_items[0][quantity]") != "1":
        problems.append("stripe line item without a product name or quantity")
    if "{CHECKOUT_SESSION_ID}" not in given.get("success_url", ""):
        problems.append("stripe success_url without {CHECKOUT_SESSION_ID}")
    expires = int(given.get("expires_at", "0"))
    if not 30 * 60 <= expires - int(fake.now.timestamp()) <= 24 * 3600:
        problems.append("stripe expires_at not 30 minutes to 24 hours ahead")
    return problems


def app_of(fake: FakeCheckoutApis) -> FastAPI:
    app = FastAPI()

    @app.post("/checkout/preferences")
    async def mp_preference(request: Request) -> JSONResponse:
        try:
            body = json.loads(await request.body())
        except ValueError:
            body = None
        if problems := _mp_problems(request, body, fake):
            fake.refused.extend(problems)
            return JSONResponse({"message": "; ".join(problems), "status": 400}, 400)
        if fake.down:
            return JSONResponse({"message": "unavailable"}, 503)
        fake.preferences.append(body)
        pref = f"202809963-{len(fake.preferences):08d}-920c-288b"
        return JSONResponse({"id": pref, "items": body["items"], "external_reference": body.get("external_reference"),
                             "init_point": f"https://www.mercadopago.com.co/checkout/v1/redirect?pref_id={pref}",
                             "sandbox_init_point": "https://sandbox.mercadopago.com.co/checkout/v1/redirect"
                                                   f"?pref_id={pref}"}, 201)

    @app.post("/v1/checkout/sessions")
    async def stripe_session(request: Request) -> JSONResponse:
        fields = parse_qsl((await request.body()).decode(), keep_blank_values=True, strict_parsing=True)
        if problems := _stripe_problems(request, fields, fake):
            fake.refused.extend(problems)
            return JSONResponse({"error": {"type": "invalid_request_error", "message": "; ".join(problems)}}, 400)
        if fake.down:
            return JSONResponse({"error": {"type": "api_error"}}, 503)
        key = request.headers["idempotency-key"]
        if key in fake.sessions:
            sent, answer = fake.sessions[key]
            if sent != fields:  # Stripe: a key reused with other parameters is an error
                return JSONResponse({"error": {"type": "idempotency_error"}}, 400)
            return JSONResponse(answer)
        session = f"cs_test_{len(fake.sessions) + 1:04d}"
        answer = {"id": session, "object": "checkout.session", "url": f"https://checkout.stripe.com/c/pay/{session}",
                  "client_reference_id": dict(fields)["client_reference_id"], "status": "open"}
        fake.sessions[key] = (fields, answer)
        return JSONResponse(answer)

    return app


@contextlib.asynccontextmanager
async def checkout_apis(now: dt.datetime) -> AsyncIterator[FakeCheckoutApis]:
    fake = FakeCheckoutApis(now=now)
    async with serving_app(app_of(fake)) as base_url:
        fake.base_url = base_url
        yield fake
