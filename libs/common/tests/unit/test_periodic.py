"""A periodic worker: runs again at once while there is work, rests otherwise, and stops when asked."""

import asyncio

import pytest

from recaudo_common.runtime import periodic

pytestmark = pytest.mark.unit


async def test_a_step_with_more_work_runs_again_at_once_and_an_idle_one_rests_until_stopped() -> None:
    waiting = [True, True, False]  # two uploads waiting, then none
    passes: list[bool] = []
    stop = asyncio.Event()

    async def step() -> bool:
        more = waiting.pop(0)
        passes.append(more)
        if not waiting:
            stop.set()
        return more

    # A rest of an hour: the test ends at once only because busy passes skip it and the stop cuts it short.
    await asyncio.wait_for(periodic(step, 3600)(stop), timeout=5)
    assert passes == [True, True, False]


async def test_a_step_that_answers_nothing_rests_between_passes() -> None:
    stop = asyncio.Event()
    first_pass = asyncio.Event()
    calls = 0

    async def step() -> None:
        nonlocal calls
        calls += 1
        first_pass.set()

    worker = asyncio.create_task(periodic(step, 3600)(stop))
    await asyncio.wait_for(first_pass.wait(), timeout=5)
    for _ in range(20):  # give the loop every chance to run a second pass it must not run
        await asyncio.sleep(0)
    stop.set()
    await asyncio.wait_for(worker, timeout=5)
    assert calls == 1
