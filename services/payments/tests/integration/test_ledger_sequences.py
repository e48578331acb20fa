"""Seeded random sequences of everything that moves an account's money, through payments' real API, consumer and
PostgreSQL: gateway and manual payments (redelivered, retried, sent three times at once), bank statements (sent
again as other bytes), payments before their account is placed, operator reversals, refunds and chargebacks whole
or in part, write-offs and their reversal, restatements, settlements and instalment plans, days passing. After
every step the ledger adds up: the account's balance is the sum of its entries, its written-off money what the
write-off entries leave, its status what the ledger says, no payment taken back beyond what it booked, and every
payment's money somewhere (booked, or waiting in suspense, or given back there). A failure names its seed and the
steps that led to it. (test_webhooks.test_any_sequence_keeps_the_ledger_identity checks the balance against an
independent sum over payments, refunds and restatements alone.)"""

import asyncio
import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from payments.promises.handlers import evaluate_due_promises
from recaudo_common.accounts import ledger_status
from recaudo_common.events import AccountUpdated
from recaudo_common.instalments import split_evenly

from .conftest import Clock, Gateway, deliver, payment, placed

pytestmark = pytest.mark.integration
AMOUNTS = ["0.01", "1000.00", "10000.00", "25000.50", "60000.00", "100000.00", "150000.00"]
STEPS = 40


@dataclass
class Run:
    """One sequence: the platform, its clock, the seed's random choices and what has been sent so far."""

    g: Gateway
    clock: Clock
    rnd: random.Random
    steps: list[str] = field(default_factory=list)
    gateway_ids: list[str] = field(default_factory=list)  # payments the gateway sent (refunds name them)
    applied: list[str] = field(default_factory=list)  # payments applied (operators reverse them)
    resend: list[tuple[str, Any]] = field(default_factory=list)  # what may be sent again
    files: list[str] = field(default_factory=list)
    stated: Decimal = Decimal("100000.00")
    placed_late: bool = False

    def amount(self) -> str:
        return self.rnd.choice(AMOUNTS)

    def paid_at(self) -> str:
        return self.clock.now.isoformat()

    async def post(self, path: str, body: dict[str, Any], key: str | None = None) -> Any:
        headers = {**self.g.as_operator(), **({"Idempotency-Key": key} if key else {})}
        return await self.g.http.post(f"/v1/clients/banco{path}", json=body, headers=headers)

    async def payment_id(self, external_id: str) -> str:
        async with self.g.platform.db.transaction() as s:
            return str(await s.scalar(text("SELECT id FROM payments.payments WHERE external_id = :x"),
                                      {"x": external_id}))

    async def balance(self) -> Decimal:
        return (await self.g.balance("A-1"))[0]


async def gateway_payment(run: Run, n: int) -> Any:
    body = payment(f"p{n}", ref=run.rnd.choice(["A-1", "A-1", "A-9"]), amount=run.amount(), paid_at=run.paid_at())
    answer = await run.g.send(body, at=run.clock.now)
    run.gateway_ids.append(body["payment_id"])
    run.resend.append(("gateway", body))
    if answer.json().get("status") == "applied":
        run.applied.append(await run.payment_id(body["payment_id"]))
    return answer


async def manual_payment(run: Run, n: int) -> Any:
    request = (f"manual-{n:04d}", {"account_ref": "A-1", "amount": run.amount(), "paid_at": run.paid_at(),
                                   "another_deposit": True})
    answer = await run.g.manual(*request)
    run.resend.append(("manual", request))
    if answer.json().get("status") == "applied":
        run.applied.append(answer.json()["id"])
    return answer


async def sent_again(run: Run, n: int) -> None:
    """A gateway's redelivery or an operator's retry under the same key changes nothing."""
    if not run.resend:
        return
    kind, request = run.rnd.choice(run.resend)
    before = await ledger_of(run.g, "A-1")
    answer = await (run.g.send(request, at=run.clock.now) if kind == "gateway" else run.g.manual(*request))
    assert answer.status_code == 200, answer.text
    assert await ledger_of(run.g, "A-1") == before


async def sent_at_once(run: Run, n: int) -> None:
    """Three deliveries of one new payment at once (the group commit's race), and three retries of one key."""
    body = payment(f"c{n}", amount=run.amount(), paid_at=run.paid_at())
    answers = [a.json()["status"] for a in await asyncio.gather(*[run.g.send(body, at=run.clock.now)
                                                                   for _ in range(3)])]
    assert sorted(answers) == ["applied", "duplicate", "duplicate"], answers
    run.gateway_ids.append(body["payment_id"])
    run.applied.append(await run.payment_id(body["payment_id"]))
    request = (f"at-once-{n:04d}", {"account_ref": "A-1", "amount": run.amount(), "paid_at": run.paid_at(),
                                    "another_deposit": True})
    retried = await asyncio.gather(*[run.g.manual(*request) for _ in range(3)])
    assert len({a.text for a in retried}) == 1 and retried[0].status_code == 200, [a.text for a in retried]
    run.applied.append(retried[0].json()["id"])
    async with run.g.platform.db.transaction() as s:
        booked = await s.scalar(text(
            "SELECT count(*) FROM payments.ledger_entries e JOIN payments.payments p ON p.id = e.payment_id "
            "WHERE e.kind = 'payment' AND (p.external_id = :x OR p.id = CAST(:i AS uuid))"),
            {"x": body["payment_id"], "i": retried[0].json()["id"]})
    assert booked == 2


async def reversal(run: Run, n: int) -> Any:
    if not run.applied:
        return None
    body = {} if run.rnd.random() < 0.4 else {"amount": run.amount()}
    return await run.post(f"/payments/{run.rnd.choice(run.applied)}/reversal", body, key=f"reversal-{n:04d}")


async def refund_or_chargeback(run: Run, n: int) -> Any:
    if not run.gateway_ids:
        return None
    body = {**payment(f"x{n}", amount=run.amount(), paid_at=run.paid_at()),
            "type": run.rnd.choice(["refund", "chargeback"]), "refers_to": run.rnd.choice(run.gateway_ids)}
    if run.rnd.random() < 0.4:
        body["amount"] = None  # all that remains
    return await run.g.send(body, at=run.clock.now)


async def statement(run: Run, n: int) -> Any:
    """A line with or without the bank's id, or a statement sent before, as it was or saved again (CRLF)."""
    if run.files and run.rnd.random() < 0.5:
        content = run.rnd.choice(run.files)
        content = content.replace("\n", "\r\n") if run.rnd.random() < 0.5 else content
    else:
        receipt = run.rnd.choice(["", f";TX-{run.rnd.randint(1, 3)}"])
        content = (f"Fecha;Referencia;Valor{';Comprobante' if receipt else ''}\n"
                   f"{run.rnd.choice(['05/04/2026', '06/04/2026'])};{run.rnd.choice(['A-1', 'A-1', 'A-9'])};"
                   f"{run.rnd.choice(['10.000,00', '2.500,50'])}{receipt}\n")
    run.files.append(content)
    return await run.g.http.post("/v1/clients/banco/payments/files", headers=run.g.as_operator(),
                                 files={"file": ("extracto.csv", content.encode())})


async def place_late(run: Run, n: int) -> None:
    """A-9, which payments and statement lines may have named already, is placed."""
    if not run.placed_late:
        await deliver(run.g.platform, await placed(run.g.platform, "A-9", debtor_id="109"))
        run.placed_late = True


async def from_suspense(run: Run, n: int) -> Any:
    """An operator assigns a payment waiting in suspense (saying, or not, that it is another deposit) or closes it
    as the same deposit as one applied."""
    waiting = (await run.g.http.get("/v1/clients/banco/payments/unmatched", headers=run.g.as_operator())).json()
    if not waiting["items"]:
        return None
    chosen = run.rnd.choice(waiting["items"])["id"]
    if run.rnd.random() < 0.3:
        return await run.post(f"/payments/unmatched/{chosen}/same-deposit", {})
    return await run.post(f"/payments/unmatched/{chosen}/assign",
                          {"account_ref": run.rnd.choice(["A-1", "A-2"]), "another_deposit": run.rnd.random() < 0.5})


async def write_off(run: Run, n: int) -> Any:
    body: dict[str, Any] = {"reason": "uneconomic"}
    if run.rnd.random() < 0.5:
        body["amount"] = run.amount()
    return await run.post("/accounts/A-1/write-off", body, key=f"write-off-{n:04d}")


async def write_off_reversal(run: Run, n: int) -> Any:
    return await run.post("/accounts/A-1/write-off/reversal", {"reason": "castigo por error"},
                          key=f"write-off-back-{n:04d}")


async def restatement(run: Run, n: int) -> None:
    restated = run.stated + run.rnd.choice([Decimal("-30000.00"), Decimal("-5000.00"), Decimal("7000.00")])
    first = await placed(run.g.platform, "A-1", debtor_id="101")
    await deliver(run.g.platform, AccountUpdated(**{**first.model_dump(), "balance": restated,
                                                    "previous_balance": run.stated}))
    run.stated = restated


async def settlement(run: Run, n: int) -> Any:
    amount = (await run.balance() * Decimal("0.95")).quantize(Decimal("0.01"))
    due = run.clock.now.date() + dt.timedelta(days=run.rnd.choice([0, 1, 3]))
    return await run.post("/accounts/A-1/arrangements", {
        "kind": "settlement", "instalments": [{"due_date": due.isoformat(), "amount": str(amount)}]})


async def plan(run: Run, n: int) -> Any:
    parts = split_evenly(max(await run.balance(), Decimal("0.03")), 3)
    return await run.post("/accounts/A-1/arrangements", {"kind": "instalment_plan", "instalments": [
        {"due_date": (run.clock.now.date() + dt.timedelta(days=7 * i)).isoformat(), "amount": str(part)}
        for i, part in enumerate(parts)]})


async def days_pass(run: Run, n: int) -> None:
    run.clock.now += dt.timedelta(days=run.rnd.choice([1, 2, 5]))
    await evaluate_due_promises(run.g.platform.db, now=run.clock.now)


OPERATIONS = [gateway_payment, gateway_payment, manual_payment, sent_again, sent_at_once, reversal,
              refund_or_chargeback, refund_or_chargeback, statement, statement, place_late, from_suspense, write_off,
              write_off_reversal, restatement, settlement, plan, days_pass]


async def ledger_of(g: Gateway, ref: str) -> dict[str, Decimal]:
    async with g.platform.db.transaction() as s:
        rows = await s.execute(text("SELECT kind, sum(amount) FROM payments.ledger_entries WHERE account_ref = :r "
                                    "GROUP BY kind"), {"r": ref})
        return {kind: total for kind, total in rows}


async def adds_up(run: Run, ref: str) -> None:
    async with run.g.platform.db.transaction() as s:
        balance, status, written_off = (await s.execute(text(
            "SELECT balance, status, written_off FROM payments.accounts WHERE account_ref = :r"), {"r": ref})).one()
        # What the account's write-offs not reversed wrote off: no money is written off without one behind it.
        standing = await s.scalar(text("SELECT coalesce(sum(amount), 0) FROM payments.write_offs "
                                       "WHERE account_ref = :r AND reversed_at IS NULL"), {"r": ref})
        overtaken = (await s.execute(text(
            """SELECT p.id FROM payments.payments p WHERE p.account_ref = :r AND (
                   (SELECT coalesce(sum(e.amount), 0) FROM payments.ledger_entries e WHERE e.payment_id = p.id
                    AND e.kind IN ('reversal', 'chargeback'))
                   > (SELECT -coalesce(sum(e.amount), 0) FROM payments.ledger_entries e WHERE e.payment_id = p.id
                      AND e.kind = 'payment')
                   OR (p.status = 'reversed') <> (p.reversed_amount = p.amount))"""), {"r": ref})).all()
    entries = await ledger_of(run.g, ref)
    said = (ref, run.steps)
    assert balance == sum(entries.values(), Decimal(0)), said
    assert written_off == -sum((entries.get(k, Decimal(0)) for k in ("write_off", "write_off_recovery",
                                                                     "write_off_reversal")), Decimal(0)) >= 0, said
    assert written_off <= standing, said
    if status == "settled":
        assert balance <= 0 or "restatement" in " ".join(run.steps), said  # a restatement may follow a settlement
    else:
        assert status == ledger_status(balance=balance, settled=False, written_off=written_off), said
    assert overtaken == [], said


async def money_somewhere(run: Run) -> None:
    """Each payment's money: booked to its account (all of it, or all but what was given back in suspense), or not
    booked at all while it waits in suspense, was closed as a deposit already booked, or was given back there."""
    async with run.g.platform.db.transaction() as s:
        lost = (await s.execute(text(
            """SELECT p.id, p.status FROM payments.payments p
               LEFT JOIN payments.ledger_entries e ON e.payment_id = p.id AND e.kind = 'payment'
               GROUP BY p.id HAVING CASE WHEN p.account_ref IS NULL OR p.status IN ('unmatched', 'duplicate')
                   THEN coalesce(sum(e.amount), 0) <> 0
                   ELSE -coalesce(sum(e.amount), 0) NOT BETWEEN 0.01 AND p.amount END"""))).all()
    assert lost == [], run.steps


@pytest.mark.parametrize("seed", range(6))
async def test_every_sequence_adds_up(clocked: tuple[Gateway, Clock], seed: int) -> None:
    g, clock = clocked
    run = Run(g, clock, random.Random(seed))
    for n in range(STEPS):
        operation = run.rnd.choice(OPERATIONS)
        answer = await operation(run, n)
        assert answer is None or answer.status_code < 500, (run.steps, operation.__name__, answer.text)
        run.steps.append(operation.__name__ + ("" if answer is None else f" {answer.status_code}"))
        for ref in ("A-1", "A-2", *(["A-9"] if run.placed_late else [])):
            await adds_up(run, ref)
        await money_somewhere(run)
