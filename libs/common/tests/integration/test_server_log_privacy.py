"""PostgreSQL's own log keeps no personal data: the embedded server (`make run`, the tests, the benchmarks) is
started with recaudo_common.postgres_logging's settings, and a unique violation and a failing statement that carry
a debtor's id number and e-mail leave neither value in its server.log, while the errors themselves are logged."""

import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from recaudo_common import embedded_pg
from recaudo_common.local_ports import free_port
from recaudo_common.testing import IN_CI, eventually

pytestmark = pytest.mark.integration

ID_NUMBER, EMAIL = "7301928465", "zulema.quintero.7301@example.co"
# The same mistakes with these values, in a session that puts PostgreSQL's defaults back: they must be logged,
# so the log is read and the test would fail without the settings.
CONTROL_ID_NUMBER, CONTROL_EMAIL = "6209384751", "control.6209@example.co"


class Server:
    def __init__(self, data: Path, port: int) -> None:
        self.data, self.port = data, port

    @property
    def log(self) -> str:
        return (self.data / "pgdata" / "server.log").read_text(errors="replace")

    async def connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(host="127.0.0.1", port=self.port, user="postgres", database="recaudo")


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    # not under pytest's tmp_path: concurrent pytest runs reset its root to 0700, which the server's user can't cross
    data, port = Path(tempfile.mkdtemp(prefix="recaudo-server-log-")), free_port()
    try:
        embedded_pg.start(data, port=port, database="recaudo", fast=True)
        yield Server(data, port)
    except embedded_pg.EmbeddedPostgresMissing as missing:
        if IN_CI:  # under CI a test that cannot have its real PostgreSQL fails, never skips
            pytest.fail(str(missing))
        pytest.skip(f"{missing} [skipped outside CI only]")
    finally:
        embedded_pg.stop(data)
        shutil.rmtree(data, ignore_errors=True)


async def make_mistakes(conn: asyncpg.Connection, id_number: str, email: str) -> None:
    # a unique violation on a bound parameter: DETAIL "Key (id_number)=(...) already exists", and the parameters
    await conn.execute("INSERT INTO debtor (id_number, email, name) VALUES ($1, $2, 'Z')", id_number, email)
    with pytest.raises(asyncpg.UniqueViolationError):
        await conn.execute("INSERT INTO debtor (id_number, email, name) VALUES ($1, $2, 'Z')", id_number, email)
    # a failing statement with literals: its text, and DETAIL "Failing row contains (...)"
    with pytest.raises(asyncpg.NotNullViolationError):
        await conn.execute(f"INSERT INTO debtor (id_number, email, name) VALUES ('9{id_number}', '{email}', NULL)")


async def test_errors_on_personal_data_leave_no_value_in_the_server_log(server: Server) -> None:
    conn = await server.connect()
    try:
        await conn.execute("CREATE TABLE debtor (id_number text UNIQUE, email text, name text NOT NULL)")
        await make_mistakes(conn, ID_NUMBER, EMAIL)
        settings = dict(await conn.fetch(
            "SELECT name, setting FROM pg_settings WHERE name LIKE 'log%' OR name LIKE '%preload_libraries'"))
    finally:
        await conn.close()
    assert settings["log_error_verbosity"] == "terse"
    assert settings["log_min_error_statement"] == "panic"
    assert settings["log_parameter_max_length"] == settings["log_parameter_max_length_on_error"] == "0"
    assert settings["log_statement"] == "none"
    assert "auto_explain" not in settings["shared_preload_libraries"] + settings["session_preload_libraries"]

    async def both_errors_logged() -> bool:
        log = server.log
        return "duplicate key value violates unique constraint" in log and "violates not-null constraint" in log

    await eventually(both_errors_logged, timeout_s=10, message="the errors in server.log")
    assert ID_NUMBER not in server.log
    assert EMAIL not in server.log


async def test_without_the_settings_the_same_errors_would_print_the_values(server: Server) -> None:
    conn = await server.connect()
    try:
        await conn.execute("CREATE TABLE debtor (id_number text UNIQUE, email text, name text NOT NULL)")
        # quoted: the enum value 'default'; bare DEFAULT would mean the server's start value, terse
        await conn.execute("SET log_error_verbosity = 'default'; SET log_min_error_statement = 'error'")
        await make_mistakes(conn, CONTROL_ID_NUMBER, CONTROL_EMAIL)
    finally:
        await conn.close()

    async def values_logged() -> bool:
        return CONTROL_ID_NUMBER in server.log and CONTROL_EMAIL in server.log

    await eventually(values_logged, timeout_s=10, message="PostgreSQL's defaults print the key and the statement")
    assert f"Key (id_number)=({CONTROL_ID_NUMBER}) already exists" in server.log
