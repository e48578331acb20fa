"""The live report's cache: one computation at a time per question, answers at most a second old, and askers who
keep asking never wait for the next computation; a client company's change (the change feed) has its questions
computed again at once, one computation at a time however fast changes come, and leaves the others shared."""

from __future__ import annotations

import asyncio
import itertools

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


# The change feed (reporting.live.ChangeFeed) tells the cache when a client company's read models changed: the
# next computation starts at once, and an answer that misses a change is served only while what it misses was
# committed less than a second ago.

async def answered(cache: ReportCache[int], compute: Report, key: tuple[str, None] = ("banco", None)) -> int:
    first = asyncio.create_task(cache.get(key, compute))
    await settle()
    await compute.finish()
    return await first


async def test_a_change_starts_the_next_computation_at_once_and_its_answer_is_served_when_ready() -> None:
    clock = HandClock(100.0)
    cache, compute = ReportCache(ttl_s=1.0, clock=clock), Report(clock, 0.3)
    assert await answered(cache, compute) == 1  # 100.0 to 100.3: unchanged, it would be shared until 101.3

    clock.now = 100.4
    cache.changed("banco")
    assert await cache.get(("banco", None), compute) == 1  # started 0.4 s ago: what it misses is younger
    await settle()
    assert compute.started == 2  # ... and the next computation is under way
    await compute.finish()  # ends at 100.7
    assert await cache.get(("banco", None), compute) == 2  # long before the old answer's second was over


async def test_an_answer_that_misses_a_change_is_not_served_a_second_after_its_computation_started() -> None:
    clock = HandClock(100.0)
    cache, compute = ReportCache(ttl_s=1.0, clock=clock), Report(clock, 0.3)
    assert await answered(cache, compute) == 1

    clock.now = 100.5
    cache.changed("banco")
    clock.now = 101.1  # within the answer's own second (to 101.3), but it started 1.1 s ago: the asker waits
    asker = asyncio.create_task(cache.get(("banco", None), compute))
    await settle()
    assert not asker.done()
    await compute.finish()
    assert await asker == 2


async def test_another_companys_answers_stay_shared() -> None:
    clock = HandClock(100.0)
    cache, compute = ReportCache(ttl_s=1.0, clock=clock), Report(clock, 0.3)
    assert await answered(cache, compute, ("banco", None)) == 1
    assert await answered(cache, compute, ("otro", None)) == 2
    cache.changed("banco")
    clock.now = 100.7
    assert await cache.get(("otro", None), compute) == 2
    await settle()
    assert compute.started == 2  # nothing computed for the company that did not change


async def test_under_continuous_changes_one_computation_at_a_time_never_one_per_change() -> None:
    clock = HandClock(100.0)
    cache, compute = ReportCache(ttl_s=1.0, min_gap_s=0.1, clock=clock), Report(clock, 0.05)
    assert await answered(cache, compute) == 1  # 100.0 to 100.05
    answers, starts = [], [100.0]
    for _ in range(300):  # a change every millisecond, each followed by an ask: 1,000 payments a second
        clock.now += 0.001
        cache.changed("banco")
        answers.append(await cache.get(("banco", None), compute))
        await settle()
        assert len(compute.pending) <= 1  # one computation at a time
        if compute.pending:
            starts.append(clock.now)
            await compute.finish()
    # Each computation started at least min_gap_s after the one before, however many changes came between
    assert all(b - a >= 0.1 - 1e-9 for a, b in itertools.pairwise(starts))
    assert compute.started == len(starts) >= 3
    assert answers == sorted(answers) and answers[-1] >= compute.started - 1


async def test_an_asker_waits_for_one_computation_after_its_ask_even_while_changes_keep_coming() -> None:
    clock = HandClock(100.0)
    cache, compute = ReportCache(ttl_s=1.0, clock=clock), Report(clock, 0.3)
    first = asyncio.create_task(cache.get(("banco", None), compute))
    await settle()
    cache.changed("banco")  # during the first computation: it may miss it
    second = asyncio.create_task(cache.get(("banco", None), compute))
    await settle()
    await compute.finish()  # the first asker has its answer; the second gets it too (it misses a change of
    assert await first == 1  # less than a second ago) and the next computation starts
    assert await second == 1
    await settle()
    assert compute.started == 2
    cache.changed("banco")
    clock.now = 101.5  # the first answer started 1.5 s ago: an asker now waits for a computation started after
    late = asyncio.create_task(cache.get(("banco", None), compute))  # its ask, which is the one after this one
    await settle()
    await compute.finish()  # the one started before the change: it misses it
    assert not late.done()
    cache.changed("banco")  # changes keep coming: the asker still waits for only one computation after its ask
    await settle()
    assert compute.started == 3
    await compute.finish()
    assert await late == 3


async def test_when_the_feed_starts_listening_every_answer_is_computed_again() -> None:
    clock = HandClock(100.0)
    cache, compute = ReportCache(ttl_s=1.0, clock=clock), Report(clock, 0.3)
    assert await answered(cache, compute, ("banco", None)) == 1
    cache.all_changed()  # changes committed before the feed listened were never told
    clock.now = 100.5
    assert await cache.get(("banco", None), compute) == 1
    await settle()
    assert compute.started == 2


async def test_the_record_of_changes_stays_bounded() -> None:
    clock = HandClock(100.0)
    cache, compute = ReportCache(ttl_s=1.0, max_entries=10, clock=clock), Report(clock, 0.0)
    for i in range(1000):
        cache.changed(f"client-{i}")  # companies nobody asked about
    assert len(cache.changes) <= 20
    assert await answered(cache, compute) == 1
