"""How a payment was made, said by whoever recorded it (an operator typing, a bank file, a gateway), is kept as
given in payments' own table only, where the person's access request finds it and their erasure reaches it;
payment.applied says the method in the platform's words, since the payment topic and its dead letters are kept
where no erasure reaches (real PostgreSQL, payments' real routes)."""

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from payments.erasure import store as erasure
from recaudo_common.events import AccountRecalled

from .conftest import NOW, Gateway, deliver, payment, placed

pytestmark = pytest.mark.integration

WORDS = "transferencia de Ana Gómez CC 1020304050"


async def applied_events(gateway: Gateway) -> list[dict[str, Any]]:
    async with gateway.platform.db.transaction() as s:
        rows = await s.execute(text("SELECT envelope FROM payments.outbox WHERE envelope->>'type' = 'payment.applied'"))
        return sorted((r[0] for r in rows), key=lambda e: Decimal(e["payload"]["amount"]))


async def pay(gateway: Gateway) -> None:
    """Ana's account, paid by hand twice (her operator's own words, then the console's word) and by a gateway."""
    await deliver(gateway.platform, await placed(gateway.platform, "A-1", "100000.00", "1020304050",
                                                 full_name="Ana Gómez"))
    for key, amount, method in (("manual-1", "1000.00", WORDS), ("manual-2", "2000.00", "Consignación Bancaria")):
        paid = await gateway.manual(key, {"account_ref": "A-1", "amount": amount, "paid_at": NOW.isoformat(),
                                          "method": method})
        assert paid.json()["status"] == "applied", paid.text
    by_gateway = await gateway.send(payment("gw-1", ref="A-1", amount="3000.00"))  # method "pse"
    assert by_gateway.json()["status"] == "applied", by_gateway.text


async def test_the_topic_says_the_method_and_payments_keeps_the_words(gateway: Gateway) -> None:
    await pay(gateway)
    events = await applied_events(gateway)
    assert [(e["version"], e["payload"]["method"]) for e in events] == [
        (2, "other"), (2, "bank_deposit"), (2, "bank_transfer")]
    assert not any(word in str(e) for e in events for word in ("Gómez", "1020304050", "transferencia"))
    # Payments' own answers still say what was given.
    listed = await gateway.http.get("/v1/clients/banco/accounts/A-1/payments", headers=gateway.as_operator())
    assert {i["amount"]: i["method"] for i in listed.json()["items"]} == {
        "1000.00": WORDS, "2000.00": "Consignación Bancaria", "3000.00": "pse"}


async def test_the_access_request_shows_the_words_and_the_erasure_reaches_them(gateway: Gateway) -> None:
    await pay(gateway)
    await deliver(gateway.platform, AccountRecalled(account_ref="A-1", recalled_at=NOW))
    async with gateway.platform.db.transaction() as s:
        ana = await s.scalar(text("SELECT debtor_ref FROM payments.accounts WHERE account_ref = 'A-1'"))
        held = await erasure.held(s, client="banco", debtor_ref=ana, account_refs=["A-1"], payer_ids=[])
    # The operator's words are the person's data; the console's and the gateway's words name no one.
    assert [(r.kind, r.account_ref, r.values) for r in held] == [("payment_method", "A-1", {"method": WORDS})]

    async with gateway.platform.db.transaction() as s:
        first = await erasure.erase(s, client="banco", debtor_ref=ana, account_refs=["A-1"], payer_ids=[])
    async with gateway.platform.db.transaction() as s:
        kept = {r.amount: r.method for r in await s.execute(text("SELECT amount::text, method FROM payments.payments"))}
        left = await erasure.held(s, client="banco", debtor_ref=ana, account_refs=["A-1"], payer_ids=[])
        again = await erasure.erase(s, client="banco", debtor_ref=ana, account_refs=["A-1"], payer_ids=[])
    # The words become the method they meant (`other`), the rest stays as it was.
    assert kept == {"1000.00": "other", "2000.00": "Consignación Bancaria", "3000.00": "pse"}
    assert first.payments >= 1 and left == [] and again.rows == 0
