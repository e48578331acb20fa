"""`recaudo run` (what `make run` starts) stops what it started: after Ctrl-C its embedded PostgreSQL is gone."""

import asyncio
import os
import signal
import subprocess
from pathlib import Path

import pytest

from recaudo_common import embedded_pg
from recaudo_common.testing import RunningProcess, eventually, free_port, wait_ready

pytestmark = pytest.mark.e2e


async def test_ctrl_c_stops_the_platform_and_its_embedded_postgresql(tmp_path: Path) -> None:
    port, pg_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECAUDO_")}  # no database: run starts its own
    process = RunningProcess(["run", "--no-demo", "--port", str(port), "--pg-port", str(pg_port),
                              "--data", str(tmp_path / "data")], {**env, "RECAUDO_LOG_LEVEL": "WARNING"},
                             tmp_path / "run.log")
    process.start()
    assert process.process is not None
    try:
        await wait_ready(f"http://127.0.0.1:{port}", process, timeout_s=180)
        assert embedded_pg.is_listening(pg_port)
        process.process.send_signal(signal.SIGINT)
        try:
            code = await asyncio.to_thread(process.process.wait, 60)
        except subprocess.TimeoutExpired:
            pytest.fail(f"recaudo run did not exit after SIGINT:\n{process.log_tail()}")
        assert code == 0, process.log_tail()

        async def postgres_gone() -> bool:
            return not await asyncio.to_thread(embedded_pg.is_listening, pg_port)

        await eventually(postgres_gone, timeout_s=30, message="the embedded PostgreSQL stopped accepting connections:\n"
                         + process.log_tail(200))
        assert not (tmp_path / "data" / "postgres" / "pgdata" / "postmaster.pid").exists()  # ours, not the port's
        log = process.log_tail(200)
        assert "Recaudo is running (embedded PostgreSQL, postgres transport)." in log  # the make run banner
        assert "stopping embedded PostgreSQL" in log
    finally:
        process.kill()
        embedded_pg.stop(tmp_path / "data" / "postgres", mode="immediate")  # a failed run leaves none behind
