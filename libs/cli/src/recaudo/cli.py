"""recaudo: serve a service, run the embedded platform, migrate, manage keys, replay DLQs, write the catalogue."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

import click
import httpx
import uvloop
from rich.console import Console
from rich.text import Text

from recaudo.cli_operations import GROUPS, spread_scope
from recaudo.run import PARENT_PID, RunOptions, refuse_unsafe, run_until_stopped
from recaudo.services import BUILDERS, build_units, settings_of, tell_ingest_who_is_served_here
from recaudo.upload import ApiRefused
from recaudo_common.redaction import scrubbed_traceback
from recaudo_common.runtime import make_platform, migrate, serve
from recaudo_common.telemetry import configure_logging, configure_tracing

ALL = list(BUILDERS)


def fail(message: str, code: int = 1) -> NoReturn:
    """One red line on stderr instead of a traceback, then the exit code."""
    Console(stderr=True, highlight=False, soft_wrap=True).print(Text(f"error: {message}", style="red"))
    raise SystemExit(code)


def _refused_connection(exc: BaseException) -> BaseException | None:
    """The connection refused (an API, PostgreSQL, Kafka) somewhere in the exception's causes, if any."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, (ConnectionRefusedError, httpx.ConnectError)):
            return seen
        # for several addresses, one OSError: asyncio says "Connect call failed", uvloop "Connection refused"
        if isinstance(seen, OSError) and ("Connect call failed" in str(seen) or "Connection refused" in str(seen)):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


class FriendlyGroup(click.Group):
    """Turns the errors a person can fix (nothing listening, an API's refusal, a missing file) into one line."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit, KeyboardInterrupt):
            raise
        except ApiRefused as refused:
            fail(f"the API answered {refused.status}: {refused.detail}")
        except FileNotFoundError as missing:
            fail(f"no such file: {missing.filename}")
        except Exception as exc:
            refused_connection = _refused_connection(exc)
            if refused_connection is None:
                raise
            if isinstance(refused_connection, httpx.ConnectError):
                url = refused_connection.request.url
                fail(f"connection refused: nothing answers at {url.scheme}://{url.netloc.decode()}")
            fail(f"connection refused: {refused_connection}")


@click.group(cls=FriendlyGroup, help=__doc__, context_settings={"help_option_names": ["-h", "--help"]})
def recaudo() -> None:
    pass


@recaudo.command("serve", help="run one service, several, or all, with their API and/or their workers")
@click.argument("services", nargs=-1, required=True, type=click.Choice([*ALL, "all"]))
@click.option("--role", type=click.Choice(["api", "worker", "all"]), default="all", show_default=True)
@click.option("--host", envvar="RECAUDO_HOST", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=None,
              help="HTTP port (default 8000); a worker serves only its probes and metrics, when given one")
@click.option("--no-migrate", is_flag=True, help="skip migrations (a Job runs them)")
def serve_command(services: tuple[str, ...], role: str, host: str, port: int | None, no_migrate: bool) -> None:
    # uvloop: the event loop's socket reads and writes in C (a payment is about a dozen round trips, #24).
    uvloop.run(_serve(services, role, host, port, no_migrate))



async def _serve(services: tuple[str, ...], role: str, host: str, port: int | None, no_migrate: bool) -> None:
    names = ALL if "all" in services else list(dict.fromkeys(services))
    service = "all" if "all" in services else "+".join(names)  # what its logs and traces call it
    settings = settings_of(names)
    configure_logging(service, settings.log_level)
    configure_tracing(f"recaudo-{service}", settings.otlp_endpoint, sample_ratio=settings.trace_sample_ratio)
    platform = make_platform(settings)
    tell_ingest_who_is_served_here(names, role)
    units = build_units(platform, names)
    refuse_unsafe(platform, units)
    if not no_migrate:
        await migrate(settings, units)
    port = port if port is not None else (0 if role == "worker" else int(os.environ.get("RECAUDO_PORT", "8000")))
    stop = asyncio.Event()
    orphaned = asyncio.create_task(_stop_when_orphaned(stop))
    try:
        await serve(platform, units, role=role, host=host, port=port, stop=stop)  # type: ignore[arg-type]
    finally:
        orphaned.cancel()


async def _stop_when_orphaned(stop: asyncio.Event) -> None:
    """`recaudo run`'s second process stops if the first is gone without stopping it (killed): it would otherwise
    outlive the database it works on."""
    parent = os.environ.get(PARENT_PID)
    while parent is not None and not stop.is_set():
        if str(os.getppid()) != parent:
            stop.set()
            return
        await asyncio.sleep(1)


@recaudo.command(help="the embedded platform with demo data (make run); Ctrl-C stops all it started")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8000, show_default=True)
@click.option("--pg-port", type=int, default=54329, show_default=True)
@click.option("--data", default=".local", show_default=True)
@click.option("--accounts", type=int, default=6000, show_default=True, help="demo accounts per client company")
@click.option("--no-demo", is_flag=True)
@click.option("--processes", type=click.IntRange(1, 2), default=2, show_default=True,
              help="2: outreach's and reporting's workers in a second process, on the other core")
def run(host: str, port: int, pg_port: int, data: str, accounts: int, no_demo: bool, processes: int) -> None:
    run_until_stopped(RunOptions(host=host, port=port, pg_port=pg_port, data=Path(data), accounts=accounts,
                                 demo=not no_demo, processes=processes))


@recaudo.command("migrate", help=f"bring schemas to their head revisions: of some of {', '.join(ALL)}; all by default")
@click.argument("services", nargs=-1, type=click.Choice(ALL), metavar="[SERVICE ...]")
def migrate_command(services: tuple[str, ...]) -> None:
    asyncio.run(_migrate(list(services) or ALL))


async def _migrate(names: list[str]) -> None:
    settings = settings_of(names)
    platform = make_platform(settings)
    try:
        await migrate(settings, build_units(platform, names))
    finally:
        await platform.db.dispose()
    print("migrated:", ", ".join(names))


@recaudo.command(help="upload a portfolio file and follow its progress")
@click.argument("file")
@click.option("--client", required=True)
@click.option("--mapping-profile")
@click.option("--as-of", help="YYYY-MM-DD: the date the file's days past due refer to")
@click.option("--sheet", help="XLSX sheet (the first by default)")
@click.option("--url", envvar="RECAUDO_API_URL", default="http://127.0.0.1:8000", show_default=True)
@click.option("--key", help="API key (default: RECAUDO_API_KEY)")
def upload(file: str, client: str, mapping_profile: str | None, as_of: str | None, sheet: str | None, url: str,
           key: str | None) -> None:
    from recaudo.upload import upload as send

    key = key or os.environ.get("RECAUDO_API_KEY")
    if not key:
        fail("give --key or set RECAUDO_API_KEY", code=2)
    path = Path(file)
    if not path.is_file():
        fail(f"no such file: {file}")
    raise SystemExit(asyncio.run(send(base_url=url, key=key, path=path, client=client,
                                      mapping_profile=mapping_profile, as_of=as_of, sheet=sheet)))


@recaudo.group(help="deployment files")
def deploy() -> None:
    pass


@deploy.command("k8s", help="regenerate deploy/k8s from the code (services, topics, routes, settings)")
@click.option("--root", default=".", show_default=True, help="the repository's root")
def deploy_k8s(root: str) -> None:
    from recaudo.deploy import write

    for rel in write(Path(root)):
        print(f"deploy/k8s/{rel}")


@recaudo.command(help="write the event catalogue (Markdown)")
@click.option("--out", help="the file to write (default: standard output)")
def catalogue(out: str | None) -> None:
    from recaudo.catalogue import render

    text = render() + "\n"
    if out:
        Path(out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


for group in GROUPS:
    recaudo.add_command(group)


def main(argv: list[str] | None = None) -> None:
    args = spread_scope(sys.argv[1:] if argv is None else argv)
    try:
        recaudo.main(args=args, prog_name="recaudo")
    except Exception as exc:
        # What Python would print, but each message without its values: a setting refused at startup quotes the
        # secret it was given (pydantic's input_value), a database error its row and parameters; stderr is the
        # pod's log. The frames, the classes and what is wrong (a setting's name, a SQLSTATE) stay.
        sys.stderr.write(scrubbed_traceback(exc) + "\n")
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
