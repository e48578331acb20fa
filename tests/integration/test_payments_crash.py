"""SIGKILL the payments service while a gateway delivers and redelivers a stream of webhooks (90 payments under
`make test`, 240 under `make test-full`): after restart, every payment is applied exactly once, and reporting's
recovered total equals the ledger's payments."""

import asyncio
import datetime as dt
import json
import random
import uuid
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from recaudo_common.events import AccountPlaced, ClientRegistered
from recaudo_common.local_ports import free_port
from recaudo_common.outbox import Outbox
from recaudo_common.runtime import Platform
from recaudo_common.testing import RunningProcess, eventually, platform_env, relay_all, sized, wait_ready
from recaudo_common.webhook_signatures import sign

pytestmark = pytest.mark.integration
PAYMENTS, ACCOUNTS, SECRET = sized(90, 240), sized(20, 40), "crash-test-secret"


@pytest.fixture
def platform(platform_on_each_transport: Platform) -> Platform:
    return platform_on_each_transport


async def total(p: Platform, sql: str) -> Decimal:
    async with p.db.transaction() as s:
        return Decimal(await s.scalar(text(sql)) or 0)


async def test_payments_killed_mid_stream_apply_each_webhook_once(platform: Platform, tmp_path: Path) -> None:
    now = dt.datetime.now(dt.UTC)
    events = [ClientRegistered(slug="banco", name="Banco", country="CO", currency="COP", timezone="America/Bogota",
                               locale="es-CO", default_authorised_channels=["sms"]),
              *(AccountPlaced(account_ref=f"A-{i}", portfolio_id=uuid.uuid4(), debtor_ref=None, personal=None, has_phone=False, has_email=False,
                              balance=Decimal("10000000"), currency="COP", days_past_due=40, as_of=now.date(),
                              authorised_channels=["sms"]) for i in range(ACCOUNTS))]
    async with platform.db.transaction() as s:
        await Outbox("ingest").add(s, [e.envelope(client="banco", occurred_at=now) for e in events])
    await relay_all(platform, "ingest")
    port = free_port()
    env = platform_env(platform.settings, RECAUDO_PAYMENTS_WEBHOOK_SECRETS=json.dumps({"pasarela": SECRET}))
    payments = RunningProcess(["serve", "payments", "--port", str(port), "--no-migrate"], env, tmp_path / "p.log")
    reporting = RunningProcess(["serve", "reporting", "--role", "worker", "--no-migrate"], env, tmp_path / "r.log")
    base = f"http://127.0.0.1:{port}"
    rnd = random.Random(5)
    stream = [(f"pg-{i}", f"A-{rnd.randrange(ACCOUNTS)}", Decimal(rnd.randint(1, 900)) * 100) for i in range(PAYMENTS)]
    expected = sum((amount for _, _, amount in stream), Decimal(0))
    # One client for the gateway (its connections die with the service and a retry opens new ones): a client
    # per try cost the test more than the service's work.
    http = httpx.AsyncClient(timeout=10)
    payments.start()
    reporting.start()
    try:
        await wait_ready(base, payments)
        await eventually(lambda: _placed(platform), timeout_s=120, message="accounts placed in payments")

        async def deliver(pid: str, ref: str, amount: Decimal) -> str:
            """A gateway retries until it gets an answer: through the crash and the restart."""
            raw = json.dumps({"type": "payment", "payment_id": pid, "client": "banco", "account_ref": ref,
                              "amount": f"{amount:.2f}", "currency": "COP",
                              "paid_at": dt.datetime.now(dt.UTC).isoformat()}).encode()
            for _ in range(600):
                try:
                    response = await http.post(f"{base}/v1/webhooks/payments/pasarela", content=raw, headers={
                        "Recaudo-Signature": sign(raw, SECRET, dt.datetime.now(dt.UTC)),
                        "Content-Type": "application/json"})
                    if response.status_code == 200:
                        return str(response.json()["status"])
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
            raise AssertionError(f"{pid} never answered")

        gate = asyncio.Semaphore(8)
        answers: dict[str, list[str]] = {}

        async def deliver_twice(pid: str, ref: str, amount: Decimal) -> None:
            async with gate:  # delivered and redelivered at once, eight payments in flight
                answers[pid] = sorted(await asyncio.gather(deliver(pid, ref, amount), deliver(pid, ref, amount)))

        sender = asyncio.gather(*(deliver_twice(*item) for item in stream))
        await eventually(lambda: _applied_at_least(platform, PAYMENTS // 3), timeout_s=180, message="a third applied")
        payments.kill()  # requests in flight die with it; the gateway retries them
        assert await total(platform, "SELECT count(*) FROM payments.payments") < PAYMENTS, "killed after the stream"
        payments.start()
        await asyncio.wait_for(sender, 600)
        assert all(a in (["applied", "duplicate"], ["duplicate", "duplicate"]) for a in answers.values()), answers
        assert len(answers) == PAYMENTS
        assert payments.starts == 2
        ledger_sql = "SELECT coalesce(sum(amount), 0) FROM payments.payments WHERE status = 'applied'"
        assert await total(platform, ledger_sql) == expected
        assert await total(platform, "SELECT count(*) FROM payments.payments") == PAYMENTS
        assert await total(platform, "SELECT -sum(amount) FROM payments.ledger_entries WHERE kind = 'payment'") == expected

        async def reported() -> bool:
            return await total(platform, "SELECT coalesce(sum(amount), 0) FROM reporting.payments") == expected

        await eventually(reported, timeout_s=180, message=f"reporting equals the ledger\n{reporting.log_tail()}")
        assert await total(platform, "SELECT count(*) FROM reporting.payments") == PAYMENTS
    finally:
        payments.stop()
        reporting.stop()
        await http.aclose()


async def _placed(p: Platform) -> bool:
    return await total(p, "SELECT count(*) FROM payments.accounts") == ACCOUNTS


async def _applied_at_least(p: Platform, n: int) -> bool:
    return await total(p, "SELECT count(*) FROM payments.payments") >= n
