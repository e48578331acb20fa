"""Local fakes of the gateway APIs a day's reconciliation asks, for integration tests; each checks the request's
documented form exactly (credential, method, parameters, paging), records what it was asked and serves the pages
the test put there; `down` answers 503 as an outage would.

Mercado Pago: GET /v1/payments/search (https://www.mercadopago.com.co/developers/es/reference/payments/_payments_search/get)
Stripe: GET /v1/charges (https://docs.stripe.com/api/charges/list, https://docs.stripe.com/api/pagination)
PayU: POST /reports-api/4.0/service.cgi ORDER_DETAIL_BY_REFERENCE_CODE
      (https://developers.payulatam.com/latam/es/docs/integrations/api-integration/queries-api.html), also what a
      refund confirmation is checked against (`payu_order` builds an order with its charge and refunds)
Wompi: GET /v1/transactions/{id} (https://docs.wompi.co/docs/colombia/seguimiento-de-transacciones/)
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from recaudo_common.testing import serving_app

MP_KEYS = {"sort", "criteria", "range", "begin_date", "end_date", "offset", "limit"}


@dataclass
class FakeReconciliationApis:
    base_url: str = ""
    window: tuple[dt.datetime, dt.datetime] | None = None  # the day asked about, as the test expects it
    mp_token: str = "APP_USR-token"
    mp_results: list[dict[str, Any]] = field(default_factory=list)
    mp_payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    stripe_key: str = "sk_test_recon"
    stripe_charges: list[dict[str, Any]] = field(default_factory=list)
    stripe_page: int = 100  # Stripe answers at most `limit`; a test serves smaller pages to cross several
    payu_login, payu_key = "pRRXKOl8ikMmt9u", "4Vj8eK4rloUd272L48hsrarnUA"
    payu_orders: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    wompi_transactions: dict[str, dict[str, Any]] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # requests not in the documented form
    down: bool = False

    def refuse(self, why: str) -> JSONResponse:
        self.refused.append(why)
        return JSONResponse({"message": why}, 400)


def _ms(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def app_of(fake: FakeReconciliationApis) -> FastAPI:
    app = FastAPI()

    @app.get("/v1/payments/search")
    async def mp_search(request: Request) -> JSONResponse:
        q = request.query_params
        fake.asked.append(f"mp search offset={q.get('offset')}")
        if request.headers.get("authorization") != f"Bearer {fake.mp_token}":
            return JSONResponse({"message": "invalid_token", "status": 401}, 401)
        if set(q.keys()) != MP_KEYS or len(q.multi_items()) != len(MP_KEYS):
            return fake.refuse(f"mp params {sorted(q.keys())}")
        if (q["sort"], q["criteria"], q["range"], q["limit"]) != ("date_approved", "asc", "date_approved", "50"):
            return fake.refuse(f"mp search {request.url.query}")
        assert fake.window is not None
        start, end = fake.window
        if (q["begin_date"], q["end_date"]) != (_ms(start), _ms(end - dt.timedelta(milliseconds=1))):
            return fake.refuse(f"mp window {q['begin_date']}..{q['end_date']}")
        offset = int(q["offset"])
        if offset % 50:
            return fake.refuse(f"mp offset {offset}")
        if fake.down:
            return JSONResponse({"message": "unavailable"}, 503)
        page = fake.mp_results[offset:offset + 50]
        return JSONResponse({"paging": {"total": len(fake.mp_results), "limit": 50, "offset": offset},
                             "results": page})

    @app.get("/v1/payments/{payment_id}")
    async def mp_payment(payment_id: str, request: Request) -> JSONResponse:
        """The payment a notification names (what booking asks before the day is reconciled)."""
        if request.headers.get("authorization") != f"Bearer {fake.mp_token}":
            return JSONResponse({"message": "invalid_token", "status": 401}, 401)
        found = fake.mp_payments.get(payment_id)
        return JSONResponse(found) if found is not None else JSONResponse({"message": "not found"}, 404)

    @app.get("/v1/charges")
    async def stripe_charges(request: Request) -> JSONResponse:
        q = request.query_params
        fake.asked.append(f"stripe charges after={q.get('starting_after')}")
        if request.headers.get("authorization") != f"Bearer {fake.stripe_key}":
            return JSONResponse({"error": {"type": "invalid_request_error"}}, 401)
        assert fake.window is not None
        start, end = fake.window
        expected = {"created[gte]": str(int(start.timestamp())), "created[lt]": str(int(end.timestamp())),
                    "limit": "100"}
        given = dict(q)
        after = given.pop("starting_after", None)
        if given != expected or len(q.multi_items()) != len(given) + (after is not None):
            return fake.refuse(f"stripe params {request.url.query}")
        if fake.down:
            return JSONResponse({"error": {"type": "api_error"}}, 503)
        ids = [c["id"] for c in fake.stripe_charges]
        if after is not None and after not in ids:
            return fake.refuse(f"stripe starting_after {after}")
        first = 0 if after is None else ids.index(after) + 1
        page = fake.stripe_charges[first:first + fake.stripe_page]
        return JSONResponse({"object": "list", "url": "/v1/charges", "data": page,
                             "has_more": first + len(page) < len(ids)})

    @app.post("/reports-api/4.0/service.cgi")
    async def payu_reports(request: Request) -> JSONResponse:
        if not request.headers.get("content-type", "").startswith("application/json"):
            return fake.refuse("payu content type")
        body = json.loads(await request.body())
        reference = body.get("details", {}).get("referenceCode")
        fake.asked.append(f"payu {reference}")
        if set(body) != {"test", "language", "command", "merchant", "details"} \
                or body["command"] != "ORDER_DETAIL_BY_REFERENCE_CODE" or set(body["details"]) != {"referenceCode"}:
            return fake.refuse(f"payu body {sorted(body)}")
        if body["merchant"] != {"apiLogin": fake.payu_login, "apiKey": fake.payu_key}:
            return JSONResponse({"code": "ERROR", "error": "Invalid credentials", "result": None})
        if fake.down:
            return JSONResponse({"code": "ERROR", "error": "unavailable"}, 503)
        orders = fake.payu_orders.get(reference)
        return JSONResponse({"code": "SUCCESS", "error": None, "result": {"payload": orders}})

    @app.get("/v1/transactions/{transaction_id}")
    async def wompi_transaction(transaction_id: str, request: Request) -> JSONResponse:
        fake.asked.append(f"wompi {transaction_id}")
        if "authorization" in request.headers or request.url.query:
            return fake.refuse("wompi: a public endpoint was sent a key or a query")
        if fake.down:
            return JSONResponse({"error": {"type": "unavailable"}}, 503)
        found = fake.wompi_transactions.get(transaction_id)
        if found is None:
            return JSONResponse({"error": {"type": "NOT_FOUND_ERROR"}}, 404)
        return JSONResponse({"data": found, "meta": {}})

    return app


def payu_order(reference: str, status: str, *transactions: tuple[str, str, str | None],
               value: str = "30000.00") -> dict[str, Any]:
    """An order as the Reports API answers it: (type, state, TX_VALUE or None) per transaction, amounts as JSON
    numbers the way PayU writes them; a REFUND without a value is a whole refund."""
    def values(amount: str | None) -> dict[str, Any]:
        return {} if amount is None else {"TX_VALUE": {"value": float(amount), "currency": "COP"}}

    return {"id": 844182597, "accountId": 512321, "status": status, "referenceCode": reference,
            "additionalValues": values(value),
            "buyer": {"emailAddress": "pagador@example.com", "fullName": "Pagador"},
            "transactions": [{"id": f"tx-{i}", "type": kind, "transactionResponse": {"state": state},
                              "additionalValues": values(amount)}
                             for i, (kind, state, amount) in enumerate(transactions)]}


@contextlib.asynccontextmanager
async def reconciliation_apis() -> AsyncIterator[FakeReconciliationApis]:
    fake = FakeReconciliationApis()
    async with serving_app(app_of(fake)) as base_url:
        fake.base_url = base_url
        yield fake
