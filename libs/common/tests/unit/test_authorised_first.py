"""A body that is not JSON is refused only after the route's dependencies let its caller by: another client
company's key is told 403 whatever it sends, and the right caller is told 422 json_invalid as before
(recaudo_common.routing)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Body, Depends, FastAPI, Header
from pydantic import BaseModel

from recaudo_common.errors import ProblemError
from recaudo_common.http import create_app
from recaudo_common.routing import AuthorisedFirstRoute

pytestmark = pytest.mark.unit

NOT_JSON = {
    "a syntax error": b'{"amount": ',
    "not UTF-8": b'{"amount": "\xff\xfe"}',
    "nested past the parser's depth": b"[" * 200_000,
}


class Payment(BaseModel):
    amount: Decimal


class OptionalVersion(BaseModel):
    version: int | None = None


async def banco_only(authorization: Annotated[str, Header()] = "") -> str:
    if authorization != "Bearer banco":
        raise ProblemError(403, "forbidden", "Forbidden", "this key does not act for banco-andino")
    return "banco-andino"


def payments_app() -> FastAPI:
    router = APIRouter(prefix="/v1/clients/banco-andino", route_class=AuthorisedFirstRoute)

    @router.post("/payments")
    async def pay(payment: Payment, client: Annotated[str, Depends(banco_only)]) -> dict[str, str]:
        return {"client": client, "amount": str(payment.amount)}

    @router.post("/promotions")  # a body whose every field has a default: FastAPI would make one of any object
    async def promote(client: Annotated[str, Depends(banco_only)],
                      body: OptionalVersion | None = None) -> dict[str, str]:
        return {"client": client, "version": str(body.version if body else None)}

    @router.post("/notes")  # two bodies: FastAPI embeds them under their names
    async def note(payment: Payment, text: Annotated[str, Body()],
                   client: Annotated[str, Depends(banco_only)]) -> dict[str, str]:
        return {"client": client, "text": text}

    return create_app(title="probe", service="probe", routers=[router])


async def post(app: FastAPI, path: str, body: bytes, key: str) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        return await http.post(path, content=body, headers={"Authorization": f"Bearer {key}",
                                                             "Content-Type": "application/json"})


@pytest.mark.parametrize("what", sorted(NOT_JSON))
@pytest.mark.parametrize("path", ["/v1/clients/banco-andino/payments", "/v1/clients/banco-andino/promotions",
                                  "/v1/clients/banco-andino/notes"])
async def test_another_companys_key_is_refused_whatever_it_sends(what: str, path: str) -> None:
    answer = await post(payments_app(), path, NOT_JSON[what], key="telco")
    assert answer.status_code == 403, answer.text
    assert answer.json()["code"] == "forbidden"


@pytest.mark.parametrize("what", sorted(NOT_JSON))
@pytest.mark.parametrize("path", ["/v1/clients/banco-andino/payments", "/v1/clients/banco-andino/promotions",
                                  "/v1/clients/banco-andino/notes"])
async def test_the_right_caller_is_told_its_body_is_not_json(what: str, path: str) -> None:
    answer = await post(payments_app(), path, NOT_JSON[what], key="banco")
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert problem["code"] == "validation_error"
    assert [e["type"] for e in problem["errors"]] == ["json_invalid"]
    if what == "a syntax error":  # where the parser stopped, as FastAPI says it
        assert problem["errors"][0]["loc"] == ["body", "11"] and problem["errors"][0]["msg"] == "JSON decode error"
    else:
        assert problem["errors"][0]["msg"] == "the body is not JSON (not UTF-8, or nested too deeply)"


async def test_json_bodies_and_schema_refusals_are_answered_as_before() -> None:
    app = payments_app()
    paid = await post(app, "/v1/clients/banco-andino/payments", b'{"amount": "12500.50"}', key="banco")
    assert paid.status_code == 200 and paid.json() == {"client": "banco-andino", "amount": "12500.50"}
    refused = await post(app, "/v1/clients/banco-andino/payments", b'{"amount": "doce"}', key="banco")
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"] == ["body", "amount"]
    assert (await post(app, "/v1/clients/banco-andino/payments", b'{"amount": "doce"}', key="telco")).status_code == 403


def test_an_application_refuses_a_router_that_would_judge_the_body_first() -> None:
    plain = APIRouter()

    @plain.post("/v1/anything")
    async def anything(payment: Payment) -> None:
        return None

    outer = APIRouter(prefix="/v1/clients", route_class=AuthorisedFirstRoute)
    outer.include_router(plain)  # found inside another router too
    for routers in ([plain], [outer]):
        with pytest.raises(TypeError, match="/v1/anything"):
            create_app(title="probe", service="probe", routers=routers)


@pytest.mark.parametrize("body", [Annotated[Any, Body()], Annotated[str, Body()], Annotated[bytes, Body()],
                                  Annotated[int, Body()], Annotated[dt.date, Body()], Annotated[uuid.UUID, Body()]])
def test_a_body_that_would_take_what_did_not_parse_cannot_be_declared(body: Any) -> None:
    router = APIRouter(route_class=AuthorisedFirstRoute)

    async def anything(payment: object) -> None:
        return None

    anything.__annotations__ = {"payment": body, "return": None}  # this module's annotations are strings
    with pytest.raises(TypeError, match="would take raw bytes"):
        router.post("/v1/anything")(anything)


def test_embedded_bodies_must_each_be_required() -> None:
    router = APIRouter(route_class=AuthorisedFirstRoute)

    async def note(payment: Payment, text: Annotated[str | None, Body()] = None) -> None:
        return None

    with pytest.raises(TypeError, match=r"optional parameters \['text'\]"):
        router.post("/v1/notes")(note)
