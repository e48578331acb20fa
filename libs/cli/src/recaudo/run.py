"""`recaudo run` (what `make run` starts): embedded PostgreSQL, the postgres transport, all five services in two
processes, demo data, the banner; on Ctrl-C (SIGINT) or SIGTERM it stops what it started, the second process and
the embedded PostgreSQL included."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import secrets
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import uvloop

from recaudo.services import BUILDERS, build_units, tell_ingest_who_is_served_here
from recaudo_common.runtime import Platform, ServiceUnit, check_settings, make_platform, migrate, serve, system_clock
from recaudo_common.settings import PlatformSettings, UnsafeProductionSettings
from recaudo_common.telemetry import configure_logging, configure_tracing


@dataclass(frozen=True)
class RunOptions:
    host: str
    port: int
    pg_port: int
    data: Path
    accounts: int
    demo: bool
    processes: int = 2


# The services whose consumers and workers run in the second process, so the embedded default works on both cores
# (#24): outreach and reporting, about 45 % of the pipeline's CPU (docs/benchmarks.md, CPU by process); their
# APIs stay in the first process with everything else, as a worker Deployment and an API one split them in
# Kubernetes. On the postgres transport one member of a consumer group reads at a time, so nothing runs twice.
SECOND_PROCESS = ("outreach", "reporting")
PARENT_PID = "RECAUDO_RUN_PARENT_PID"  # the second process stops when the first is gone (see cli._serve)


def refuse_unsafe(platform: Platform, units: list[ServiceUnit]) -> None:
    """Production on development settings: one line per offending setting on stderr, then exit 78 (EX_CONFIG),
    before any migration or connection."""
    try:
        check_settings(platform, units)
    except UnsafeProductionSettings as refused:
        print(f"error: refusing to start in production: {len(refused.problems)} unsafe setting(s)", file=sys.stderr)
        for problem in refused.problems:
            print(f"  {problem}", file=sys.stderr)
        raise SystemExit(78) from None


def run_until_stopped(options: RunOptions) -> None:
    try:
        uvloop.run(_run(options))  # as `recaudo serve` (cli.serve_command)
    except (KeyboardInterrupt, asyncio.CancelledError):  # stopped before it was serving: cleaned up already
        raise SystemExit(130) from None


async def _run(options: RunOptions) -> None:
    import recaudo_common.embedded_pg as embedded_pg

    # SIGTERM before `serve` takes the signals over ends this task as Ctrl-C does, so the cleanup below runs
    main_task = asyncio.current_task()
    if main_task is not None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    started_postgres = False
    try:
        if not any(os.environ.get(name) for name in PlatformSettings.variables_of("database_url")):
            print("starting embedded PostgreSQL ...", flush=True)
            # one already listening there is someone else's: only a server this command starts is stopped at the end
            fresh = not embedded_pg.is_listening(options.pg_port)
            try:
                url = await asyncio.to_thread(embedded_pg.start, options.data / "postgres", port=options.pg_port)
            except embedded_pg.EmbeddedPostgresMissing as missing:
                print(f"error: {missing}", file=sys.stderr)
                raise SystemExit(1) from None
            started_postgres = fresh
            os.environ["RECAUDO_DATABASE_URL"] = url
        await _run_platform(options)
    finally:
        if started_postgres:
            print("stopping embedded PostgreSQL ...", flush=True)
            await asyncio.to_thread(_stop_postgres, options.data / "postgres")


def _stop_postgres(folder: Path) -> None:
    """A fast shutdown; if the server is still there after it, an immediate one (crash recovery at next start)."""
    import recaudo_common.embedded_pg as embedded_pg

    said = [embedded_pg.stop(folder)]
    if (folder / "pgdata" / "postmaster.pid").exists():
        said.append(embedded_pg.stop(folder, mode="immediate"))
    if (folder / "pgdata" / "postmaster.pid").exists():
        why = " / ".join(s for s in said if s) or "pg_ctl said nothing"
        print(f"warning: embedded PostgreSQL is still running ({why}); stop it with: python -m "
              f"recaudo_common.embedded_pg stop --data {folder}", file=sys.stderr, flush=True)


async def _run_platform(options: RunOptions) -> None:
    """All five services on the database `run` chose, until SIGINT/SIGTERM."""
    from recaudo import demo

    os.environ.setdefault("RECAUDO_TRANSPORT", "postgres")
    keys_file = options.data / "demo-keys.json"
    keys: dict[str, str] = json.loads(keys_file.read_text()) if keys_file.exists() else {}
    operator_key = os.environ.get("RECAUDO_BOOTSTRAP_OPERATOR_KEY") or keys.get("operator") or \
        "rk_demo_operator_" + secrets.token_urlsafe(16)
    os.environ["RECAUDO_BOOTSTRAP_OPERATOR_KEY"] = operator_key
    settings = PlatformSettings()
    configure_logging("platform", settings.log_level)
    configure_tracing("recaudo-platform", settings.otlp_endpoint, sample_ratio=settings.trace_sample_ratio)
    platform = make_platform(settings, pool_size=20)
    tell_ingest_who_is_served_here(list(BUILDERS), "all")
    units = build_units(platform, list(BUILDERS))
    refuse_unsafe(platform, units)
    await migrate(settings, units)
    base_url = f"http://{options.host}:{options.port}"
    stop = asyncio.Event()
    background: list[asyncio.Task[None]] = []

    async def ready() -> None:
        keys["operator"] = operator_key
        if options.demo:
            refs = await demo.load(base_url, operator_key, accounts_per_client=options.accounts,
                                   today=dt.datetime.now(dt.UTC).date())
            for client in demo.DEMO_CLIENTS:
                name = f"client:{client['slug']}"
                if name not in keys:
                    _, keys[name] = await platform.keys.create(role="client", client_slug=client["slug"],
                                                               label="demo", now=system_clock())
            if "sre" not in keys:
                _, keys["sre"] = await platform.keys.create(role="sre", label="demo", now=system_clock())
            background.append(asyncio.create_task(demo.pay_over_time(base_url, operator_key, refs, stop=stop)))
        await asyncio.to_thread(_save_keys, keys_file, keys)
        _print_banner(base_url, keys)

    elsewhere = SECOND_PROCESS if options.processes > 1 else ()
    # Started once the schemas are migrated (the second process leaves them alone); it ends, stopping its process,
    # when `stop` is set: awaited, not cancelled, so the process is gone before the database is stopped.
    second = asyncio.create_task(second_process(elsewhere, stop)) if elsewhere else None
    try:
        await serve(platform, units, role="all", host=options.host, port=options.port, stop=stop, on_ready=ready,
                    workers_elsewhere=elsewhere)
    finally:
        stop.set()  # the demo's payments and the second process stop with the platform
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        if second is not None:
            await second


async def second_process(services: tuple[str, ...], stop: asyncio.Event) -> None:
    """Runs these services' workers in a child process until `stop` (then SIGTERM, and SIGKILL after 20 s), started
    again if it dies (after a second, doubling up to 30 while it keeps dying within a minute). Its own session: a
    Ctrl-C in the terminal reaches this process, which stops it in order, before the database."""
    delay = 1.0
    while not stop.is_set():
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "recaudo.cli", "serve", *services, "--role", "worker", "--port", "0",
            "--no-migrate", env={**os.environ, PARENT_PID: str(os.getpid())}, start_new_session=True)
        started = time.monotonic()
        stopping, exited = asyncio.create_task(stop.wait()), asyncio.create_task(child.wait())
        await asyncio.wait({stopping, exited}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if child.returncode is None:  # stopping
            child.terminate()
            try:
                await asyncio.wait_for(asyncio.shield(exited), 20)
            except TimeoutError:
                child.kill()
                await exited
            return
        if stop.is_set():
            return
        print(f"the second process ({', '.join(services)} workers) exited with {child.returncode}; starting it again",
              file=sys.stderr, flush=True)
        delay = 1.0 if time.monotonic() - started > 60 else min(delay * 2, 30.0)
        try:
            await asyncio.wait_for(stop.wait(), delay)
        except TimeoutError:
            pass


def _save_keys(path: Path, keys: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(keys, indent=2))


def _print_banner(base_url: str, keys: dict[str, str]) -> None:
    lines = [
        "", "Recaudo is running (embedded PostgreSQL, postgres transport).", "",
        f"  API base URL   {base_url}/v1", f"  OpenAPI docs   {base_url}/docs", f"  Metrics        {base_url}/metrics",
        "", "  Demo API keys (Authorization: Bearer <key>):",
    ]
    lines += [f"    {name:<24} {key}" for name, key in keys.items()]
    lines += ["", "  Try:",
              f"    curl -H 'Authorization: Bearer {keys.get('client:banco-andino', keys['operator'])}' \\",
              f"      '{base_url}/v1/clients/banco-andino/reports/recovery?group_by=bucket'", "",
              "  Stop with Ctrl-C.", ""]
    print("\n".join(lines), flush=True)
