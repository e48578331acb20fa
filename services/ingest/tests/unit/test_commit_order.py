"""commit_order: an upload's batches written two at a time commit in the file's order; a batch's vault statements
wait for the batch before's; a failure stops the batches after it, never the ones before, and the earliest error
is the one raised."""

from __future__ import annotations

import asyncio

import pytest

from ingest.commit_order import BatchBeforeFailed, BatchOrder, InOrder, Write

pytestmark = pytest.mark.unit


class Batches:
    """Fake batch writes that log each step and can be held at their claim or made to fail."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.hold: dict[str, asyncio.Event] = {}
        self.fail: set[str] = set()
        self.running = 0
        self.most_at_once = 0

    def write(self, name: str) -> Write:
        async def run(before: BatchOrder, this: BatchOrder) -> None:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
            try:
                await before.wait_claimed()
                self.log.append(f"{name} claims")
                await asyncio.sleep(0.001)  # its statements: the next batch's write gets under way meanwhile
                if name in self.hold:
                    await self.hold[name].wait()
                if name in self.fail:
                    raise RuntimeError(f"{name} failed")
                this.mark_claimed()
                await before.wait_committed()
                self.log.append(f"{name} commits")
            finally:
                self.running -= 1
        return run


async def test_the_next_batch_claims_once_the_one_before_has_and_commits_after_it() -> None:
    batches, writes = Batches(), InOrder()
    batches.hold["b1"] = asyncio.Event()
    await writes.start(batches.write("b1"))
    await writes.start(batches.write("b2"))
    await asyncio.sleep(0.01)
    assert batches.log == ["b1 claims"]  # b2 waits for b1's claim
    batches.hold["b1"].set()
    await writes.finish()
    assert batches.log.index("b1 claims") < batches.log.index("b2 claims")
    assert batches.log.index("b1 commits") < batches.log.index("b2 commits")


async def test_at_most_two_batches_are_in_flight() -> None:
    batches, writes = Batches(), InOrder()
    for i in range(6):
        await writes.start(batches.write(f"b{i}"))
    await writes.finish()
    assert batches.most_at_once == 2
    assert [e for e in batches.log if e.endswith("commits")] == [f"b{i} commits" for i in range(6)]


async def test_a_failed_batch_stops_the_ones_after_it_and_its_error_is_raised() -> None:
    batches, writes = Batches(), InOrder()
    batches.fail.add("b1")
    with pytest.raises(RuntimeError, match="b1 failed"):
        for i in range(4):
            await writes.start(batches.write(f"b{i}"))
        await writes.finish()
    await writes.abandon()
    assert "b0 commits" in batches.log
    assert not [e for e in batches.log if e.startswith(("b2", "b3")) and e.endswith("commits")]
    assert "b1 commits" not in batches.log


async def test_a_later_batch_failing_leaves_the_one_before_it_to_commit() -> None:
    batches, writes = Batches(), InOrder()
    batches.hold["b0"] = asyncio.Event()
    batches.fail.add("b1")
    await writes.start(batches.write("b0"))
    await writes.start(batches.write("b1"))
    batches.hold["b0"].set()
    with pytest.raises(RuntimeError, match="b1 failed"):
        await writes.finish()
    assert "b0 commits" in batches.log and "b1 commits" not in batches.log


async def test_a_batch_told_the_one_before_failed_does_not_commit() -> None:
    before, this = BatchOrder(), BatchOrder()
    before.fail()
    with pytest.raises(BatchBeforeFailed):
        await before.wait_claimed()
    with pytest.raises(BatchBeforeFailed):
        await before.wait_committed()
    this.mark_committed()
    assert this.claimed.done() and this.committed.done()


async def test_cancelling_the_upload_rolls_back_the_writes_in_flight() -> None:
    batches, writes = Batches(), InOrder()
    batches.hold["b0"] = asyncio.Event()  # never set: the write would wait for ever

    async def upload() -> None:
        try:
            await writes.start(batches.write("b0"))
            await writes.start(batches.write("b1"))
            await writes.finish()
        except asyncio.CancelledError:
            await writes.abandon()
            raise

    task = asyncio.create_task(upload())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert batches.running == 0 and not [e for e in batches.log if e.endswith("commits")]


async def test_a_write_failing_cancels_the_one_after_even_while_it_waits_for_its_turn() -> None:
    batches, writes = Batches(), InOrder()
    batches.fail.add("b0")
    never = asyncio.Event()  # b1's turn never comes (other companies' batches hold the slots)
    waited: list[str] = []

    async def b1(before: BatchOrder, this: BatchOrder) -> None:
        waited.append("b1 waits for its turn")
        await never.wait()

    await writes.start(batches.write("b0"))
    await writes.start(b1)
    with pytest.raises(RuntimeError, match="b0 failed"):
        await asyncio.wait_for(writes.finish(), timeout=5)
    assert waited == ["b1 waits for its turn"]


async def test_a_failure_reading_the_file_lets_the_batches_before_it_commit() -> None:
    batches, writes = Batches(), InOrder()
    await writes.start(batches.write("b0"))
    await writes.start(batches.write("b1"))
    with pytest.raises(ValueError, match="bad row"):
        try:
            raise ValueError("bad row")
        except ValueError as failure:
            await writes.finish_after(failure)
            raise
    assert batches.log.count("b0 commits") == 1 and batches.log.count("b1 commits") == 1


async def test_a_batch_failing_is_reported_rather_than_the_later_file_error() -> None:
    batches, writes = Batches(), InOrder()
    batches.fail.add("b1")
    await writes.start(batches.write("b0"))
    await writes.start(batches.write("b1"))
    file_error = ValueError("bad row")
    with pytest.raises(RuntimeError, match="b1 failed") as raised:
        await writes.finish_after(file_error)
    assert raised.value.__cause__ is file_error and "b0 commits" in batches.log


async def test_cancelled_while_waiting_out_the_writes_it_still_waits_for_them_to_end() -> None:
    batches, writes = Batches(), InOrder()
    ended: list[str] = []
    release = asyncio.Event()

    async def slow_to_roll_back(before: BatchOrder, this: BatchOrder) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            await release.wait()  # its rollback takes a while
            ended.append("rolled back")

    await writes.start(slow_to_roll_back)
    task = asyncio.create_task(writes.abandon())
    await asyncio.sleep(0.01)
    task.cancel()  # a second stop while the first waits
    await asyncio.sleep(0.01)
    assert not task.done()  # still waiting for the write to end
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert ended == ["rolled back"] and batches.running == 0
