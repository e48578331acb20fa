"""`recaudo serve` in production, as its own process: on development settings it refuses to start, exits
non-zero and names every offending variable; on good settings it starts, and the sandbox gateway it would have
trusted is refused."""

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from recaudo_common.local_ports import free_port
from recaudo_common.settings import DEV_SANDBOX_SECRET
from recaudo_common.testing import RunningProcess, wait_ready
from recaudo_common.webhook_signatures import sign

pytestmark = pytest.mark.e2e
OPERATOR_KEY = "rk_production_operator_key_" + "0" * 20
VAULT_MASTER_KEY = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="  # base64 of 32 bytes, not the default


def clean_env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECAUDO_")}
    return {**env, "RECAUDO_ENVIRONMENT": "production", **settings}


def test_production_on_defaults_refuses_to_start_and_names_each_setting() -> None:
    done = subprocess.run([sys.executable, "-m", "recaudo.cli", "serve", "all", "--port", "0"], env=clean_env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 78, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0].startswith("error: refusing to start in production")
    for expected in ("RECAUDO_LINK_SECRET: link secret is the development default",
                     "RECAUDO_SANDBOX_GATEWAY: sandbox gateway enabled",
                     "RECAUDO_SANDBOX_GATEWAY_SECRET: sandbox gateway secret is the development default",
                     "RECAUDO_PUBLIC_URL: public URL (payment links, callbacks) is not https",
                     "RECAUDO_DATABASE_URL: is the development default",
                     "RECAUDO_VAULT_MASTER_KEY: vault master key is the development default",
                     "RECAUDO_OUTREACH_PROVIDERS: sandbox provider for sms",
                     "RECAUDO_OUTREACH_PROVIDERS: sandbox provider for email"):
        assert any(line.strip().startswith(expected) for line in lines), (expected, done.stderr)
    assert "Traceback" not in done.stderr


def test_one_service_refuses_on_its_own_settings() -> None:
    good_but_payments = clean_env(
        RECAUDO_LINK_SECRET="l" * 40, RECAUDO_SANDBOX_GATEWAY="false", RECAUDO_PUBLIC_URL="https://recaudo.test",
        RECAUDO_VAULT_MASTER_KEY=VAULT_MASTER_KEY,
        RECAUDO_DATABASE_URL="postgresql+asyncpg://recaudo:pw@127.0.0.1:1/recaudo",
        RECAUDO_PAYMENTS_WEBHOOK_SECRETS=json.dumps({"wompi": "short", "sandbox": "s" * 40}))
    done = subprocess.run([sys.executable, "-m", "recaudo.cli", "serve", "payments", "--port", "0"],
                          env=good_but_payments, capture_output=True, text=True, timeout=120)
    assert done.returncode == 78, done.stderr
    assert [line.strip() for line in done.stderr.splitlines()[1:]] == [
        "RECAUDO_PAYMENTS_WEBHOOK_SECRETS: sandbox gateway enabled (a secret for gateway 'sandbox')",
        "RECAUDO_PAYMENTS_WEBHOOK_SECRETS: webhook secret of gateway 'wompi' is too short (5 bytes; at least 32)"]


async def test_production_on_good_settings_starts_and_refuses_the_sandbox_gateway(database_url: str,
                                                                                  tmp_path: Path) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = clean_env(
        RECAUDO_DATABASE_URL=database_url, RECAUDO_TRANSPORT="postgres", RECAUDO_LINK_SECRET="l" * 40,
        RECAUDO_SANDBOX_GATEWAY="false", RECAUDO_PUBLIC_URL="https://recaudo.test",
        RECAUDO_VAULT_MASTER_KEY=VAULT_MASTER_KEY, RECAUDO_BOOTSTRAP_OPERATOR_KEY=OPERATOR_KEY, RECAUDO_LOG_LEVEL="WARNING",
        RECAUDO_OUTREACH_PROVIDERS=json.dumps({"email": "smtp"}), RECAUDO_OUTREACH_SMTP_STARTTLS="true",
        RECAUDO_PAYMENTS_WEBHOOK_SECRETS=json.dumps({"wompi": "w" * 40}))
    process = RunningProcess(["serve", "all", "--port", str(port)], env, tmp_path / "platform.log")
    process.start()
    try:
        await wait_ready(base_url, process)
        body = json.dumps({"payment_id": "p-1", "client": "x", "account_ref": "A-1", "amount": "10.00",
                           "currency": "COP", "paid_at": "2026-03-04T10:00:00-05:00"}).encode()
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
            signed = sign(body, DEV_SANDBOX_SECRET, dt.datetime.now(dt.UTC))
            forged = await http.post("/v1/webhooks/payments/sandbox", content=body, headers={
                "Content-Type": "application/json", "Recaudo-Signature": signed})
            assert (forged.status_code, forged.json()["code"]) == (401, "unknown_gateway")
            keys = await http.get("/v1/keys", headers={"Authorization": f"Bearer {OPERATOR_KEY}"})
            assert keys.status_code == 200 and keys.json()["items"][0]["hint"] == OPERATOR_KEY[-4:]
    finally:
        process.stop()
