"""The test broker's start: a first start may move off a port taken meanwhile; a restart never moves (its clients
hold the port, and a second broker on new ports over the same data directory corrupts the metadata log)."""

import socket
import subprocess
from pathlib import Path

import pytest

from recaudo_common.cluster import KafkaBroker

pytestmark = pytest.mark.unit


class Script:
    """Stands in for scripts/kafka.sh: fails `start` the first `failures` times, saying why on stderr."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.ports: list[int] = []

    def __call__(self, broker: KafkaBroker, action: str) -> None:
        if action == "start":
            self.ports.append(broker.port)
            if self.failures:
                self.failures -= 1
                raise subprocess.CalledProcessError(1, ["kafka.sh", action], stderr=b"did not listen within 120 s")


def held_port() -> tuple[socket.socket, int]:
    """A port something holds bound, as a client's connection or a broker still starting does."""
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    return holder, holder.getsockname()[1]


@pytest.fixture
def script(monkeypatch: pytest.MonkeyPatch) -> Script:
    stand_in = Script(failures=0)
    monkeypatch.setattr(KafkaBroker, "_run", lambda self, action: stand_in(self, action))
    return stand_in


def test_a_first_start_moves_off_a_port_taken_meanwhile(tmp_path: Path, script: Script) -> None:
    script.failures = 1
    holder, port = held_port()
    with holder:
        broker = KafkaBroker(tmp_path, port=port)
        broker.start()
    assert len(script.ports) == 2 and script.ports[0] == port and broker.port != port and broker.started


def test_a_restart_keeps_its_port_and_says_why_it_failed(tmp_path: Path, script: Script) -> None:
    holder, port = held_port()
    with holder:
        broker = KafkaBroker(tmp_path, port=port)
        broker.start()
        script.failures = 1  # the broker is restarted and this start fails while its port is still held
        with pytest.raises(RuntimeError, match="did not listen within 120 s"):
            broker.start()
    assert script.ports == [port, port] and broker.port == port
