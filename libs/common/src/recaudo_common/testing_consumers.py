"""What tests of consumers share: a platform on the embedded transport, and a batch applied as the consumer's fast
path applies it (a pytest plugin, with recaudo_common.testing: conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from recaudo_common.bus.base import Message
from recaudo_common.bus.consumer import ConsumerRuntime
from recaudo_common.runtime import Platform, make_platform
from recaudo_common.testing import settings_for_test


@pytest.fixture
async def platform_on_postgres(database_url: str) -> AsyncIterator[Platform]:
    """A platform on a fresh database and the embedded (postgres) transport, for one test."""
    platform = make_platform(settings_for_test(database_url), pool_size=2)
    yield platform
    await platform.db.dispose()


async def applied_together(runtime: ConsumerRuntime, messages: list[Message]) -> None:
    """The messages applied as one fetched batch in one transaction, as the consumer's fast path applies it: fails
    when the batch would have fallen back to one event at a time (which would hide a failing batch handler)."""
    assert await runtime._apply_all(messages) == ["processed"] * len(messages)
