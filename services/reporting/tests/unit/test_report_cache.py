"""The live report's cache: one computation at a time per question, answers at most a second old, and askers who
keep asking never wait for the next computation."""

from __future__ import annotations

import asyncio

import pytest

from recaudo_common.testing_clock import HandClock
from reporting.cache import ReportCache

pytestmark = pytest.mark.unit


class Report:
    """A computation the test finishes by hand, numbered in the order they were started."""

    def __init__(self, clock: HandClock[float], took_s: float) -> None:
        self.clock, self.took_s = clock, took_s
        self.started = 0
        self.pending: list[asyncio.Future[int]] = []

    async def __call__(self) -> int:
        self.started += 1
        number = self.started
        gate: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.pending.append(gate)
        await gate
        return number

    async def finish(self) -> None:
        self.clock.now += self.took_s
        self.pending.pop(0).set_result(0)
        await settle()


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_askers_at_once_share_one_computation() -> None:
    clock = HandClock(100.0)
    cache, compute = ReportCache(ttl_s=1.0, clock=clock), Report(clock, 0.3)
    askers = [asyncio.create_task(cache.get(("banco", None), compute)) for _ in range(50)]
    await settle()
    await compute.finish()
    assert [await a for a in askers] == [1] * 50
    assert compute.started == 1


async def test_the_next_computation_starts_ahead_of_the_expiry_and_nobody_waits_for_it() -> None:
    clock = HandClock(100.0)
    cache, compute = ReportCache(ttl_s=1.0, clock=clock), Report(clock, 0.3)
    first = asyncio.create_task(cache.get(("banco", None), compute))
    await settle()
    await compute.finish()
    assert await first == 1  # ended at 100.3: served until 101.3, refreshed from 101.0 (0.3 s ahead)

    clock.now = 100.9
    assert await cache.get(("banco", None), compute) == 1
    await settle()
    assert compute.started == 1  # not yet: the last computation took 0.3 s

    clock.now = 101.05
    assert await cache.get(("banco", None), compute) == 1  # answered at once, from the current answer
    await settle()
    assert compute.started == 2  # ... while the next one is computed
    assert await cache.get(("banco", None), compute) == 1
    await settle()
    assert compute.started == 2  # one refresh at a time

    await compute.finish()  # ends at 101.35
    assert await cache.get(("banco", None), compute) == 2


async def test_an_answer_is_never_served_after_its_second() -> None:
    clock = HandClock(100.0)
    cache, compute = ReportCache(ttl_s=1.0, clock=clock), Report(clock, 0.3)
    first = asyncio.create_task(cache.get(("banco", None), compute))
    await settle()
    await compute.finish()
    assert await first == 1

    clock.now = 105.0  # nobody asked for seconds: the asker waits for a fresh computation
    asker = asyncio.create_task(cache.get(("banco", None), compute))
    await settle()
    assert not asker.done()
    await compute.finish()
    assert await asker == 2


async def test_while_a_slow_refresh_runs_past_the_second_the_current_answer_is_served_for_a_while() -> None:
    clock = HandClock(100.0)
    cache, compute = ReportCache(ttl_s=1.0, max_stale_s=3.0, clock=clock), Report(clock, 0.5)
    first = asyncio.create_task(cache.get(("banco", None), compute))
    await settle()
    await compute.finish()  # ends at 100.5, its second until 101.5, refreshed from 101.0
    assert await first == 1

    clock.now = 101.2
    assert await cache.get(("banco", None), compute) == 1
    await settle()
    assert compute.started == 2
    clock.now = 102.0  # past the second, the refresh still running: the current answer, at once
    assert await cache.get(("banco", None), compute) == 1
    await settle()
    assert compute.started == 2  # and no third computation

    clock.now = 103.6  # more than max_stale_s after the answer's computation ended: wait for the refresh
    late = asyncio.create_task(cache.get(("banco", None), compute))
    await settle()
    assert not late.done()
    assert compute.started == 2
    compute.took_s = 0.0
    await compute.finish()
    assert await late == 2


async def test_a_failed_computation_is_not_kept() -> None:
    clock = HandClock(100.0)
    cache = ReportCache(ttl_s=1.0, clock=clock)
    calls = 0

    async def failing() -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("database away")
        return calls

    with pytest.raises(RuntimeError):
        await cache.get(("banco", None), failing)
    assert await cache.get(("banco", None), failing) == 2


async def test_questions_are_cached_apart() -> None:
    clock = HandClock(100.0)
    cache = ReportCache(ttl_s=1.0, clock=clock)

    async def by(key: str) -> str:
        return key

    assert await cache.get(("banco", None), lambda: by("totals")) == "totals"
    assert await cache.get(("banco", "bucket"), lambda: by("bucket")) == "bucket"
    assert await cache.get(("banco", None), lambda: by("other")) == "totals"
