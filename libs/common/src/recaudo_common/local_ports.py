"""Ports for local servers that tests, the local cluster and the benchmarks start: free, and drawn where no other
process's outgoing connection can be given them before the server binds."""

from __future__ import annotations

import random
import socket
from collections import deque
from pathlib import Path

# The ports this process handed out last: two servers given ports before either binds (a broker and its
# controller, two services) would otherwise be told the same one, now that ports are drawn at random.
_GIVEN: deque[int] = deque(maxlen=256)


def bindable(port: int) -> bool:
    """Whether a listener could take this port now (nothing listens on it, and no socket holds it bound)."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _ephemeral_low() -> int:
    """The first port of the range the system draws outgoing connections' (and port 0's) local ports from."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def free_ports(count: int) -> int:
    """The first of `count` free consecutive ports below the ephemeral range. A port drawn from that range (bind to
    port 0) is only free until the server binds it: meanwhile any outgoing connection of any process (a test's
    client reconnecting to PostgreSQL or Kafka) may be given it as its local port, and the server fails to bind
    (CI did: "[Errno 98] address already in use" on a platform's HTTP port)."""
    rng = random.SystemRandom()
    high = _ephemeral_low() - count
    while True:
        port = rng.randrange(max(1024, high - 12000), high)
        ports = range(port, port + count)
        if not any(p in _GIVEN for p in ports) and all(bindable(p) for p in ports):
            _GIVEN.extend(ports)
            return port


def free_port() -> int:
    """A free port for a local server to listen on (see `free_ports`)."""
    return free_ports(1)
