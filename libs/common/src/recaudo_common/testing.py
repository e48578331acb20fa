"""Pytest fixtures shared by every service's tests: real PostgreSQL, real Kafka, a running platform.

Under CI=true a test that cannot reach its broker or database fails; it is never skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest
import sqlalchemy.event

from recaudo_common.bus.base import Message, Subscriber
from recaudo_common.db import Database, asyncpg_dsn
from recaudo_common.events import dlq_topic, group_id
from recaudo_common.local_ports import free_port
from recaudo_common.personal_data import PersonalData, Vault, seal
from recaudo_common.runtime import Platform, make_platform
from recaudo_common.settings import PlatformSettings

T = TypeVar("T")
IN_CI = os.environ.get("CI", "").lower() == "true"
REPOSITORY_ROOT = Path(__file__).resolve().parents[4]
TEST_SIZES = ("bounded", "full")


def sized(bounded: int, full: int) -> int:
    """A heavy test's size: `bounded` under `make test` (so the suite stays under 20 minutes on two cores),
    `full` under `make test-full` (RECAUDO_TEST_SIZE=full). Each heavy test still proves its property bounded."""
    chosen = os.environ.get("RECAUDO_TEST_SIZE", "bounded")
    if chosen not in TEST_SIZES:  # a typo must not quietly run the small size
        raise ValueError(f"RECAUDO_TEST_SIZE={chosen!r}: expected one of {', '.join(TEST_SIZES)}")
    return full if chosen == "full" else bounded


async def relay_all(platform: Platform, schema: str) -> int:
    """Publishes everything in `schema`'s outbox, as its relay would, and says how many events went."""
    from recaudo_common.bus.relay import relay_once

    moved = 0
    while n := await relay_once(platform.db, platform.transport, schema=schema, prefix=platform.settings.topic_prefix):
        moved += n
    return moved


async def read_and_commit(platform: Platform, group: str, topic: str, count: int, timeout_s: float = 60) -> None:
    """Consumer group `group` reads `count` records of `topic` and commits them, as a reader that got that far."""
    subscriber = platform.transport.subscriber(group, [topic])
    await subscriber.start()
    try:
        read: list[Message] = []
        deadline = time.monotonic() + timeout_s
        while len(read) < count:
            assert time.monotonic() < deadline, len(read)
            read += await subscriber.fetch(max_records=count - len(read), timeout_s=0.5)
        await subscriber.commit(read)
    finally:
        await subscriber.stop()


def required_env(name: str, what: str) -> str:
    value = os.environ.get(name)
    if not value:
        message = f"{name} is not set: this test needs a real {what} (scripts/test.sh starts one)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message + " [skipped outside CI only]")
    return value


async def sealed_person(db: Database, vault: Vault, client: str, data: PersonalData,
                        now: dt.datetime) -> tuple[uuid.UUID, str]:
    """What ingest does for an account's debtor: the person of `data`'s id number at `client` (found, or created in
    the vault) and their data sealed with their key, the `debtor_ref` and `personal` an account event carries."""
    async with db.transaction() as s:
        person = await vault.person_for(s, client, data.id_number, now)
    return person.debtor_ref, seal(person.key, client, person.debtor_ref, data)


@contextlib.contextmanager
def statements_run(db: Database, containing: str) -> Iterator[list[tuple[str, Any]]]:
    """The statements, with their parameters, that the code under test runs on `db` inside the block and that
    contain `containing`: for a test of the plan PostgreSQL makes of them (`plan_of`)."""
    seen: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if containing in statement:
            seen.append((statement, parameters))

    engine = db.engine.sync_engine
    sqlalchemy.event.listen(engine, "before_cursor_execute", capture)
    try:
        yield seen
    finally:
        sqlalchemy.event.remove(engine, "before_cursor_execute", capture)


async def plan_of(db: Database, statement: str, parameters: Any) -> str:
    """PostgreSQL's plan of a captured statement with its parameters (EXPLAIN, not run), as JSON text."""
    async with db.transaction() as s:
        driver = (await (await s.connection()).get_raw_connection()).driver_connection
        assert driver is not None
        plan = await driver.fetchval(f"EXPLAIN (FORMAT JSON) {statement}", *parameters)
    return json.dumps(plan)


def _with_database(url: str, database: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{database}"


async def eventually(check: Callable[[], Awaitable[T]], *, timeout_s: float = 60.0, interval_s: float = 0.2,
                     message: str = "condition") -> T:
    """Polls `check` until it returns a truthy value, or fails after a generous deadline."""
    deadline = time.monotonic() + timeout_s
    last: T | None = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval_s)
    raise AssertionError(f"{message} not reached within {timeout_s}s (last value: {last!r})")


@contextlib.asynccontextmanager
async def serving_app(app: Any) -> AsyncIterator[str]:
    """Serves an ASGI app (a provider's local fake, a trace collector) on a free local port in this event loop;
    yields its base URL once it accepts connections, and stops it on the way out."""
    import uvicorn  # the test tools only: the services never serve an app this way

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        return bool(server.started)

    try:
        await eventually(started, timeout_s=10, message="the local server started")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@dataclass
class DeadLetters:
    """What reached one topic's dead-letter topic while a test watched (`dead_letters`)."""

    subscriber: Subscriber
    letters: list[Message] = field(default_factory=list)

    async def arrived(self) -> bool:
        """Fetches what came since; whether any letter has (a check for `eventually`)."""
        self.letters.extend(await self.subscriber.fetch(max_records=10, timeout_s=0.5))
        return bool(self.letters)


@contextlib.asynccontextmanager
async def dead_letters(platform: Platform, topic: str) -> AsyncIterator[DeadLetters]:
    """Reads `topic`'s dead letters while the block runs."""
    reader = group_id(platform.settings.topic_prefix, "dlq-reader")
    subscriber = platform.transport.subscriber(reader, [dlq_topic(topic)])
    await subscriber.start()
    try:
        yield DeadLetters(subscriber)
    finally:
        await subscriber.stop()


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    return required_env("RECAUDO_DATABASE_URL", "PostgreSQL server")


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    return required_env("RECAUDO_KAFKA_BOOTSTRAP", "Kafka broker")


async def create_database(server_url: str, name: str, template: str | None = None) -> str:
    conn = await asyncpg.connect(asyncpg_dsn(server_url))
    try:
        suffix = f' TEMPLATE "{template}"' if template else ""
        await conn.execute(f'CREATE DATABASE "{name}"{suffix}')
    finally:
        await conn.close()
    return _with_database(server_url, name)


async def drop_database(server_url: str, name: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(server_url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def template_database(postgres_server_url: str) -> AsyncIterator[str]:
    """One database migrated to head for every schema; each test copies it (CREATE DATABASE ... TEMPLATE)."""
    from recaudo_common.migrate import upgrade_async, upgrade_platform

    name = f"recaudo_template_{uuid.uuid4().hex[:8]}"
    url = await create_database(postgres_server_url, name)
    await upgrade_platform(url)
    root = REPOSITORY_ROOT
    for service in ("ingest", "segmentation", "outreach", "payments", "reporting"):
        await upgrade_async(schema=service, script_location=root / "services" / service / "migrations",
                            database_url=url)
    yield name
    await drop_database(postgres_server_url, name)


@pytest.fixture
async def database_url(postgres_server_url: str, template_database: str) -> AsyncIterator[str]:
    """A fresh, fully migrated database for one test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    url = await create_database(postgres_server_url, name, template=template_database)
    yield url
    await drop_database(postgres_server_url, name)


def settings_for_test(database_url: str, *, transport: str = "postgres", kafka_bootstrap: str = "127.0.0.1:19092",
                  **overrides: Any) -> PlatformSettings:
    return PlatformSettings(
        database_url=database_url, transport=transport, kafka_bootstrap=kafka_bootstrap,
        topic_prefix=f"t{uuid.uuid4().hex[:10]}", environment="test", consumer_retry_backoff_s=0.05,
        **overrides,
    )


@pytest.fixture(params=["postgres", "kafka"])
async def platform_on_each_transport(request: pytest.FixtureRequest, database_url: str) -> AsyncIterator[Platform]:
    """A started platform (fresh database, its own topic prefix) once per transport: a test using it runs twice."""
    transport = request.param
    bootstrap = request.getfixturevalue("kafka_bootstrap") if transport == "kafka" else "unused:1"
    platform = make_platform(settings_for_test(database_url, transport=transport, kafka_bootstrap=bootstrap),
                             pool_size=5)
    await platform.transport.start()
    yield platform
    await platform.transport.stop()
    await platform.db.dispose()


@dataclass
class RunningProcess:
    """A `recaudo` command running as its own OS process, which a test may kill and restart."""

    args: list[str]
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = field(default=0)

    def start(self) -> None:
        self.starts += 1
        with self.log_path.open("ab") as log:  # the child keeps its own copy of the descriptor
            log.write(f"--- start {self.starts}\n".encode())
            log.flush()
            self.process = subprocess.Popen([sys.executable, "-m", "recaudo.cli", *self.args], env=self.env,
                                            stdout=log, stderr=subprocess.STDOUT)

    def exited(self) -> int | None:
        """The exit code if the process has ended (by itself or killed), else None."""
        return self.process.poll() if self.process is not None else None

    def kill(self) -> None:
        """SIGKILL: no cleanup, no drain, as a crashed node."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""


def platform_env(settings: PlatformSettings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECAUDO_")}
    env.update({
        "RECAUDO_DATABASE_URL": settings.database_url, "RECAUDO_TRANSPORT": settings.transport,
        "RECAUDO_KAFKA_BOOTSTRAP": settings.kafka_bootstrap, "RECAUDO_TOPIC_PREFIX": settings.topic_prefix,
        "RECAUDO_ENVIRONMENT": "test", "RECAUDO_CONSUMER_RETRY_BACKOFF_S": "0.05",
        "RECAUDO_LOG_LEVEL": os.environ.get("RECAUDO_TEST_LOG_LEVEL", "WARNING"),
    })
    env.update(extra)
    return env


async def database_rows(url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    """A query's rows from the database at `url`, on a connection of its own (a platform in another process)."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return list(await conn.fetch(query, *args))
    finally:
        await conn.close()


@dataclass
class RunningPlatform:
    base_url: str
    operator_key: str
    settings: PlatformSettings
    process: RunningProcess

    def client(self, key: str | None = None) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, timeout=30,
                                 headers={"Authorization": f"Bearer {key or self.operator_key}"})


async def wait_ready(base_url: str, process: RunningProcess, timeout_s: float = 90) -> None:
    # One client for every probe: a new one each 0.2 s (TLS context and all) takes CPU from the starting process.
    async with httpx.AsyncClient(timeout=2) as http:
        async def ready() -> bool:
            if process.process is not None and process.process.poll() is not None:
                raise AssertionError(f"platform exited early:\n{process.log_tail()}")
            try:
                return (await http.get(f"{base_url}/readyz")).status_code == 200
            except httpx.HTTPError:
                return False

        await eventually(ready, timeout_s=timeout_s, message="platform ready")



@contextlib.asynccontextmanager
async def platform_process(settings: PlatformSettings, log_dir: Path, operator_key: str,
                           **env: str) -> AsyncIterator[RunningPlatform]:
    """The whole platform (`recaudo serve all`) as its own process on a free port, reachable at its public URL."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    process = RunningProcess(["serve", "all", "--role", "all", "--port", str(port)],
                             platform_env(settings, RECAUDO_BOOTSTRAP_OPERATOR_KEY=operator_key,
                                          RECAUDO_PUBLIC_URL=base_url, **env), log_dir / "platform.log")
    process.start()
    try:
        await wait_ready(base_url, process)
        yield RunningPlatform(base_url, operator_key, settings, process)
    finally:
        process.stop()


@contextlib.asynccontextmanager
async def platform_in_own_database(server_url: str, template: str, name: str, log_dir: Path,
                                   operator_key: str, **env: str) -> AsyncIterator[RunningPlatform]:
    """The whole platform as its own process on a database of its own (for a module's worth of tests)."""
    name = f"{name}_{uuid.uuid4().hex[:8]}"  # two runs at once (two developers' shells) must not meet
    url = await create_database(server_url, name, template=template)
    try:
        async with platform_process(settings_for_test(url), log_dir, operator_key, **env) as platform:
            yield platform
    finally:
        await drop_database(server_url, name)


@dataclass(frozen=True)
class StreamedAnswer:
    status: int
    headers: dict[str, str]
    body: bytes
    sent: int  # body bytes the client managed to send before the answer came


async def stream_request(base_url: str, method: str, path: str, headers: dict[str, str], body: AsyncIterator[bytes],
                         *, chunked: bool = True, length: int | None = None,
                         timeout_s: float = 60) -> StreamedAnswer:
    """Sends a body for as long as the server takes it, reading the answer at the same time, as a browser or curl
    does (httpx and requests send the whole body before they read a byte): a server that answers early and closes
    is heard, and `sent` says how much it let through. The server may refuse with the body half sent."""
    url = httpx.URL(base_url)
    reader, writer = await asyncio.open_connection(url.host, url.port)
    head = [f"{method} {path} HTTP/1.1", f"Host: {url.host}:{url.port}", *(f"{k}: {v}" for k, v in headers.items()),
            "Transfer-Encoding: chunked" if chunked else f"Content-Length: {length}"]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode("utf-8"))
    answer = asyncio.create_task(_read_answer(reader))
    sent, deadline = 0, time.monotonic() + timeout_s
    try:
        async for data in body:
            if answer.done() or time.monotonic() > deadline:
                break
            writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n" if chunked else data)
            try:
                await asyncio.wait_for(writer.drain(), 2)
            except TimeoutError:
                break  # the server stopped reading: its answer is on the way
            sent += len(data)
        else:
            if chunked:
                writer.write(b"0\r\n\r\n")
    except (ConnectionError, OSError):
        pass
    try:
        status, answer_headers, content = await asyncio.wait_for(answer, 30)
    finally:
        with contextlib.suppress(Exception):
            writer.close()
    return StreamedAnswer(status, answer_headers, content, sent)


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v for k, _, v in (line.partition(": ") for line in lines[1:] if line)}
    return int(lines[0].split()[1]), headers, await reader.readexactly(int(headers.get("content-length", "0")))


async def place_portfolio(http: httpx.AsyncClient, slug: str, content: bytes, accounts: int) -> dict[str, Any]:
    """Uploads a CSV portfolio and waits until the recovery report counts its accounts; returns the upload."""
    upload = await http.post(f"/v1/clients/{slug}/portfolios", files={"file": ("cartera.csv", content, "text/csv")})
    assert upload.status_code == 202, upload.text

    async def placed() -> bool:
        answer = await http.get(f"/v1/clients/{slug}/reports/recovery")
        return answer.status_code == 200 and answer.json()["totals"]["accounts_placed"] == accounts

    await eventually(placed, timeout_s=90, message=f"{accounts} accounts of {slug} placed")
    return dict(upload.json())
