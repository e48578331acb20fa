"""`recaudo run` (what `make run` starts) works on both cores and stops what it started: outreach's and reporting's
workers run in a second process (#24), a portfolio still reaches the report through it, and after Ctrl-C the second
process and the embedded PostgreSQL are gone."""

import asyncio
import json
import os
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from recaudo_common import embedded_pg
from recaudo_common.local_ports import free_port
from recaudo_common.testing import RunningProcess, eventually, wait_ready

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
        base = f"http://127.0.0.1:{port}"
        await wait_ready(base, process, timeout_s=180)
        assert embedded_pg.is_listening(pg_port)
        second = children_serving(process.process.pid)
        assert len(second) == 1, second
        key = json.loads((tmp_path / "data" / "demo-keys.json").read_text())["operator"]
        async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30) as http:
            assert (await http.post("/v1/clients", json={
                "slug": "dos", "name": "Dos Núcleos", "country": "CO", "currency": "COP",
                "timezone": "America/Bogota", "locale": "es-CO"})).status_code in (201, 202)
            rows = "\n".join(f"D-{i};{1000 + i};Deudora {i};{(i + 1) * 10000};45" for i in range(20))
            assert (await http.post("/v1/clients/dos/portfolios", files={"file": (
                "cartera.csv", f"Cuenta;Cedula;Nombre;Saldo;Mora\n{rows}\n".encode())})).status_code == 202

            async def in_the_report() -> bool:  # reporting's consumers run only in the second process
                answer = await http.get("/v1/clients/dos/reports/recovery")
                return answer.status_code == 200 and answer.json()["totals"]["accounts_placed"] == 20

            await eventually(in_the_report, timeout_s=120, message="the portfolio in the report:\n"
                             + process.log_tail(100))
        process.process.send_signal(signal.SIGINT)
        try:
            code = await asyncio.to_thread(process.process.wait, 60)
        except subprocess.TimeoutExpired:
            pytest.fail(f"recaudo run did not exit after SIGINT:\n{process.log_tail()}")
        assert code == 0, process.log_tail()
        assert not any([await asyncio.to_thread(Path(f"/proc/{pid}").exists) for pid in second]), \
            "the second process outlived the first"

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


def children_serving(parent: int) -> list[int]:
    """The processes `parent` started that serve outreach's and reporting's workers."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
            ppid = int(next(line for line in (proc / "status").read_text().splitlines()
                            if line.startswith("PPid:")).split()[1])
        except (OSError, StopIteration, ValueError):
            continue
        if ppid == parent and b"serve" in cmdline and b"--role" in cmdline and b"worker" in cmdline:
            found.append(int(proc.name))
    return found
