"""The whole flow, thinly, through the public API on each transport: client -> upload -> accounts ->
segments -> outreach -> payment (exactly once) -> recovery report; and tenant isolation."""

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest

from recaudo_common.testing import RunningPlatform, eventually

pytestmark = pytest.mark.e2e

BANCO = {"slug": "banco-andino", "name": "Banco Andino S.A.", "country": "CO", "currency": "COP",
         "timezone": "America/Bogota", "locale": "es-CO"}
TELCO = {"slug": "telco-azteca", "name": "Telco Azteca", "country": "MX", "currency": "MXN",
         "timezone": "America/Mexico_City", "locale": "es-MX"}

CSV = "\n".join([
    "Número Obligación;Cédula;Nombre Completo;Celular;Saldo Total;Días Mora",
    "A-001;1020304050;Ana Gómez;300 123 4567;1.500.000;15",      # 1-30
    "A-002;1020304051;Luis Pérez;310 765 4321;2.500.000,50;45",  # 31-60
    "A-003;1020304052;María López;;800.000;0",                   # 0 (preventiva), no phone
    "A-004;1020304053;José Díaz;315 000 1111;1234567.89;20",     # invalid_balance in es-CO
    "A-001;1020304050;Ana Gómez;300 123 4567;9.999;15",          # duplicate_account_ref
    "",
    "A-005;1020304054;Sofía Ruiz;320 111 2222;3.000.000;400",    # 361+
]) + "\n"


async def poll_json(http: httpx.AsyncClient, url: str, check: Any, message: str) -> dict[str, Any]:
    async def fetch() -> dict[str, Any] | None:
        response = await http.get(url)
        body = response.json()
        return body if response.status_code == 200 and check(body) else None

    return await eventually(fetch, timeout_s=90, message=message)


async def test_the_whole_flow_once_through(running_platform: RunningPlatform) -> None:
    async with running_platform.client() as operator:
        assert (await operator.post("/v1/clients", json=BANCO)).status_code == 201
        assert (await operator.post("/v1/clients", json=TELCO)).status_code == 201
        assert (await operator.post("/v1/clients", json=BANCO)).json()["code"] == "client_exists"
        banco_key = (await operator.post("/v1/keys", json={"role": "client", "client": "banco-andino"})).json()["key"]
        telco_key = (await operator.post("/v1/keys", json={"role": "client", "client": "telco-azteca"})).json()["key"]
        sre_key = (await operator.post("/v1/keys", json={"role": "sre"})).json()["key"]

    async with running_platform.client(banco_key) as banco:
        upload = await banco.post("/v1/clients/banco-andino/portfolios",
                                  files={"file": ("cartera.csv", CSV.encode("utf-8"), "text/csv")})
        assert upload.status_code == 202, upload.text
        portfolio_id = upload.json()["id"]
        again = await banco.post("/v1/clients/banco-andino/portfolios",
                                 files={"file": ("cartera.csv", CSV.encode("utf-8"), "text/csv")})
        assert (again.status_code, again.json()["id"]) == (200, portfolio_id)  # same bytes: same upload

        done = await poll_json(banco, f"/v1/portfolios/{portfolio_id}", lambda b: b["status"] == "completed",
                               "upload completed")
        assert (done["rows_total"], done["rows_accepted"], done["rows_rejected"]) == (6, 4, 2)
        assert done["counts_by_code"] == {"invalid_balance": 1, "duplicate_account_ref": 1}
        rejections = (await banco.get(f"/v1/portfolios/{portfolio_id}/rejections")).json()["items"]
        assert [(r["row"], r["code"]) for r in rejections] == [(5, "invalid_balance"), (6, "duplicate_account_ref")]
        assert rejections[0]["raw"]["Saldo Total"] == "1234567.89"
        csv_export = await banco.get(f"/v1/portfolios/{portfolio_id}/rejections?format=csv")
        assert "invalid_balance" in csv_export.text

        report = await poll_json(
            banco, "/v1/clients/banco-andino/reports/recovery?group_by=bucket",
            lambda b: b["totals"]["accounts_placed"] == 4 and all(g["key"] != "unassigned" for g in b["groups"]),
            "accounts placed and segmented in the report")
        assert report["currency"] == "COP"
        assert Decimal(report["totals"]["placed_balance"]) == Decimal("7800000.50")
        assert [(g["key"], g["accounts_placed"]) for g in report["groups"]] == [
            ("0", 1), ("1-30", 1), ("31-60", 1), ("361+", 1)]

        # Outreach planned SMS for a contactable account and decided the first under Colombian contact law; the
        # account without a phone has nothing planned.
        # A decided attempt is briefly "sending" until the sandbox's receipt lands: wait for it to settle.
        history = await poll_json(banco, "/v1/clients/banco-andino/accounts/A-001/contacts",
                                  lambda b: b["items"] and b["items"][0]["decisions"]
                                  and b["items"][0]["status"] not in {"sending", "sent"},
                                  "an SMS attempt decided and settled")
        attempt = history["items"][0]
        decision = attempt["decisions"][0]
        assert attempt["channel"] == "sms"
        if decision["allowed"]:
            assert attempt["status"] in {"delivered", "failed"}  # the sandbox's simulated receipt
        else:
            assert attempt["status"] == "scheduled" and decision["next_allowed_at"]
            assert set(decision["reasons"]) <= {"outside_hours", "day_not_allowed", "holiday"}
        assert (await banco.get("/v1/clients/banco-andino/accounts/A-003/contacts")).json()["items"] == []

    async with running_platform.client() as operator:
        body = {"account_ref": "A-002", "amount": "500000.25", "paid_at": dt.datetime.now(dt.UTC).isoformat(),
                "method": "cash"}
        key = {"Idempotency-Key": f"caja-{uuid.uuid4()}"}
        first = await operator.post("/v1/clients/banco-andino/payments", json=body, headers=key)
        second = await operator.post("/v1/clients/banco-andino/payments", json=body, headers=key)
        assert first.status_code == second.status_code == 200, first.text
        assert first.json() == second.json()
        assert first.json()["status"] == "applied"
        assert Decimal(first.json()["new_balance"]) == Decimal("2000000.25")
        other = await operator.post("/v1/clients/banco-andino/payments", json={**body, "amount": "1.00"},
                                    headers=key)
        assert (other.status_code, other.json()["code"]) == (409, "idempotency_key_reused")
        stray = await operator.post("/v1/clients/banco-andino/payments",
                                    json={**body, "account_ref": "NO-EXISTE"},
                                    headers={"Idempotency-Key": "stray-0001"})
        assert stray.json()["status"] == "unmatched"
        unmatched = (await operator.get("/v1/clients/banco-andino/payments/unmatched")).json()["items"]
        assert [u["reason"] for u in unmatched] == ["unknown_account_ref"]

    async with running_platform.client(banco_key) as banco:
        report = await poll_json(banco, "/v1/clients/banco-andino/reports/recovery?group_by=bucket",
                                 lambda b: Decimal(b["totals"]["recovered"]) > 0, "recovered in the report")
        assert Decimal(report["totals"]["recovered"]) == Decimal("500000.25")  # applied once, not twice
        assert report["totals"]["payments"] == 1
        view = await poll_json(banco, "/v1/clients/banco-andino/accounts/A-002",
                               lambda b: Decimal(b["recovered"]) > 0 and b["why"], "the account view")
        assert (view["bucket"], view["bucket_at_placement"], view["status"]) == ("31-60", "31-60", "open")
        assert Decimal(view["balance"]) == Decimal("2000000.25") and Decimal(view["recovered"]) == Decimal("500000.25")
        assert view["treatment"] and view["strategy_arm"] == "champion" and Decimal(view["propensity"]) > 0
        assert view["why"].startswith("bucket 31-60; propensity") and "cost to collect" in view["why"]
        by_bucket = {g["key"]: g for g in report["groups"]}
        assert Decimal(by_bucket["31-60"]["recovered"]) == Decimal("500000.25")
        assert by_bucket["31-60"]["recovery_rate"] == pytest.approx(500000.25 / 2500000.50, abs=1e-6)

    # Tenant isolation: another client's key and the SRE key never see banco-andino's data.
    for key, status in ((telco_key, 404), (sre_key, 403)):
        async with running_platform.client(key) as outsider:
            for path in ("/v1/clients/banco-andino", "/v1/clients/banco-andino/reports/recovery",
                         f"/v1/portfolios/{portfolio_id}", f"/v1/portfolios/{portfolio_id}/rejections",
                         "/v1/clients/banco-andino/payments/unmatched",
                         "/v1/clients/banco-andino/accounts/A-001/contacts"):
                response = await outsider.get(path)
                assert response.status_code in (status, 404), (path, response.status_code)
                assert "Ana" not in response.text and "1020304050" not in response.text
    async with running_platform.client(telco_key) as telco:
        listed = (await telco.get("/v1/clients")).json()["items"]
        assert [c["slug"] for c in listed] == ["telco-azteca"]
    async with httpx.AsyncClient(base_url=running_platform.base_url) as anonymous:
        assert (await anonymous.get("/v1/clients")).status_code == 401
        assert (await anonymous.get("/v1/clients", headers={"Authorization": "Bearer nope"})).json()["code"] == \
            "invalid_api_key"
