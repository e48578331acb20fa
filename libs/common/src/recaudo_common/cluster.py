"""The platform as production runs it, on one machine: its own PostgreSQL, its own Kafka broker and each of the
five services as a separate OS process, with the controls fault injection and the pipeline benchmark need
(SIGKILL a service, restart the broker, restart PostgreSQL) and one HTTP client that routes like the Gateway."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from recaudo_common import embedded_pg
from recaudo_common.local_ports import bindable, free_port, free_ports
from recaudo_common.settings import PlatformSettings
from recaudo_common.testing import REPOSITORY_ROOT, RunningProcess, eventually, platform_env

SERVICES = ("ingest", "segmentation", "outreach", "payments", "reporting")
KAFKA_SCRIPT = REPOSITORY_ROOT / "scripts" / "kafka.sh"


def _free_port_pair() -> int:
    """A free port whose successor is free too (the broker's controller listens on port + 1)."""
    return free_ports(2)


@dataclass
class KafkaBroker:
    """A single-node KRaft broker started by scripts/kafka.sh, with its own data directory."""

    data: Path
    port: int = field(default_factory=_free_port_pair)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _run(self, action: str) -> None:
        env = {**os.environ, "KAFKA_PORT": str(self.port), "KAFKA_DATA": str(self.data)}
        subprocess.run(["bash", str(KAFKA_SCRIPT), action], env=env, check=True,  # noqa: S607 - as make runs it
                       capture_output=True)

    started: bool = field(default=False, init=False)

    def start(self, attempts: int = 3) -> None:
        """Starts the broker. On its first start, a port pair taken between choosing it and binding it (another
        process's connection drew it from the ephemeral range) is chosen again, up to `attempts` times. A restart
        keeps its port whatever happens: its clients were given it, and a second broker on new ports over the same
        data directory (the first one still starting) would corrupt its metadata log."""
        for attempt in range(attempts):
            try:
                self._run("start")
                self.started = True
                return
            except subprocess.CalledProcessError as exc:
                if (self.started or attempt == attempts - 1
                        or (bindable(self.port) and bindable(self.port + 1))):
                    # Not a port taken: a real failure, shown with what the script said.
                    raise RuntimeError(f"the Kafka broker did not start: {exc.stderr.decode(errors='replace')}") \
                        from exc
                self.port = _free_port_pair()

    def stop(self) -> None:
        self._run("stop")


@dataclass
class Postgres:
    """An embedded PostgreSQL server of its own, which may be stopped the hard way and started again."""

    data: Path
    port: int = field(default_factory=lambda: free_ports(1))  # restarted on it (restart_postgres)
    database: str = "recaudo"

    durable: bool = True  # a crash test needs commits that survive a crash: fsync and synchronous_commit on

    def start(self) -> str:
        return embedded_pg.start(self.data, port=self.port, database=self.database, fast=not self.durable)

    def stop(self, *, mode: str = "fast") -> None:
        embedded_pg.stop(self.data, mode=mode)

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{self.database}"


class Router:
    """Sends each /v1 path to the service whose OpenAPI declares it, with the Gateway's routing table."""

    def __init__(self, table: list[tuple[str, str]], base_urls: dict[str, str]) -> None:
        self.rules = [(re.compile(pattern), service) for pattern, service in table]
        self.base_urls = base_urls

    def url(self, path: str) -> str:
        bare = path.split("?", 1)[0]
        for pattern, service in self.rules:
            if pattern.match(bare):
                return self.base_urls[service] + path
        raise LookupError(f"no service serves {bare}")


@dataclass
class Cluster:
    """Five service processes on the Kafka transport over their own broker and PostgreSQL."""

    root: Path
    operator_key: str
    routing_table: list[tuple[str, str]]
    extra_env: dict[str, str] = field(default_factory=dict)
    durable: bool = True  # fsync and synchronous_commit on; a throughput benchmark may turn them off
    postgres: Postgres = field(init=False)
    kafka: KafkaBroker = field(init=False)
    processes: dict[str, RunningProcess] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.postgres = Postgres(self.root / "postgres", durable=self.durable)
        self.kafka = KafkaBroker(self.root / "kafka")

    @property
    def settings(self) -> PlatformSettings:
        return PlatformSettings(database_url=self.postgres.url, transport="kafka", kafka_bootstrap=self.kafka.bootstrap,
                                topic_prefix="recaudo")

    def router(self) -> Router:
        return Router(self.routing_table, {s: f"http://127.0.0.1:{p}" for s, p in self.ports.items()})

    async def start(self) -> None:
        await asyncio.to_thread(self.postgres.start)
        await asyncio.to_thread(self.kafka.start)
        env = platform_env(self.settings, RECAUDO_BOOTSTRAP_OPERATOR_KEY=self.operator_key, **self.extra_env)
        migrate = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "recaudo.cli", "migrate"], env=env,
                                          capture_output=True, text=True)
        if migrate.returncode != 0:
            raise RuntimeError(f"migrations failed:\n{migrate.stdout}\n{migrate.stderr}")
        for service in SERVICES:
            port = free_port()
            self.ports[service] = port
            self.processes[service] = RunningProcess(
                ["serve", service, "--role", "all", "--port", str(port), "--no-migrate"],
                {**env, "RECAUDO_PUBLIC_URL": f"http://127.0.0.1:{port}"}, self.root / f"{service}.log")
        # One at a time: each creates the bootstrap key and its topics on first start.
        for service in SERVICES:
            self.processes[service].start()
            await self.wait_ready(service)

    async def wait_ready(self, service: str, timeout_s: float = 120) -> None:
        process = self.processes[service]
        url = f"http://127.0.0.1:{self.ports[service]}/readyz"

        # One client for every probe: a new one each 0.2 s (TLS context and all) takes CPU from the starting process.
        async with httpx.AsyncClient(timeout=2) as http:
            async def ready() -> bool:
                if process.process is not None and process.process.poll() is not None:
                    raise AssertionError(f"{service} exited early:\n{process.log_tail()}")
                try:
                    return (await http.get(url)).status_code == 200
                except httpx.HTTPError:
                    return False

            await eventually(ready, timeout_s=timeout_s, message=f"{service} ready")

    async def ready_now(self, service: str) -> bool:
        """Whether the service's process is running and answers /readyz with 200 now (one still starting is not)."""
        if self.processes[service].process is None or self.processes[service].exited() is not None:
            return False
        async with httpx.AsyncClient(timeout=2) as http:
            try:
                return (await http.get(f"http://127.0.0.1:{self.ports[service]}/readyz")).status_code == 200
            except httpx.HTTPError:
                return False

    def kill(self, service: str) -> None:
        self.processes[service].kill()

    def restart(self, service: str) -> None:
        self.processes[service].start()

    def ensure_all_running(self) -> list[str]:
        """Restarts any service that is not running, as Kubernetes restarts a pod that exited; returns which."""
        restarted = []
        for service, process in self.processes.items():
            if process.process is None or process.exited() is not None:
                process.start()
                restarted.append(service)
        return restarted

    def log_tails(self, lines: int = 15) -> str:
        return "\n".join(f"== {s} (started {p.starts} times, exit {p.exited()})\n{p.log_tail(lines)}"
                         for s, p in self.processes.items())

    async def restart_kafka(self, down_s: float = 1.0) -> None:
        await asyncio.to_thread(self.kafka.stop)
        await asyncio.sleep(down_s)
        await asyncio.to_thread(self.kafka.start)

    async def restart_postgres(self, down_s: float = 1.0) -> None:
        """`immediate` mode: the server stops without a checkpoint, as a crash would, and recovers on start."""
        await asyncio.to_thread(self.postgres.stop, mode="immediate")
        await asyncio.sleep(down_s)
        await asyncio.to_thread(self.postgres.start)

    async def stop(self) -> None:
        for process in self.processes.values():
            process.stop()
        await asyncio.to_thread(self.kafka.stop)
        await asyncio.to_thread(self.postgres.stop)


@contextlib.asynccontextmanager
async def running_cluster(root: Path, operator_key: str, routing_table: list[tuple[str, str]],
                          **extra_env: str) -> AsyncIterator[Cluster]:
    cluster = Cluster(root, operator_key, routing_table, dict(extra_env))
    try:
        await cluster.start()
        yield cluster
    finally:
        await cluster.stop()


class PatientClient:
    """An API client that rides out a crashed service or a restarting database: it repeats a request (with the
    same body and Idempotency-Key) on a refused connection or a 5xx until `patience_s` has passed."""

    def __init__(self, router: Router, key: str, patience_s: float = 180) -> None:
        self.router = router
        self.http = httpx.AsyncClient(timeout=30, headers={"Authorization": f"Bearer {key}"})
        self.patience_s = patience_s
        self.retries = 0

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.patience_s
        while True:
            try:
                response = await self.http.request(method, self.router.url(path), **kwargs)
                if response.status_code < 500:
                    return response
                failure = f"{response.status_code} {response.text[:200]}"
            except httpx.TransportError as exc:
                failure = f"{type(exc).__name__}: {exc}"
            if loop.time() > deadline:
                raise AssertionError(f"{method} {path} kept failing for {self.patience_s} s: {failure}")
            self.retries += 1
            await asyncio.sleep(0.25)

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", path, **kwargs)

    async def aclose(self) -> None:
        await self.http.aclose()
