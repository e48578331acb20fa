"""Tests' listening ports come from below the ephemeral range, where no outgoing connection can take them first."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from recaudo_common.local_ports import bindable, free_port, free_ports

pytestmark = pytest.mark.unit


def ephemeral_range() -> tuple[int, int]:
    low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    return int(low), int(high)


def test_a_free_port_is_never_one_an_outgoing_connection_could_be_given() -> None:
    low, _ = ephemeral_range()
    ports = [free_port() for _ in range(200)]
    assert all(1024 <= port < low for port in ports)
    assert len(set(ports)) > 150  # drawn at random, so two workers rarely choose alike


def test_consecutive_free_ports_are_all_free_and_below_the_range() -> None:
    low, _ = ephemeral_range()
    first = free_ports(3)
    assert first + 3 <= low
    assert all(bindable(first + i) for i in range(3))


def test_a_port_held_bound_is_not_bindable() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", free_port()))
        assert not bindable(holder.getsockname()[1])
