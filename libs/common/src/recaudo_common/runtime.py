"""Wires services onto concrete adapters and runs them: HTTP API, outbox relays, consumers, workers.

`recaudo serve SERVICE --role api|worker|all` runs one service; `recaudo run` runs all five in one
process on the embedded default. Either way the same service code runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import logging
import signal
import time
from collections.abc import Awaitable, Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import uvicorn
from fastapi import APIRouter, FastAPI

from recaudo_common.auth import Authenticator, KeyStore, Principal
from recaudo_common.bus.base import Transport
from recaudo_common.bus.consumer import Clock, ConsumerRuntime, Subscriptions
from recaudo_common.bus.kafka import KafkaTransport
from recaudo_common.bus.kafka_security import KafkaSecurity
from recaudo_common.bus.postgres import PostgresTransport
from recaudo_common.bus.relay import run_relay
from recaudo_common.bus.retention import run_retention
from recaudo_common.db import Database, is_transient, make_engine, sql
from recaudo_common.errors import ProblemError
from recaudo_common.gate import BodyRule
from recaudo_common.http import create_app
from recaudo_common.migrate import upgrade_async, upgrade_platform
from recaudo_common.personal_data.log_reseal import reseal_event_log
from recaudo_common.personal_data.vault import Vault
from recaudo_common.settings import PlatformSettings, refuse_unsafe_production

log = logging.getLogger("recaudo.runtime")

Role = Literal["api", "worker", "all"]
Worker = Callable[[asyncio.Event], Awaitable[None]]


def periodic(step: Callable[[], Awaitable[bool | None]], rest_s: float) -> Worker:
    """A worker that runs `step` until the service stops, resting `rest_s` after each pass (or until stopped);
    a step that answers True found more work waiting and runs again at once."""
    async def run(stop: asyncio.Event) -> None:
        while not stop.is_set():
            if await step() is True:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), rest_s)
    return run


def system_clock() -> dt.datetime:
    """The only reader of the wall clock; everything else receives `now` as a parameter."""
    return dt.datetime.now(dt.UTC)


@dataclass
class Platform:
    """The concrete adapters a service's main.py builds on."""

    settings: PlatformSettings
    db: Database
    transport: Transport
    keys: KeyStore
    auth: Authenticator
    clock: Clock = system_clock


@dataclass
class ServiceUnit:
    """What each service's main.build() returns."""

    name: str
    schema: str
    migrations: Path
    routers: list[APIRouter] = field(default_factory=list)
    subscriptions: Subscriptions | None = None
    workers: list[Worker] = field(default_factory=list)
    description: str = ""
    # The service's own settings: checked with the platform's before it starts (refuse_unsafe_production).
    settings: PlatformSettings | None = None
    # Paths whose bodies are not JSON under an API key: files, providers' signed notifications, public forms.
    body_rules: list[BodyRule] = field(default_factory=list)
    # What the unit's module-level routes read from `app.state` beside the platform (its settings-made limits).
    app_state: dict[str, object] = field(default_factory=dict)


def make_transport(settings: PlatformSettings, db: Database) -> Transport:
    if settings.transport == "kafka":
        return KafkaTransport(settings.kafka_bootstrap, settings.kafka_partitions, KafkaSecurity.of(settings))
    return PostgresTransport(db, settings.database_url)


def make_platform(settings: PlatformSettings, *, clock: Clock = system_clock, pool_size: int = 10) -> Platform:
    db = Database(make_engine(settings.database_url, pool_size=pool_size))
    keys = KeyStore(db)
    return Platform(settings, db, make_transport(settings, db), keys, Authenticator(keys, clock=clock), clock)


async def migrate(settings: PlatformSettings, units: Sequence[ServiceUnit], *, clock: Clock = system_clock) -> None:
    url = settings.database_url
    await upgrade_platform(url)
    for unit in units:
        await upgrade_async(schema=unit.schema, script_location=unit.migrations, database_url=url)
    # The embedded log's events written before #19 carried debtors in clear: reseal them before any consumer
    # reads the log again (a no-op once done).
    # And a key that a restore brought back for someone in the register of erasures is deleted again.
    db = Database(make_engine(url, pool_size=1))
    vault = Vault.from_settings(settings)
    try:
        await reseal_event_log(db, vault, clock())
        async with db.transaction() as s:
            if restored := await vault.reapply_erasures(s):
                log.warning("erased people's keys deleted again after a restore", extra={"fields": {
                    "people": restored}})
    finally:
        await db.dispose()


def check_settings(platform: Platform, units: Sequence[ServiceUnit]) -> None:
    """Raises UnsafeProductionSettings when production would run on a development setting."""
    refuse_unsafe_production([platform.settings, *(u.settings for u in units if u.settings is not None)])


async def bootstrap_operator_key(platform: Platform) -> None:
    key = platform.settings.bootstrap_operator_key
    if key:
        await platform.keys.create(role="operator", key=key, label="bootstrap", now=platform.clock())


def build_app(platform: Platform, units: Sequence[ServiceUnit], *, with_routes: bool = True) -> FastAPI:
    """The service's HTTP app; a worker's (`with_routes=False`) answers only /healthz, /readyz and /metrics,
    for its probes and its scraper."""
    async def database_ready() -> bool:
        try:
            async with platform.db.transaction() as s:
                await s.execute(sql("SELECT 1"))
            return True
        except Exception:
            return False

    async def check_key(header: str) -> Principal | tuple[int, str, str]:
        try:
            return await platform.auth.authenticate(header)
        except ProblemError as refused:
            return refused.problem.status, refused.problem.code, refused.problem.detail or refused.problem.title

    names = ", ".join(u.name for u in units)
    app = create_app(
        title=f"Recaudo {names}", service=units[0].name if len(units) == 1 else "platform",
        routers=[r for u in units for r in u.routers] if with_routes else [], readiness=[database_ready],
        description=" ".join(u.description for u in units), max_body_bytes=platform.settings.max_body_bytes,
        body_rules=[r for u in units for r in u.body_rules], check_key=check_key,
    )
    app.state.platform = platform  # module-level routes reach it through recaudo_common.dependencies
    for unit in units:
        for name, value in unit.app_state.items():
            setattr(app.state, name, value)
    return app


def background_tasks(platform: Platform, units: Sequence[ServiceUnit], stop: asyncio.Event) -> list[Worker]:
    s = platform.settings
    tasks: list[Worker] = []
    for unit in units:
        async def relay(stop: asyncio.Event, schema: str = unit.schema) -> None:
            await run_relay(platform.db, platform.transport, schema=schema, prefix=s.topic_prefix,
                            database_url=s.database_url, stop=stop)

        tasks.append(relay)
        for group in unit.subscriptions.by_group() if unit.subscriptions is not None else []:
            runtime = ConsumerRuntime(platform.db, platform.transport, group, s.topic_prefix,
                                      platform.clock, s.consumer_max_retries, s.consumer_retry_backoff_s,
                                      s.inbox_keep)
            tasks.append(runtime.run)
        tasks.extend(unit.workers)
    if s.transport == "postgres" and s.event_log_retention_hours > 0:
        async def retention(stop: asyncio.Event) -> None:
            await run_retention(platform.db, hours=s.event_log_retention_hours, clock=platform.clock, stop=stop)

        tasks.append(retention)
    return tasks


async def _supervise(name: str, worker: Worker, stop: asyncio.Event) -> None:
    """Restarts a background loop that crashed, with backoff, until stop is set."""
    delay = 0.5
    while not stop.is_set():
        started = time.monotonic()
        try:
            await worker(stop)
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if time.monotonic() - started > 60:  # it had been healthy: a fresh failure starts the backoff over
                delay = 0.5
            if is_transient(exc):
                log.warning("background task lost a dependency; restarting", extra={"fields": {
                    "task": name, "error": type(exc).__name__}})
            else:
                log.exception("background task crashed; restarting", extra={"fields": {"task": name}})
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


async def _when_reachable(step: Callable[[], Awaitable[None]], stop: asyncio.Event, patience_s: float = 60) -> None:
    """Runs a startup step, waiting out a broker or database that is restarting (up to `patience_s`), so a
    service started during an outage starts when it ends instead of exiting."""
    deadline = time.monotonic() + patience_s
    delay = 0.5
    while True:
        try:
            await step()
            return
        except Exception as exc:
            if not is_transient(exc) or time.monotonic() > deadline or stop.is_set():
                raise
            log.warning("a dependency is out of reach at startup; waiting", extra={"fields": {
                "error": type(exc).__name__}})
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


def http_config(settings: PlatformSettings, app: FastAPI, *, host: str, port: int) -> uvicorn.Config:
    """The HTTP server of a process: httptools, at most `http_max_concurrency` requests at once, and the client's
    address taken from X-Forwarded-For only when the peer is one of `http_trusted_proxies`."""
    return uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan="off",
                          http="httptools", limit_concurrency=settings.http_max_concurrency,
                          forwarded_allow_ips=list(settings.http_trusted_proxies) or "127.0.0.1")


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: `serve` owns SIGTERM/SIGINT and drains everything."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def settle_garbage_collector() -> None:
    """A service builds its modules, models and pools once, then allocates short-lived objects per event.
    The long-lived ones are set aside (gc.freeze) and the youngest generation may grow larger before a pass,
    so collections stop rescanning a heap that does not change: under load the collector took about a
    sixth of ingest's CPU. Reference cycles are still collected, only less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 50)


async def serve(
    platform: Platform, units: Sequence[ServiceUnit], *, role: Role = "all", host: str = "127.0.0.1",
    port: int = 8000, stop: asyncio.Event | None = None, on_ready: Callable[[], Awaitable[None]] | None = None,
    workers_elsewhere: Collection[str] = (),
) -> None:
    """Runs until SIGTERM/SIGINT (or `stop`): drains consumers and the HTTP server, then returns. In production
    it refuses to start on development settings (UnsafeProductionSettings names each). The units named in
    `workers_elsewhere` serve their API here while another process runs their workers (`recaudo run`)."""
    check_settings(platform, units)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    await _when_reachable(platform.transport.start, stop)
    await _when_reachable(lambda: bootstrap_operator_key(platform), stop)
    settle_garbage_collector()
    tasks: list[asyncio.Task[None]] = []
    if role in ("worker", "all"):
        working_here = [unit for unit in units if unit.name not in workers_elsewhere]
        for i, worker in enumerate(background_tasks(platform, working_here, stop)):
            tasks.append(asyncio.create_task(_supervise(f"worker-{i}", worker, stop)))
    server: uvicorn.Server | None = None
    if port:  # a worker serves its probes and metrics too (port 0: none at all)
        server = _Server(http_config(platform.settings, build_app(platform, units, with_routes=role != "worker"),
                                     host=host, port=port))
        tasks.append(asyncio.create_task(server.serve()))
    if on_ready is not None:
        while server is not None and not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
            await asyncio.sleep(0.05)
        await on_ready()
    await stop.wait()
    if server is not None:
        server.should_exit = True
    await asyncio.wait(tasks, timeout=15)
    for t in tasks:
        t.cancel()
    await platform.transport.stop()
    await platform.db.dispose()
