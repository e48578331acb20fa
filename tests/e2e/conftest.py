"""The whole platform as its own OS process, on either transport, reached only through its HTTP API."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from recaudo_common.testing import RunningPlatform, platform_process, settings_for_test

OPERATOR_KEY = "rk_e2e_operator_key_0123456789"


@pytest.fixture(params=["postgres", "kafka"])
async def running_platform(request: pytest.FixtureRequest, database_url: str,
                           tmp_path: Path) -> AsyncIterator[RunningPlatform]:
    transport = request.param
    bootstrap = request.getfixturevalue("kafka_bootstrap") if transport == "kafka" else "unused:1"
    settings = settings_for_test(database_url, transport=transport, kafka_bootstrap=bootstrap)
    async with platform_process(settings, tmp_path, OPERATOR_KEY) as platform:
        yield platform


@pytest.fixture
async def platform(database_url: str, tmp_path: Path) -> AsyncIterator[RunningPlatform]:
    """The platform on its embedded transport only (for browser tests, where the transport is not the point)."""
    async with platform_process(settings_for_test(database_url), tmp_path, OPERATOR_KEY) as platform:
        yield platform
