"""Test support for time: a clock a test moves by hand. The platform's rules never read the real clock (they are
given `now`), so a test sets the moment they see and moves it on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

Instant = TypeVar("Instant")  # a datetime, or monotonic seconds


@dataclass
class HandClock(Generic[Instant]):
    """Answers `now` until the test sets another (`clock.now += dt.timedelta(days=1)`)."""

    now: Instant

    def __call__(self) -> Instant:
        return self.now
