"""Fixtures of segmentation's integration tests."""

from collections.abc import AsyncIterator

import pytest

from recaudo_common.runtime import Platform, make_platform
from recaudo_common.testing import settings_for_test


@pytest.fixture
async def platform(database_url: str) -> AsyncIterator[Platform]:
    """A platform on a fresh database (postgres transport) for one test."""
    p = make_platform(settings_for_test(database_url), pool_size=3)
    yield p
    await p.db.dispose()
