"""Fair to every tenant (#24): while one client company's large portfolio flows, another's small upload is placed,
segmented and in its report within seconds, not after the large one; on both transports. The large upload goes in
the bulk lane (its batches wait while a reader of the account topic is far behind), the small one never waits."""

import os
import time
from typing import Any

import httpx
import pytest

from recaudo_common.testing import RunningPlatform, eventually, platform_process, settings_for_test, sized

pytestmark = pytest.mark.e2e
OPERATOR_KEY = "rk_e2e_operator_key_0123456789"
LARGE = sized(6_000, 100_000)
BACKLOG = 300  # the bulk lane's bound here: the small upload waits behind about BACKLOG + 2 * BATCH events
BATCH = 250  # rows per batch (1,000 by default): the lane is looked at between batches, two in flight
CLIENT = {"country": "CO", "currency": "COP", "timezone": "America/Bogota", "locale": "es-CO"}


def portfolio(prefix: str, rows: int) -> bytes:
    lines = [f"{prefix}-{i};{10_000_000 + i};Deudor {i};300{1000000 + i};{100_000 + i};{30 + i % 200}"
             for i in range(rows)]
    return ("Cuenta;Cedula;Nombre;Celular;Saldo;Mora\n" + "\n".join(lines) + "\n").encode()


async def report(operator: httpx.AsyncClient, slug: str) -> dict[str, Any] | None:
    answer = await operator.get(f"/v1/clients/{slug}/reports/recovery", params={"group_by": "bucket"})
    return answer.json() if answer.status_code == 200 else None


def placed_and_segmented(body: dict[str, Any] | None, accounts: int) -> bool:
    return body is not None and body["totals"]["accounts_placed"] == accounts and \
        all(g["key"] != "unassigned" for g in body["groups"])


@pytest.fixture(params=["postgres", "kafka"])
async def platform(request: pytest.FixtureRequest, database_url: str, tmp_path: Any) -> Any:
    transport = request.param
    bootstrap = request.getfixturevalue("kafka_bootstrap") if transport == "kafka" else "unused:1"
    settings = settings_for_test(database_url, transport=transport, kafka_bootstrap=bootstrap)
    async with platform_process(settings, tmp_path, OPERATOR_KEY, RECAUDO_INGEST_BULK_BACKLOG=str(BACKLOG),
                                RECAUDO_INGEST_BULK_AFTER_ROWS="500", RECAUDO_INGEST_BATCH_ROWS=str(BATCH)) as running:
        yield running


async def test_a_small_upload_is_segmented_while_another_companys_large_one_flows(platform: RunningPlatform) -> None:
    async with platform.client() as operator:
        for slug in ("grande", "pequeno"):
            created = await operator.post("/v1/clients", json={"slug": slug, "name": slug.title(), **CLIENT})
            assert created.status_code == 201, created.text
        large = await operator.post("/v1/clients/grande/portfolios",
                                    files={"file": ("cartera.csv", portfolio("G", LARGE), "text/csv")})
        assert large.status_code == 202, large.text

        async def under_way() -> bool:  # the large one is in the bulk lane: past its first 500 rows
            body = await report(operator, "grande")
            return body is not None and body["totals"]["accounts_placed"] >= 1000

        await eventually(under_way, timeout_s=120, message="the large upload flowing")
        sent = time.monotonic()
        small = await operator.post("/v1/clients/pequeno/portfolios",
                                    files={"file": ("cartera.csv", portfolio("P", 20), "text/csv")})
        assert small.status_code == 202, small.text

        async def small_done() -> dict[str, Any] | None:
            body = await report(operator, "pequeno")
            return body if placed_and_segmented(body, 20) else None

        await eventually(small_done, timeout_s=120, message="the small upload placed and segmented")
        waited = time.monotonic() - sent
        large_then = await report(operator, "grande")
        assert large_then is not None
        # Done while the large one is still far from its end: it did not wait behind it.
        assert large_then["totals"]["accounts_placed"] < LARGE * 0.6, (waited, large_then["totals"])

        async def large_done() -> bool:  # and nothing of the large one is lost or held for good
            return placed_and_segmented(await report(operator, "grande"), LARGE)

        await eventually(large_done, timeout_s=600, message="the large upload placed and segmented")
    if os.environ.get("RECAUDO_TEST_SAY"):
        print(f"small upload segmented {waited:.1f} s after it was sent; large then at "
              f"{large_then['totals']['accounts_placed']} of {LARGE}")
