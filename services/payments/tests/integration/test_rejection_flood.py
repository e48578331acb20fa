"""A flood of forged webhooks from many sources (500 under `make test`, 5,000 under `make test-full`) is still on
the record for operators, but as a bounded table: one row per (gateway, source address, reason) with a count, the
least recently seen folded into one row per reason past the cap, so the rows stay few and their counts add up to
every refusal."""

import asyncio
import json
import random
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import text

from payments.main import build
from payments.settings import PaymentsSettings
from recaudo_common.runtime import build_app
from recaudo_common.testing import sized
from recaudo_common.webhook_signatures import sign

from .conftest import NOW, Gateway, payment

pytestmark = pytest.mark.integration
CAP = 40
# Far past the cap either way: ~150 distinct (gateway, source, reason) keys bounded, ~1,500 full.
FORGED = sized(500, 5_000)


@pytest.fixture
def payments_settings() -> PaymentsSettings:
    return PaymentsSettings(webhook_secrets={"pasarela": ["new"]}, webhook_rejection_rows=CAP)


async def test_a_flood_of_forged_webhooks_leaves_a_bounded_table_whose_counts_add_up(
        gateway: Gateway, payments_settings: PaymentsSettings) -> None:
    app = build_app(gateway.platform, [build(gateway.platform, payments_settings)])
    sources = [httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(f"203.0.113.{i}", 4000)),
                                 base_url="http://test") for i in range(1, 9)]
    rnd = random.Random(17)
    limit = asyncio.Semaphore(16)
    sent: dict[str, int] = {}
    keys: set[tuple[str, str, str]] = set()  # (gateway, source, reason): one row each without the cap

    async def forge(i: int) -> None:
        raw = json.dumps(payment(f"forged-{i}", amount="999999.00")).encode()
        kind = rnd.choice(["bad", "missing", "stale", "unknown_gateway"])
        gateway_name = f"falsa-{rnd.randrange(200)}" if kind == "unknown_gateway" else "pasarela"
        signature = {"bad": sign(raw, "adivinada", NOW), "missing": "", "stale": sign(raw, "new", NOW.replace(
            year=2025)), "unknown_gateway": sign(raw, "x", NOW)}[kind]
        source = rnd.randrange(len(sources))
        async with limit:
            answer = await sources[source].post(f"/v1/webhooks/payments/{gateway_name}", content=raw,
                                                headers={"Recaudo-Signature": signature})
        assert answer.status_code == 401
        sent[answer.json()["code"]] = sent.get(answer.json()["code"], 0) + 1
        keys.add((gateway_name, str(source), answer.json()["code"]))

    await asyncio.gather(*(forge(i) for i in range(FORGED)))
    for client in sources:
        await client.aclose()

    async with gateway.platform.db.transaction() as s:
        rows = (await s.execute(text(
            "SELECT reason, count, gateway = '' AS folded FROM payments.webhook_rejections"))).all()
    by_reason: dict[str, int] = {}
    for reason, count, _ in rows:
        by_reason[reason] = by_reason.get(reason, 0) + count
    assert by_reason == sent and sum(sent.values()) == FORGED
    assert len(keys) > 3 * CAP  # the flood is far past the cap: without folding the table would hold every key
    assert len([r for r in rows if not r.folded]) <= CAP
    assert len([r for r in rows if r.folded]) <= len(sent)  # at most one folded row per reason
    listed = (await gateway.http.get("/v1/webhooks/payments/rejections?limit=1000",
                                     headers=gateway.as_operator())).json()["items"]
    assert sum(i["count"] for i in listed) == FORGED
    assert all(set(i["sample"]) == {"body_bytes", "body_sha256", "signature_header_chars"}
               for i in listed if not i["folded"])
    assert not any("forged-" in json.dumps(i) for i in listed)  # nothing of the bodies is kept
    folded = [i for i in listed if i["folded"]]
    assert folded and all(i["gateway"] is None and i["source_address"] is None for i in folded)
    assert await gateway.balance("A-1") == (Decimal("100000.00"), "open", Decimal("100000.00"))  # none applied
