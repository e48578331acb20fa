"""FairTurns: one holder at a time, turns handed round the client companies waiting, first come first served within
one, and a waiter cancelled (a stopped upload) neither keeps nor loses anyone else's turn."""

from __future__ import annotations

import asyncio

import pytest

from recaudo_common.fair_turns import FairTurns

pytestmark = pytest.mark.unit


class Held:
    """Company "a" holds the turn until released; `one` records the order in which the others got theirs."""

    def __init__(self) -> None:
        self.turns, self.order, self.release = FairTurns(), [], asyncio.Event()

    async def hold(self) -> None:
        async with self.turns.turn("a"):
            await self.release.wait()

    async def one(self, name: str, client: str) -> None:
        async with self.turns.turn(client):
            self.order.append(name)


async def _worker(turns: FairTurns, client: str, batches: int, log: list[str], holders: list[int]) -> None:
    for i in range(batches):
        async with turns.turn(client):
            holders.append(1)
            assert len(holders) == 1, "two holders at once"
            log.append(f"{client}{i}")
            await asyncio.sleep(0.001)  # a batch's write: the others queue meanwhile
            holders.pop()


async def test_a_large_job_takes_turns_with_the_small_ones_that_come_after_it() -> None:
    turns, log, holders = FairTurns(), [], []
    big = asyncio.create_task(_worker(turns, "grande", 6, log, holders))
    await asyncio.sleep(0)  # the big one holds its first turn
    small = [asyncio.create_task(_worker(turns, c, 2, log, holders)) for c in ("b", "c")]
    await asyncio.gather(big, *small)
    assert log == ["grande0", "b0", "c0", "grande1", "b1", "c1", "grande2", "grande3", "grande4", "grande5"]
    assert turns.turns_given == 10 and turns.waiting() == {}


async def test_turns_within_one_company_are_first_come_first_served() -> None:
    held = Held()
    holder = asyncio.create_task(held.hold())
    await asyncio.sleep(0)
    waiters = [asyncio.create_task(held.one(n, c)) for n, c in (("a1", "a"), ("a2", "a"), ("b1", "b"), ("a3", "a"))]
    await asyncio.sleep(0)
    assert held.turns.waiting() == {"a": 3, "b": 1}
    held.release.set()
    await asyncio.gather(holder, *waiters)
    assert held.order == ["a1", "b1", "a2", "a3"]


async def test_a_cancelled_waiter_gives_up_its_place_and_the_rest_go_on() -> None:
    held = Held()
    holder = asyncio.create_task(held.hold())
    await asyncio.sleep(0)
    gone = asyncio.create_task(held.one("b1", "b"))
    stays = asyncio.create_task(held.one("c1", "c"))
    await asyncio.sleep(0)
    gone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert held.turns.waiting() == {"c": 1}
    held.release.set()
    await asyncio.gather(holder, stays)
    assert held.order == ["c1"]
    async with held.turns.turn("d"):  # free again: taken at once
        assert held.turns.waiting() == {}


async def test_a_holder_that_raises_hands_its_turn_on() -> None:
    turns, order = FairTurns(), []

    async def failing() -> None:
        async with turns.turn("a"):
            await asyncio.sleep(0)
            raise RuntimeError("the batch failed")

    async def one(name: str) -> None:
        async with turns.turn("b"):
            order.append(name)

    first = asyncio.create_task(failing())
    await asyncio.sleep(0)
    second = asyncio.create_task(one("b1"))
    with pytest.raises(RuntimeError):
        await first
    await second
    assert order == ["b1"]


async def test_with_two_slots_two_hold_at_once_and_the_rest_still_take_turns() -> None:
    turns, log, holders = FairTurns(slots=2), [], []
    most = 0

    async def worker(client: str, batches: int) -> None:
        nonlocal most
        for i in range(batches):
            async with turns.turn(client):
                holders.append(client)
                most = max(most, len(holders))
                log.append(f"{client}{i}")
                await asyncio.sleep(0.001)
                holders.remove(client)

    await asyncio.gather(worker("grande", 4), worker("grande", 4), worker("b", 2))
    assert most == 2 and turns.turns_given == 10 and turns.waiting() == {}
    assert log.index("b1") < log.index("grande3")  # the small one is not left until the large one ends
    with pytest.raises(ValueError):
        FairTurns(slots=0)
