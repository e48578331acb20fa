"""Local fakes of the two gateway APIs payments asks about a notification, for integration tests: Mercado Pago's
`GET /v1/payments/{id}` (`Authorization: Bearer <access token>` required, as documented) and Wompi's public
`GET /v1/transactions/{id}` (no key). Each checks the request's exact form, records what it was asked, and answers
what the test put there; `down` makes it answer 503 as an outage would.

https://www.mercadopago.com.co/developers/es/reference/payments/_payments_id/get
https://docs.wompi.co/docs/colombia/seguimiento-de-transacciones/
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from recaudo_common.testing import serving_app


@dataclass
class FakeGatewayApis:
    base_url: str = ""
    access_token: str = "APP_USR-token"
    mp_payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    wompi_transactions: dict[str, dict[str, Any]] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # requests not in the documented form
    down: bool = False


def app_of(fake: FakeGatewayApis) -> FastAPI:
    app = FastAPI()

    @app.get("/v1/payments/{payment_id}")
    async def mp_payment(payment_id: str, request: Request) -> JSONResponse:
        fake.asked.append(f"mp {payment_id}")
        if request.headers.get("authorization") != f"Bearer {fake.access_token}":
            fake.refused.append("mp without the access token")
            return JSONResponse({"message": "invalid_token", "error": "unauthorized", "status": 401}, 401)
        if not re.fullmatch(r"[0-9]+", payment_id) or request.url.query:
            fake.refused.append(f"mp path {request.url.path}?{request.url.query}")
            return JSONResponse({"message": "bad request", "status": 400}, 400)
        if fake.down:
            return JSONResponse({"message": "unavailable"}, 503)
        found = fake.mp_payments.get(payment_id)
        if found is None:
            return JSONResponse({"message": "Payment not found", "error": "not_found", "status": 404}, 404)
        return JSONResponse(found)

    @app.get("/v1/transactions/{transaction_id}")
    async def wompi_transaction(transaction_id: str, request: Request) -> JSONResponse:
        fake.asked.append(f"wompi {transaction_id}")
        if "authorization" in request.headers:
            fake.refused.append("wompi: a public endpoint was sent a key")
        if fake.down:
            return JSONResponse({"error": {"type": "unavailable"}}, 503)
        found = fake.wompi_transactions.get(transaction_id)
        if found is None:
            return JSONResponse({"error": {"type": "NOT_FOUND_ERROR", "reason": "not found"}}, 404)
        return JSONResponse({"data": found, "meta": {}})

    return app


@contextlib.asynccontextmanager
async def gateway_apis() -> AsyncIterator[FakeGatewayApis]:
    fake = FakeGatewayApis()
    async with serving_app(app_of(fake)) as base_url:
        fake.base_url = base_url
        yield fake


def as_json(value: Any) -> bytes:
    return json.dumps(value).encode()
