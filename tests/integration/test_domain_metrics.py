"""The domain metrics on /metrics after a demo-like run (an upload, a payment, the sends it plans): portfolio rows by
outcome, payments applied and the amount recovered by client company, messages by channel and outcome (or the
contact law's refusals, out of its hours), how late messages went out; counted once, never with an account or a
person in a label."""

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from recaudo_common.testing import RunningPlatform, eventually, platform_process, settings_for_test

pytestmark = pytest.mark.integration

BANCO = {"slug": "banco", "name": "Banco", "country": "CO", "currency": "COP", "timezone": "America/Bogota",
         "locale": "es-CO"}
CSV = "\n".join([
    "Número Obligación;Cédula;Nombre Completo;Celular;Saldo Total;Días Mora",
    "A-001;1020304050;Ana Gómez;300 123 4567;1.500.000;15",
    "A-002;1020304051;Luis Pérez;310 765 4321;2.500.000,50;45",
    "A-003;1020304052;María López;;800.000;0",
    "A-004;1020304053;José Díaz;315 000 1111;1234567.89;20",  # invalid_balance in es-CO
    "A-001;1020304050;Ana Gómez;300 123 4567;9.999;15",       # duplicate_account_ref
]) + "\n"
PERSONAL = ("A-00", "Gómez", "1020304050", "3001234567", "300 123 4567")


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(metrics: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    """The sum of `name`'s samples whose labels include `labels`."""
    return sum(v for (n, ls), v in metrics.items() if n == name and set(labels.items()) <= ls)


@pytest.fixture
async def platform(database_url: str, tmp_path: Path) -> Any:
    async with platform_process(settings_for_test(database_url), tmp_path, "rk_metrics_operator_key_0001") as running:
        yield running


async def scrape(platform: RunningPlatform) -> tuple[str, dict[tuple[str, frozenset[tuple[str, str]]], float]]:
    async with httpx.AsyncClient(base_url=platform.base_url, timeout=30) as http:
        text = (await http.get("/metrics")).text
    return text, samples(text)


async def test_the_domain_metrics_count_what_a_demo_run_did(platform: RunningPlatform) -> None:
    async with platform.client() as operator:
        assert (await operator.post("/v1/clients", json=BANCO)).status_code == 201
        upload = await operator.post("/v1/clients/banco/portfolios",
                                     files={"file": ("cartera.csv", CSV.encode(), "text/csv")})
        assert upload.status_code == 202, upload.text

        async def completed() -> bool:
            return (await operator.get(f"/v1/portfolios/{upload.json()['id']}")).json()["status"] == "completed"

        await eventually(completed, timeout_s=90, message="the upload completed")
        body = {"account_ref": "A-002", "amount": "500000.25", "paid_at": dt.datetime.now(dt.UTC).isoformat(),
                "method": "cash"}
        key = {"Idempotency-Key": f"caja-{uuid.uuid4()}"}

        async def applied() -> bool:  # the placement reaches payments first
            answer = await operator.post("/v1/clients/banco/payments", json=body, headers=key)
            return answer.status_code == 200 and answer.json()["status"] == "applied"

        await eventually(applied, timeout_s=60, message="the payment applied")
        # The same payment again (its key's stored answer): applied once, counted once.
        assert (await operator.post("/v1/clients/banco/payments", json=body, headers=key)).json()["status"] == \
            "applied"

        async def decided() -> dict[str, Any] | None:
            items = (await operator.get("/v1/clients/banco/accounts/A-001/contacts")).json()["items"]
            settled = items and items[0]["decisions"] and items[0]["status"] not in {"sending"}
            return items[0] if settled else None

        attempt = await eventually(decided, timeout_s=90, message="A-001's first SMS decided")

    async def counted() -> bool:
        _, metrics = await scrape(platform)
        return value(metrics, "recaudo_messages_sent_total") + value(metrics, "recaudo_contact_refusals_total") > 0

    await eventually(counted, timeout_s=30, message="the send or its refusal counted")
    text, metrics = await scrape(platform)
    assert value(metrics, "recaudo_portfolio_rows_total", outcome="accepted") == 3
    assert value(metrics, "recaudo_portfolio_rows_total", outcome="rejected") == 2
    assert value(metrics, "recaudo_payments_applied_total", client="banco") == 1
    assert value(metrics, "recaudo_recovered_amount_total", client="banco", currency="COP") == 500000.25
    if attempt["decisions"][0]["allowed"]:  # in Colombia's contact hours: the sandbox took it
        assert value(metrics, "recaudo_messages_sent_total", channel="sms", outcome="simulated") >= 1
        assert value(metrics, "recaudo_outreach_lateness_seconds_count") >= 1
    else:  # out of them: the law refused it now, and said why
        reasons = attempt["decisions"][0]["reasons"]
        assert value(metrics, "recaudo_contact_refusals_total", reason=reasons[0]) >= 1
    for personal in PERSONAL:  # labels carry client companies, channels, outcomes and reasons: no one
        assert personal not in text, personal
