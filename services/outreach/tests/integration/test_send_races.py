"""The scheduler's claim of due messages at the moment a death is recorded on another of the debtor's accounts
(which holds every account of the person, store.LEGAL_HOLD, and touches no attempt of the others): a message goes
to its provider only if its claim decided on every block committed before its lease was written. Real concurrency
against outreach's real PostgreSQL, many debtors and rounds; and the two moments of the claim held open by hand."""

import asyncio
import datetime as dt
import random
import time
import uuid
import zoneinfo
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from outreach import store
from outreach.providers import OutboundMessage, SendError, Sent
from outreach.sending import store as sending
from recaudo_common.db import sql
from recaudo_common.events import PromiseMade

from .conftest import Outreach, segmented

pytestmark = pytest.mark.integration

ROUNDS, DEBTORS = 6, 5
BOGOTA_WEDNESDAY_10 = dt.datetime(2026, 3, 4, 10, 0, tzinfo=zoneinfo.ZoneInfo("America/Bogota"))


def debtor_of(round_: int, i: int) -> str:
    return f"88{round_:04d}{i:04d}"


async def due_with_another_account(o: Outreach, round_: int, debtors: int) -> None:
    """Each debtor has an account with an SMS due now (S-) and another worked by agents (T-)."""
    events = []
    for i in range(debtors):
        events += [await o.placed(f"S-{round_}-{i}", debtor=debtor_of(round_, i), channels=("sms",)),
                   segmented(f"S-{round_}-{i}", ("sms",)),
                   await o.placed(f"T-{round_}-{i}", debtor=debtor_of(round_, i), channels=("agent",)),
                   segmented(f"T-{round_}-{i}", ("agent",))]
    await o.deliver(*events)


def death_on_another_account(o: Outreach, round_: int, i: int) -> Awaitable[httpx.Response]:
    return o.http.post(f"/v1/clients/banco/accounts/T-{round_}-{i}/legal-holds", headers=o.auth,
                       json={"hold": "deceased"})


def handed_to_provider(o: Outreach, monkeypatch: pytest.MonkeyPatch) -> list[uuid.UUID]:
    """The attempts whose message the sandbox provider was handed, in order."""
    handed: list[uuid.UUID] = []
    sandbox = o.providers.sandbox
    send = sandbox.send

    async def recording(messages: list[OutboundMessage], now: dt.datetime) -> list[Sent | SendError]:
        handed.extend(m.attempt_id for m in messages)
        return await send(messages, now)

    monkeypatch.setattr(sandbox, "send", recording)
    return handed


async def held_accounts(s: AsyncSession, refs: list[str]) -> set[str]:
    """Of these accounts, those under a legal hold as a statement of `s` sees them now."""
    rows = await s.execute(sql(f"SELECT acc.account_ref FROM outreach.accounts acc WHERE acc.client_slug = 'banco' "
                               f"AND acc.account_ref = ANY(:refs) AND {store.LEGAL_HOLD} IS NOT NULL"),
                           {"refs": refs})
    return {r[0] for r in rows}


async def test_no_message_goes_to_a_person_whose_death_committed_before_its_lease(
        outreach: Outreach, monkeypatch: pytest.MonkeyPatch) -> None:
    o = outreach
    o.clock.now = BOGOTA_WEDNESDAY_10
    handed = handed_to_provider(o, monkeypatch)
    # Right before a claim writes its leases, in its own transaction: which of its messages' people a death
    # committed before that statement holds. Each of them was blocked before the lease was written.
    blocked_at_lease: set[uuid.UUID] = set()
    mark_sending = sending.mark_sending

    async def watched(s: AsyncSession, handovers: list[sending.Handover], **kw: Any) -> None:
        if handovers:
            held = await held_accounts(s, [h.due.debtor.account_ref for h in handovers])
            blocked_at_lease.update(h.message.attempt_id for h in handovers if h.due.debtor.account_ref in held)
        await mark_sending(s, handovers, **kw)

    monkeypatch.setattr(sending, "mark_sending", watched)
    sent_in_races = 0
    for round_ in range(ROUNDS):
        await due_with_another_account(o, round_, DEBTORS)
        started = len(handed)

        async def jittered(work: Callable[[], Awaitable[Any]]) -> Any:
            # A random head start of up to a few milliseconds, so that each side wins some rounds and they
            # interleave in others; what is asserted is what reached the provider, never a timing.
            await asyncio.sleep(random.random() * 0.02)
            return await work()

        answers = await asyncio.gather(
            jittered(o.tick), jittered(o.tick),  # two scheduler replicas
            *[jittered(lambda i=i, r=round_: death_on_another_account(o, r, i)) for i in range(DEBTORS)])
        assert [a.status_code for a in answers[2:]] == [201] * DEBTORS, [a.text for a in answers[2:]]
        assert not blocked_at_lease & set(handed), f"round {round_}: sent though dead before its lease"
        sent_in_races += len(handed) - started
        assert len(handed) == len(set(handed)), "a message sent twice"
    # Every person is held now: an hour later, nothing more goes out.
    o.clock.now += dt.timedelta(hours=1)
    await o.tick()
    assert len(handed) == sent_in_races
    assert sent_in_races > 0  # the race was run both ways: some messages went before their death


async def lock_waiting(o: Outreach) -> bool:
    rows = await o.sql("SELECT 1 FROM pg_stat_activity WHERE datname = current_database() "
                       "AND wait_event_type = 'Lock'")
    return bool(rows)


@pytest.mark.parametrize("moment", ["after_its_read", "before_its_lease"])
async def test_a_death_recorded_while_a_claim_is_open_stops_its_message(
        outreach: Outreach, monkeypatch: pytest.MonkeyPatch, moment: str) -> None:
    """The death is recorded while the claim stands still, right after the statement that read its due messages
    and their debtors' holds (before it holds the debtors), or right before it writes its leases. Either the
    death commits then, and the message is not sent; or it waits for the claim, and the message was decided
    before it."""
    o = outreach
    o.clock.now = BOGOTA_WEDNESDAY_10
    await due_with_another_account(o, 0, 1)
    handed = handed_to_provider(o, monkeypatch)
    outcome: dict[str, bool] = {}

    async def record_the_death() -> None:
        block = asyncio.ensure_future(death_on_another_account(o, 0, 0))
        deadline = time.monotonic() + 20
        while not block.done() and not await lock_waiting(o):
            assert time.monotonic() < deadline, "the death neither committed nor waited"
            await asyncio.sleep(0.01)
        outcome["committed_first"] = block.done()
        outcome["task"] = block  # type: ignore[assignment]

    if moment == "after_its_read":
        decide = store.decide_one_at_a_time

        async def paused_after_read(s: AsyncSession, *args: Any) -> Any:
            await record_the_death()
            return await decide(s, *args)

        monkeypatch.setattr(store, "decide_one_at_a_time", paused_after_read)
    else:
        mark_sending = sending.mark_sending

        async def paused_before_lease(s: AsyncSession, handovers: list[sending.Handover], **kw: Any) -> None:
            if handovers:
                await record_the_death()
            await mark_sending(s, handovers, **kw)

        monkeypatch.setattr(sending, "mark_sending", paused_before_lease)
    await o.tick()
    answer = await outreach_block(outcome)
    assert answer.status_code == 201, answer.text
    if outcome["committed_first"]:
        assert handed == [], "sent to a person whose death committed before the lease was written"
        assert (await o.attempts("S-0-0"))[0] == ("sms", "cancelled")  # blocked when claimed
    # Either way the person is held from now on: nothing more goes out.
    count = len(handed)
    o.clock.now += dt.timedelta(days=4)
    await o.tick()
    assert len(handed) == count


async def outreach_block(outcome: dict[str, Any]) -> httpx.Response:
    response: httpx.Response = await outcome["task"]
    return response


async def test_two_deaths_on_one_person_at_once_both_hold_without_a_deadlock(outreach: Outreach) -> None:
    """A death recorded on two of the person's accounts at the same moment (two operators, the client company's
    file and an operator): each hold locks the person's calls and messages not made yet on every account, so
    the two must take them in one order, or each waits for the other (40P01) and one answer is an error."""
    o = outreach
    o.clock.now = BOGOTA_WEDNESDAY_10
    for round_ in range(ROUNDS):
        events = []
        for i in range(DEBTORS):
            for ref in (f"A-{round_}-{i}", f"B-{round_}-{i}"):
                events += [await o.placed(ref, debtor=debtor_of(round_, i), channels=("agent", "sms")),
                           segmented(ref, ("agent", "sms"))]
        await o.deliver(*events)
        answers = await asyncio.gather(*[
            o.http.post(f"/v1/clients/banco/accounts/{side}-{round_}-{i}/legal-holds", headers=o.auth,
                        json={"hold": "deceased" if side == "A" else "insolvency"})
            for i in range(DEBTORS) for side in "AB"])
        assert [a.status_code for a in answers] == [201] * 2 * DEBTORS, [a.text for a in answers]
        left = await o.sql("SELECT account_ref, channel FROM outreach.attempts WHERE account_ref ~ :p "
                           "AND status = 'scheduled'", p=f"^[AB]-{round_}-")
        assert left == [], left


# A promise to pay holds its account's collection messages (outreach/holds.py) as a death holds the person's: the claim
# reads it again once it holds the debtor, with the blocks.
async def test_a_promise_recorded_while_a_claim_stands_still_is_read_again_once_it_holds_the_debtor(
        outreach: Outreach, monkeypatch: pytest.MonkeyPatch) -> None:
    o = outreach
    o.clock.now = BOGOTA_WEDNESDAY_10
    await o.deliver(await o.placed("R-1", channels=("sms",)), segmented("R-1", ("sms",)))
    handed = handed_to_provider(o, monkeypatch)
    decide = store.decide_one_at_a_time

    async def promise_made_after_the_read(s: AsyncSession, *args: Any) -> Any:
        # The claim read its due message and its account before this promise committed.
        await o.deliver(PromiseMade(promise_id=uuid.uuid4(), account_ref="R-1", amount=Decimal("300000"),
                                    due_date=dt.date(2026, 3, 5), source="agent", made_at=BOGOTA_WEDNESDAY_10))
        return await decide(s, *args)

    monkeypatch.setattr(store, "decide_one_at_a_time", promise_made_after_the_read)
    await o.tick()
    assert handed == [], "dunned an account whose promise committed before the claim decided on it"
    [(reasons,)] = await o.sql("SELECT d.reasons FROM outreach.decisions d JOIN outreach.attempts a "
                               "ON a.id = d.attempt_id WHERE a.account_ref = 'R-1'")
    assert reasons[0] == "promise_pending"
    assert (await o.attempts("R-1"))[0] == ("sms", "scheduled")
