"""How the bulk lane tells an upload's record that a batch waits, and that it no longer does: a write that fails
never stops the pacing, and the end of a pause is tried again, so a passing database error does not leave an upload
saying it waits while it goes on."""

import pytest

from ingest.bulk_pace import _tell

pytestmark = pytest.mark.unit


class Flaky:
    """A record that fails its first `failures` writes."""

    def __init__(self, failures: int) -> None:
        self.failures, self.written = failures, list[tuple[str | None, float]]()

    async def __call__(self, topic: str | None, waited_s: float) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("the database went away for a moment")
        self.written.append((topic, waited_s))


async def test_the_end_of_a_pause_is_written_even_after_a_passing_failure() -> None:
    record = Flaky(failures=2)
    await _tell(record, None, 0.0)
    assert record.written == [(None, 0.0)]


async def test_a_pause_that_cannot_be_shown_is_not_tried_again_and_raises_nothing() -> None:
    record = Flaky(failures=1)
    await _tell(record, "recaudo.contact", 3.0)  # the batch goes on waiting; the next change of topic says it
    assert record.written == []


async def test_an_end_that_keeps_failing_gives_up_without_raising() -> None:
    record = Flaky(failures=5)
    await _tell(record, None, 0.0, tries=3)
    assert record.written == [] and record.failures == 2
