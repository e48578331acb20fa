"""Rate limits: a token bucket per API key and client company, and the 429 it answers."""

from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Request

from recaudo_common.auth import Principal
from recaudo_common.errors import install_problem_handlers
from recaudo_common.ratelimit import Rate, RateLimiter, rate_limited
from recaudo_common.testing_clock import HandClock

pytestmark = pytest.mark.unit


def test_a_burst_then_the_steady_rate() -> None:
    clock = HandClock(0.0)
    limiter = RateLimiter("reports", Rate(per_s=2, burst=5), clock=clock)
    assert [limiter.take("k", "banco") for _ in range(5)] == [0.0] * 5
    assert limiter.take("k", "banco") == pytest.approx(0.5)
    assert limiter.take("k", "telco") == 0.0  # another client company has its own bucket
    assert limiter.take("other-key", "banco") == 0.0  # and another key
    clock.now += 0.5
    assert limiter.take("k", "banco") == 0.0
    assert limiter.take("k", "banco") > 0


def test_the_defaults_never_stop_an_operator_polling_every_second() -> None:
    """A dashboard on a 1,000-account portfolio asks about six questions a second (totals, by bucket, by segment,
    by channel, roll rates, the stream's reconnect); an uploader sends back to back, each after the last answer."""
    clock = HandClock(0.0)
    reports = RateLimiter("reports", Rate(per_s=20.0, burst=60), clock=clock)
    uploads = RateLimiter("uploads", Rate(per_s=10.0, burst=100), clock=clock)
    for _ in range(3600):  # an hour of polling
        assert all(reports.take("operator", "banco") == 0 for _ in range(6))
        clock.now += 1.0
    for _ in range(1000):  # a thousand uploads back to back, each answered in 0.1 s (a 1,000-account file's takes longer)
        assert uploads.take("operator", "banco") == 0
        clock.now += 0.1


def test_a_zero_rate_is_no_limit() -> None:
    limiter = RateLimiter("uploads", Rate(per_s=0, burst=0), clock=HandClock(0.0))
    assert all(limiter.take("k", "c") == 0 for _ in range(10_000))


async def test_over_the_limit_the_answer_is_429_with_retry_after() -> None:
    principal = Principal(uuid.uuid4(), "operator")

    async def authenticate(_: Request) -> Principal:
        return principal

    limiter = RateLimiter("reports", Rate(per_s=0.1, burst=2), clock=HandClock(0.0))
    router = APIRouter(dependencies=[Depends(rate_limited(limiter, authenticate))])

    @router.get("/v1/clients/{slug}/reports/recovery")
    async def report(slug: str) -> dict[str, str]:
        return {"slug": slug}

    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(router)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        assert [(await http.get("/v1/clients/banco/reports/recovery")).status_code for _ in range(2)] == [200, 200]
        refused = await http.get("/v1/clients/banco/reports/recovery")
        assert refused.status_code == 429
        assert refused.json()["code"] == "rate_limited"
        assert refused.headers["retry-after"] == "10"
        assert (await http.get("/v1/clients/telco/reports/recovery")).status_code == 200


async def test_a_company_the_caller_may_not_see_takes_no_token_and_keeps_no_bucket() -> None:
    """A route's dependencies run before its own check of the company (which refuses it): a bucket per made-up slug
    would let any key fill the process's memory (2,000 slugs of 60 KB held 120 MB)."""
    callers = {"client": Principal(uuid.uuid4(), "client", client_slug="banco"),
               "scoped": Principal(uuid.uuid4(), "operator", client_scope=("banco",)),
               "operator": Principal(uuid.uuid4(), "operator")}
    limiter = RateLimiter("reports", Rate(per_s=1, burst=1), clock=HandClock(0.0))
    for _ in range(3):  # past the burst: a bucket would refuse the second
        for who, slug in (("client", "telco"), ("scoped", "telco"), ("operator", "x" * 60_000),
                          ("operator", "Banco_Andino")):
            request = Request({"type": "http", "path_params": {"slug": slug}})
            limiter.refuse_caller(callers[who], request)
    assert not limiter._buckets
    for who, slug in (("client", "banco"), ("operator", "telco")):
        limiter.refuse_caller(callers[who], Request({"type": "http", "path_params": {"slug": slug}}))
    assert sorted(client for _, client in limiter._buckets) == ["banco", "telco"]
