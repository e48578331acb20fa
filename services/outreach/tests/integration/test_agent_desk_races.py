"""An agent call handed out at the moment a block arrives for its debtor (a dispute hold on its account, a death
on another of the person's accounts, the do-not-contact list): whichever commits first, the end state is never a
call handed out and not withdrawn while the block stands. Real concurrency against outreach's real PostgreSQL,
through the desk's next-call route and the operators' block routes, many debtors at once and many rounds, so both
orders and the interleavings between them happen."""

import asyncio
import datetime as dt
import random
import zoneinfo
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from .conftest import Outreach, segmented

pytestmark = pytest.mark.integration

ROUNDS, DEBTORS = 6, 5
Block = Callable[[Outreach, int, int], Awaitable[httpx.Response]]


async def dispute_on_its_account(o: Outreach, round_: int, i: int) -> httpx.Response:
    return await o.http.post(f"/v1/clients/banco/accounts/C-{round_}-{i}/legal-holds", headers=o.auth,
                             json={"hold": "dispute"})


async def death_on_another_account(o: Outreach, round_: int, i: int) -> httpx.Response:
    # A death holds the person's every account (store.LEGAL_HOLD), the one the call is for among them.
    return await o.http.post(f"/v1/clients/banco/accounts/T-{round_}-{i}/legal-holds", headers=o.auth,
                             json={"hold": "deceased"})


async def do_not_contact(o: Outreach, round_: int, i: int) -> httpx.Response:
    return await o.http.post("/v1/clients/banco/do-not-contact", headers=o.auth,
                             json={"debtor_id": debtor_of(round_, i), "reason": "lo pidió"})


def debtor_of(round_: int, i: int) -> str:
    return f"77{round_:04d}{i:04d}"


async def jittered(work: Awaitable[httpx.Response]) -> httpx.Response:
    # A random head start of up to a few milliseconds, so that each side wins some rounds and they interleave in
    # others; what is asserted is the end state, never a timing.
    await asyncio.sleep(random.random() * 0.02)
    return await work


@pytest.mark.parametrize("block", [dispute_on_its_account, death_on_another_account, do_not_contact])
async def test_a_call_handed_out_as_a_block_arrives_is_never_left_on_the_desk(outreach: Outreach,
                                                                             block: Block) -> None:
    o = outreach
    o.clock.now = dt.datetime(2026, 3, 4, 10, 0, tzinfo=zoneinfo.ZoneInfo("America/Bogota"))  # a Wednesday
    handed_out = 0
    for round_ in range(ROUNDS):
        events = []
        for i in range(DEBTORS):
            # Each debtor has an account due for an agent's call and another worked by text.
            events += [await o.placed(f"C-{round_}-{i}", debtor=debtor_of(round_, i), channels=("agent",)),
                       segmented(f"C-{round_}-{i}", ("agent",), value="900000"),
                       await o.placed(f"T-{round_}-{i}", debtor=debtor_of(round_, i), channels=("sms",)),
                       segmented(f"T-{round_}-{i}", ("sms",))]
        await o.deliver(*events)
        work = [jittered(o.http.get("/v1/agent/next?client=banco", headers=o.auth)) for _ in range(DEBTORS)]
        work += [jittered(block(o, round_, i)) for i in range(DEBTORS)]
        answers = await asyncio.gather(*work)
        assert [a.status_code for a in answers] == [200] * DEBTORS + [201] * DEBTORS, [a.text for a in answers]
        calls: list[dict[str, Any]] = [a.json()["item"] for a in answers[:DEBTORS] if a.json()["item"]]
        handed_out += len(calls)
        # Every debtor of the round is blocked now: none of their calls is the agents' to make, and no hand-out
        # counts as a contact (the call was never made).
        left = await o.sql(
            "SELECT account_ref, status FROM outreach.attempts WHERE account_ref LIKE :p AND status = 'assigned'",
            p=f"C-{round_}-%")
        assert left == [], f"round {round_}: handed out while blocked: {left}"
        assert await o.sql("SELECT account_ref FROM outreach.contacts WHERE account_ref LIKE :p",
                           p=f"C-{round_}-%") == []
        # And the desk answers a call handed out in the race as withdrawn, never as the agent's.
        for call in calls:
            answer = await o.http.get(f"/v1/agent/calls/{call['attempt_id']}?client=banco", headers=o.auth)
            assert (answer.status_code, answer.json().get("code")) == (409, "call_withdrawn"), answer.text
    # The race was run both ways: some calls were handed out before the block came (and withdrawn by it).
    assert handed_out > 0
