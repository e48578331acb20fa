"""Payments' events say what caused them: each carries the correlation id of the request or event its chain
started from and names the request or event that caused it (real PostgreSQL, payments' real API and consumer)."""

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from payments.promises.handlers import evaluate_due_promises
from recaudo_common.bus.base import Message
from recaudo_common.bus.consumer import ConsumerRuntime
from recaudo_common.events import ArrangementRequested, Envelope, Event, Instalment, PromiseMade

from .conftest import NOW, Gateway, consumer, payment, placed

pytestmark = pytest.mark.integration


async def events(gateway: Gateway, key: str | None = None) -> list[Envelope]:
    """payments.outbox in order, as the relay will publish it (optionally one key's), but the client.ready of the
    client company's registration (it belongs to no payment)."""
    async with gateway.platform.db.transaction() as s:
        rows = await s.execute(text("SELECT envelope FROM payments.outbox WHERE (CAST(:k AS text) IS NULL OR key = :k)"
                                    " AND envelope->>'type' <> 'client.ready' ORDER BY id"), {"k": key})
        return [Envelope.model_validate(r[0]) for r in rows]


async def deliver(gateway: Gateway, *events: Event) -> list[Envelope]:
    """Events through payments' real consumer runtime, in one batch; returns their envelopes."""
    runtime = ConsumerRuntime(gateway.platform.db, gateway.platform.transport, consumer(gateway.platform), "t", lambda: NOW)
    envelopes = [e.envelope(client="banco", occurred_at=NOW) for e in events]
    outcomes = await runtime.handle_batch([Message(f"t.{e.family}", e.key("banco"), envelope, {})
                                           for e, envelope in zip(events, envelopes, strict=True)])
    assert set(outcomes) == {"processed"}
    return envelopes


def promise(ref: str, amount: str = "30000.00") -> PromiseMade:
    return PromiseMade(promise_id=uuid.uuid4(), account_ref=ref, amount=Decimal(amount),
                       due_date=dt.date(2026, 4, 10), source="agent", made_at=NOW)


def causes(envelopes: list[Envelope]) -> list[tuple[str, uuid.UUID, uuid.UUID | None]]:
    return [(e.type, e.correlation_id, e.causation_id) for e in envelopes]


async def test_an_operators_payment_and_the_promise_it_keeps_carry_the_requests_id(gateway: Gateway) -> None:
    await deliver(gateway, promise("A-1"))
    answer = await gateway.manual("corr-manual-1", {"account_ref": "A-1", "amount": "30000.00",
                                                    "paid_at": NOW.isoformat(), "method": "cash"})
    assert answer.json()["status"] == "applied", answer.text
    request_id = uuid.UUID(answer.headers["X-Request-Id"])
    assert causes(await events(gateway, "banco/A-1")) == [
        ("promise.kept", request_id, request_id), ("payment.applied", request_id, request_id)]


async def test_a_gateways_notification_is_the_cause_of_what_it_applied_or_left_in_suspense(gateway: Gateway) -> None:
    applied = await gateway.send(payment("corr-gw-1", ref="A-2", amount="1000.00"))
    unmatched = await gateway.send(payment("corr-gw-2", ref="NO-EXISTE", amount="1000.00"))
    assert (applied.json()["status"], unmatched.json()["status"]) == ("applied", "unmatched")
    first, second = (uuid.UUID(a.headers["X-Request-Id"]) for a in (applied, unmatched))
    assert first != second
    assert causes(await events(gateway)) == [("payment.applied", first, first), ("payment.unmatched", second, second)]


@pytest.mark.parametrize("batch", [True, False], ids=["batch", "single"])
async def test_a_suspense_payment_applied_by_its_placement_is_caused_by_that_placement(
        gateway: Gateway, batch: bool) -> None:
    assert (await gateway.send(payment("corr-early", ref="LATE-1", amount="5000.00"))).json()["status"] == "unmatched"
    placements = [await placed(gateway.platform, ref) for ref in ("OTHER-1", "LATE-1", "OTHER-2")]
    envelopes = await deliver(gateway, *placements) if batch else [
        (await deliver(gateway, p))[0] for p in placements]
    late = envelopes[1]
    assert causes(await events(gateway, "banco/LATE-1")) == [("payment.applied", late.correlation_id, late.event_id)]


async def test_a_debtors_request_and_the_arrangement_it_made_share_a_correlation(gateway: Gateway) -> None:
    request = ArrangementRequested(request_id=uuid.uuid4(), account_ref="A-1", kind="instalment_plan",
                                   instalments=[Instalment(due_date=dt.date(2026, 4, 15), amount=Decimal("50000")),
                                                Instalment(due_date=dt.date(2026, 5, 15), amount=Decimal("50000"))],
                                   requested_at=NOW)
    refused = ArrangementRequested(**{**request.model_dump(), "request_id": uuid.uuid4()})
    [made_by, declined_by] = await deliver(gateway, request, refused)
    assert causes(await events(gateway, "banco/A-1")) == [
        ("arrangement.made", made_by.correlation_id, made_by.event_id),
        ("arrangement.declined", declined_by.correlation_id, declined_by.event_id)]


async def test_one_scheduled_evaluation_is_one_correlation(gateway: Gateway) -> None:
    await deliver(gateway, promise("A-1"), promise("A-2"))
    after_grace = NOW + dt.timedelta(days=30)
    assert await evaluate_due_promises(gateway.platform.db, now=after_grace) == {"kept": 0, "broken": 2}
    broken = causes(await events(gateway))
    assert [t for t, _, _ in broken] == ["promise.broken", "promise.broken"]
    run: set[Any] = {(correlation, causation) for _, correlation, causation in broken}
    assert len(run) == 1 and len({*run.pop()}) == 1  # one run, its id both correlation and cause
