"""The whole platform as its own OS process, on either transport, reached only through its HTTP API."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from recaudo_common.testing import (
    RunningPlatform,
    RunningProcess,
    free_port,
    platform_env,
    settings_for_test,
    wait_ready,
)

OPERATOR_KEY = "rk_e2e_operator_key_0123456789"


@pytest.fixture(params=["postgres", "kafka"])
async def running_platform(request: pytest.FixtureRequest, database_url: str,
                           tmp_path: Path) -> AsyncIterator[RunningPlatform]:
    transport = request.param
    bootstrap = request.getfixturevalue("kafka_bootstrap") if transport == "kafka" else "unused:1"
    settings = settings_for_test(database_url, transport=transport, kafka_bootstrap=bootstrap)
    port = free_port()
    process = RunningProcess(["serve", "all", "--role", "all", "--port", str(port)],
                             platform_env(settings, RECAUDO_BOOTSTRAP_OPERATOR_KEY=OPERATOR_KEY),
                             tmp_path / "platform.log")
    process.start()
    base_url = f"http://127.0.0.1:{port}"
    try:
        await wait_ready(base_url, process)
        yield RunningPlatform(base_url, OPERATOR_KEY, settings, process)
    finally:
        process.stop()
