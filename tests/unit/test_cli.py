"""The `recaudo` command on click: every command answers --help, and what a person can fix (nothing listening,
the API's refusal, a missing file) is one red line and exit code 1, never a traceback."""

import json
import os
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from recaudo.cli import main, recaudo
from recaudo.cli_operations import spread_scope
from recaudo_common.local_ports import free_port
from recaudo_common.testing import REPOSITORY_ROOT


def every_command(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in group.commands.items():
        yield (*path, name)
        if isinstance(command, click.Group):
            yield from every_command(command, (*path, name))


COMMANDS = list(every_command(recaudo))


@pytest.mark.unit
def test_the_commands_the_readme_and_the_runbooks_use_are_there() -> None:
    for expected in [("serve",), ("run",), ("migrate",), ("keys", "create"), ("keys", "list"), ("dlq", "replay"),
                     ("kafka", "reseal"), ("upload",), ("aging", "run"), ("model", "train"),
                     ("reporting", "rebuild"), ("deploy", "k8s"), ("catalogue",)]:
        assert expected in COMMANDS


@pytest.mark.unit
@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_answers_help(command: tuple[str, ...]) -> None:
    result = CliRunner().invoke(recaudo, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Usage: recaudo {' '.join(command)}")


@pytest.mark.unit
def test_serve_and_run_keep_their_options() -> None:
    serve = CliRunner().invoke(recaudo, ["serve", "--help"]).output
    for option in ("--role", "--host", "--port", "--no-migrate"):
        assert option in serve
    run = CliRunner().invoke(recaudo, ["run", "--help"]).output
    for option in ("--host", "--port", "--pg-port", "--data", "--accounts", "--no-demo"):
        assert option in run


@pytest.mark.unit
def test_scope_takes_several_slugs_after_one_flag_as_before() -> None:
    assert spread_scope(["keys", "create", "--role", "operator", "--scope", "a", "b", "--label", "x"]) == [
        "keys", "create", "--role", "operator", "--scope", "a", "--scope", "b", "--label", "x"]


@pytest.mark.unit
def test_an_unknown_choice_is_a_usage_error() -> None:
    result = CliRunner().invoke(recaudo, ["keys", "create", "--role", "king"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


@pytest.mark.unit
def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(recaudo, ["upload", str(tmp_path / "cartera.csv"), "--client", "c", "--key", "k"])
    assert result.exit_code == 1
    assert result.output.strip() == f"error: no such file: {tmp_path / 'cartera.csv'}"


@pytest.mark.unit
def test_no_key_is_one_line(tmp_path: Path) -> None:
    result = CliRunner(env={"RECAUDO_API_KEY": ""}).invoke(recaudo, ["upload", "f.csv", "--client", "c"])
    assert result.exit_code == 2
    assert result.output.strip() == "error: give --key or set RECAUDO_API_KEY"


@pytest.fixture
def portfolio(tmp_path: Path) -> Path:
    path = tmp_path / "cartera.csv"
    path.write_text("Cuenta;Saldo\nA-1;10\n", encoding="utf-8")
    return path


@pytest.mark.integration
def test_nothing_listening_is_one_line(portfolio: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(recaudo, ["upload", str(portfolio), "--client", "c", "--key", "k", "--url", url])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: connection refused"), result.output


@pytest.mark.integration
def test_no_database_is_one_line() -> None:
    url = f"postgresql+asyncpg://recaudo@127.0.0.1:{free_port()}/recaudo"
    result = CliRunner(env={"RECAUDO_DATABASE_URL": url}).invoke(recaudo, ["keys", "list"])
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: connection refused"), result.output


class Refusing(BaseHTTPRequestHandler):
    """An API that answers every upload with a problem: the client company does not exist."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        body = json.dumps({"type": "about:blank", "title": "Not Found", "status": 404,
                           "detail": "client company 'c' not found"}).encode()
        self.send_response(404)
        self.send_header("Content-Type", "application/problem+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.mark.integration
def test_the_apis_refusal_is_one_line_with_its_code_and_detail(portfolio: Path) -> None:
    server = HTTPServer(("127.0.0.1", 0), Refusing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        result = CliRunner().invoke(recaudo, ["upload", str(portfolio), "--client", "c", "--key", "k", "--url", url])
    finally:
        server.shutdown()
        server.server_close()
    assert result.exit_code == 1
    assert result.output.strip() == "error: the API answered 404: client company 'c' not found"


class Processing(BaseHTTPRequestHandler):
    """An API that takes the upload and processes it over three polls."""

    polls = 0

    def answer(self, code: int, status: str, progress: float) -> None:
        body = json.dumps({"id": "u-1", "status": status, "progress": progress, "rows_total": 3000,
                           "rows_accepted": 2999, "rows_rejected": 1, "rows_with_warnings": 0,
                           "counts_by_code": {"missing_debtor_id": 1}}).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.answer(202, "queued", 0.0)

    def do_GET(self) -> None:
        Processing.polls += 1
        self.answer(200, "processing" if Processing.polls < 3 else "completed", Processing.polls / 3)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.mark.integration
def test_upload_follows_the_progress_to_the_counts(portfolio: Path) -> None:
    server = HTTPServer(("127.0.0.1", 0), Processing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        result = CliRunner().invoke(recaudo, ["upload", str(portfolio), "--client", "c", "--key", "k", "--url", url])
    finally:
        server.shutdown()
        server.server_close()
    assert result.exit_code == 0, result.output
    assert "100.0% of 3,000 rows in" in result.output and "rows/s)" in result.output
    assert "upload u-1: completed" in result.output
    assert "rows 3,000: accepted 2,999, rejected 1, with warnings 0" in result.output


def failure_of(argv: list[str], capfd: pytest.CaptureFixture[str]) -> tuple[int | str | None, str]:
    """What `recaudo ARGV` exits with and writes, run in this process through the console script's own entry point
    (main, which `python -m recaudo.cli` and the `recaudo` script call): a process of its own would only add its
    interpreter's start-up, since main writes the traceback itself. capfd sees file descriptors 1 and 2, so anything
    a handler or a library wrote to the real stderr is read too."""
    with pytest.raises(SystemExit) as exited:
        main(argv)
    out, err = capfd.readouterr()
    return exited.value.code, out + err


@pytest.mark.unit
def test_a_command_that_fails_says_what_failed_without_the_values_it_was_given(
        monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
    # A setting the service refuses at startup (here a gateway's webhook secret written as an object) made Python
    # print pydantic's error, with the secret as its input value, to the stderr a pod's log collects.
    secret = "prod_events_Zx81qA9w"
    for variable in [k for k in os.environ if k.startswith("RECAUDO_PAYMENTS_")]:
        monkeypatch.delenv(variable)
    monkeypatch.setenv("RECAUDO_PAYMENTS_WEBHOOK_SECRETS", json.dumps({"wompi": {"events": secret}}))
    serve = ["serve", "payments", "--port", "0", "--no-migrate"]
    code, written = failure_of(serve, capfd)
    assert code == 1, (code, written[-2000:])
    assert secret not in written, written[-2000:]
    # What failed and where stays readable: the error's class, the setting and what is wrong with it, the frames.
    assert "ValidationError" in written and "webhook_secrets.wompi" in written, written[-2000:]
    assert "Traceback (most recent call last)" in written
    # A setting that does not parse at all is named too (its value never was).
    monkeypatch.setenv("RECAUDO_VAULT_PREVIOUS_MASTER_KEYS", secret)
    code, written = failure_of(serve, capfd)
    assert code == 1 and secret not in written, written[-2000:]
    assert 'SettingsError: error parsing value for field "vault_previous_master_keys"' in written, written


@pytest.mark.unit
def test_the_module_runs_the_entry_point_the_console_script_runs() -> None:
    """`python -m recaudo.cli` (as the cluster and the benchmarks start services) and the `recaudo` script both run
    main, which turns a failure into the scrubbed traceback above."""
    import recaudo.cli

    source = Path(recaudo.cli.__file__).read_text()
    assert source.rstrip().endswith('if __name__ == "__main__":\n    main()')
    script = tomllib.loads((REPOSITORY_ROOT / "libs" / "cli" / "pyproject.toml").read_text())["project"]["scripts"]
    assert script["recaudo"] == "recaudo.cli:main"


LOADED_MAINS = """
import sys
def mains():
    return sorted(m for m in sys.modules if m.endswith('.main') and m.split('.')[0] in
                  ('ingest', 'segmentation', 'outreach', 'payments', 'reporting'))
import recaudo.cli
print(mains())
from recaudo.services import build_units
from recaudo_common.runtime import make_platform
from recaudo_common.settings import PlatformSettings
build_units(make_platform(PlatformSettings(database_url='postgresql+asyncpg://u@127.0.0.1:1/u'), pool_size=1),
            ['payments'])
print(mains())
"""


@pytest.mark.unit
def test_a_process_that_serves_one_service_imports_only_its_code() -> None:
    """`recaudo serve payments` imported all five services before it served one: about 2 of the 4.5 CPU seconds of
    each start, which a pod or a restarted process pays every time (a process of its own: this one has them all)."""
    ran = subprocess.run([sys.executable, "-c", LOADED_MAINS], capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert ran.stdout.splitlines() == ["[]", "['payments.main']"]
