"""`recaudo reporting rebuild` after a run with payments, a reversal and a recall, on each transport: the topics
replayed from the beginning into fresh tables give every report figure the live tables give; and a live table
tampered with is caught."""

import asyncio
import datetime as dt
import subprocess
import sys
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from recaudo_common.testing import RunningPlatform, eventually, platform_env

pytestmark = pytest.mark.e2e
BANCO = {"slug": "banco-andino", "name": "Banco Andino S.A.", "country": "CO", "currency": "COP",
         "timezone": "America/Bogota", "locale": "es-CO"}
CSV = "Número Obligación;Cédula;Nombre Completo;Celular;Saldo Total;Días Mora;Producto\n" + "".join(
    f"R-{i:03d};5020304{i:03d};Cliente {i};300 555 {i:04d};{(i + 1) * 100000};{20 * i};"
    f"{'tarjeta' if i % 2 else 'libranza'}\n" for i in range(20))


async def rebuild(running_platform: RunningPlatform) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "recaudo.cli", "reporting", "rebuild"],
        env=platform_env(running_platform.settings), capture_output=True, text=True, timeout=300)


async def test_rebuilt_tables_equal_the_live_ones(running_platform: RunningPlatform) -> None:
    async with running_platform.client() as operator:
        assert (await operator.post("/v1/clients", json=BANCO)).status_code == 201
        upload = await operator.post("/v1/clients/banco-andino/portfolios",
                                     files={"file": ("cartera.csv", CSV.encode(), "text/csv")})
        assert upload.status_code == 202
        url = "/v1/clients/banco-andino/reports/recovery"

        async def segmented() -> bool:
            answer = await operator.get(url, params={"group_by": "bucket"})
            if answer.status_code != 200:  # the client's settings have not reached reporting yet
                return False
            body = answer.json()
            return body["totals"]["accounts_placed"] == 20 and all(g["key"] != "unassigned" for g in body["groups"])

        await eventually(segmented, timeout_s=120, message="placed and segmented")
        now = dt.datetime.now(dt.UTC).isoformat()
        ids = []
        for ref, amount in [("R-001", "200000"), ("R-002", "100000"), ("R-005", "250000"), ("R-007", "800000")]:
            paid = await operator.post("/v1/clients/banco-andino/payments", headers={"Idempotency-Key": str(uuid.uuid4())},
                                       json={"account_ref": ref, "amount": amount, "paid_at": now, "method": "cash"})
            assert paid.status_code in (200, 201), paid.text
            ids.append(paid.json()["id"])
        reversed_ = await operator.post(f"/v1/clients/banco-andino/payments/{ids[2]}/reversal",
                                        headers={"Idempotency-Key": str(uuid.uuid4())},
                                        json={"reason": "cheque devuelto"})
        assert reversed_.status_code in (200, 201), reversed_.text
        recalled = await operator.post("/v1/clients/banco-andino/recalls", json={"account_refs": ["R-010", "R-011"]})
        assert recalled.status_code == 200

        async def settled() -> bool:
            totals = (await operator.get(url)).json()["totals"]
            return Decimal(totals["recovered"]) == Decimal("1100000") and totals["accounts_recalled"] == 2

        await eventually(settled, timeout_s=90, message="payments, reversal and recalls in the live report")

    result = await rebuild(running_platform)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "every report figure of the rebuilt tables equals the live one" in result.stdout

    engine = create_async_engine(running_platform.settings.database_url)
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE reporting.payments SET amount = amount + 1 WHERE amount = 100000"))
    await engine.dispose()
    tampered = await rebuild(running_platform)
    assert tampered.returncode == 1
    assert "DIFFERS banco-andino group_by=None all recovered: live 1100001.00, rebuilt 1100000.00" in tampered.stdout
