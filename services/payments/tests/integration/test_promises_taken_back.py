"""A promise to pay kept by a payment that is then taken back (an operator's reversal, a gateway's chargeback), on
payments' real API, consumer and PostgreSQL: it is what it would be without that payment, pending again while its
grace day has not passed (kept again by the next payment that reaches it, or broken by the evaluator), broken at
once after it (promise.broken, with what is still paid toward it)."""

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from payments.promises.handlers import evaluate_due_promises
from recaudo_common.events import PromiseMade

from .conftest import NOW, Clock, Gateway, deliver, payment
from .test_arrangements_taken_back import applied_id
from .test_instalment_plans import after_grace

pytestmark = pytest.mark.integration
DUE = dt.date(2026, 4, 10)


async def promise(gateway: Gateway, ref: str, amount: str, due: dt.date) -> uuid.UUID:
    made = PromiseMade(promise_id=uuid.uuid4(), account_ref=ref, amount=Decimal(amount), due_date=due,
                       source="agent", made_at=NOW)
    await deliver(gateway.platform, made)
    return made.promise_id


async def status_of(gateway: Gateway, promise_id: uuid.UUID) -> tuple[str, dt.datetime | None]:
    async with gateway.platform.db.transaction() as s:
        row = (await s.execute(text("SELECT status, decided_at FROM payments.promises WHERE promise_id = :p"),
                               {"p": promise_id})).one()
    return row[0], row[1]


async def promise_events(gateway: Gateway) -> list[tuple[str, dict[str, Any]]]:
    async with gateway.platform.db.transaction() as s:
        rows = (await s.execute(text(
            "SELECT envelope->>'type', envelope->'payload' FROM payments.outbox "
            "WHERE envelope->>'type' LIKE 'promise.%' ORDER BY id"))).all()
    return [(r[0], r[1]) for r in rows]


async def reverse(gateway: Gateway, external_id: str, amount: str, key: str) -> None:
    answer = await gateway.http.post(
        f"/v1/clients/banco/payments/{await applied_id(gateway, external_id)}/reversal",
        json={"reason": "cheque devuelto", "amount": amount}, headers={**gateway.as_operator(), "Idempotency-Key": key})
    assert answer.status_code == 200, answer.text


async def test_a_promise_whose_payment_is_reversed_before_its_date_is_pending_again(
        clocked: tuple[Gateway, Clock]) -> None:
    gateway, clock = clocked
    promised = await promise(gateway, "A-1", "50000.00", DUE)
    assert (await gateway.send(payment("p-1", amount="50000.00"))).json()["status"] == "applied"
    assert (await status_of(gateway, promised))[0] == "kept"
    await reverse(gateway, "p-1", "20000.00", "reverso-0001")
    # 30,000 of 50,000 paid, the date still ahead: pending, as if the payment had been of 30,000, and said so
    # (promise.reopened, so reporting and segmentation undo its promise.kept).
    assert await status_of(gateway, promised) == ("pending", None)
    events = await promise_events(gateway)
    assert [t for t, _ in events] == ["promise.kept", "promise.reopened"]
    reopened = events[-1][1]
    assert (reopened["promise_id"], reopened["account_ref"], reopened["paid_amount"], reopened["payment_id"],
            reopened["reason"]) == (str(promised), "A-1", "30000.00", str(await applied_id(gateway, "p-1")),
                                    "reversal")
    # The rest paid in time keeps it again; or, had nothing come, the evaluator breaks it after the grace day.
    assert (await gateway.send(payment("p-2", amount="20000.00"))).json()["status"] == "applied"
    assert (await status_of(gateway, promised))[0] == "kept"
    assert [t for t, _ in await promise_events(gateway)] == ["promise.kept", "promise.reopened", "promise.kept"]
    await reverse(gateway, "p-2", "20000.00", "reverso-0002")
    assert (await status_of(gateway, promised))[0] == "pending"
    assert [t for t, _ in await promise_events(gateway)][-1] == "promise.reopened"
    clock.now = after_grace(DUE)
    assert await evaluate_due_promises(gateway.platform.db, now=clock.now) == {"kept": 0, "broken": 1}
    kind, said = (await promise_events(gateway))[-1]
    assert (kind, said["promise_id"], said["paid_amount"]) == ("promise.broken", str(promised), "30000.00")


async def test_a_promise_whose_payment_is_charged_back_after_its_date_is_broken(
        clocked: tuple[Gateway, Clock]) -> None:
    gateway, clock = clocked
    promised = await promise(gateway, "A-2", "40000.00", NOW.date())
    other = await promise(gateway, "A-2", "5000.00", NOW.date())  # kept by money that stays
    assert (await gateway.send(payment("p-3", ref="A-2", amount="5000.00"))).json()["status"] == "applied"
    assert (await gateway.send(payment("p-4", ref="A-2", amount="40000.00"))).json()["status"] == "applied"
    assert [(await status_of(gateway, p))[0] for p in (promised, other)] == ["kept", "kept"]
    clock.now = after_grace(NOW.date()) + dt.timedelta(days=3)
    chargeback = {**payment("cb-4", ref="A-2", amount="40000.00", paid_at=clock.now.isoformat()),
                  "type": "chargeback", "refers_to": "p-4"}
    assert (await gateway.send(chargeback, at=clock.now)).json()["status"] == "reversed"
    # Past its grace day with 5,000 of 40,000 paid toward it: broken now, said so; the 5,000 one stays kept.
    assert await status_of(gateway, promised) == ("broken", clock.now)
    assert (await status_of(gateway, other))[0] == "kept"
    broken = [p for t, p in await promise_events(gateway) if t == "promise.broken"]
    assert [(b["promise_id"], b["paid_amount"]) for b in broken] == [(str(promised), "5000.00")]
