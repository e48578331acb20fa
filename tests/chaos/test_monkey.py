"""The chaos test's fault injector is fair: it kills only a service that has become ready since its last start, so
on a loaded machine, where a start takes longer than the time between kills, every service still comes up between
its kills instead of being killed again while it starts (a CI run's payments API was unreachable for 180 s so)."""

from __future__ import annotations

import asyncio
import random

import pytest

from recaudo_common.cluster import SERVICES

from . import monkey as monkey_module
from .monkey import Monkey

pytestmark = pytest.mark.unit
STARTING_PROBES = 3  # a restarted service answers /readyz only from its third probe on: a slow start


class SlowToStart:
    """A cluster whose services take longer to start than the time between two kills."""

    def __init__(self, kills_wanted: int) -> None:
        self.probes_left = dict.fromkeys(SERVICES, 0)  # 0: ready
        self.killed: list[tuple[str, bool]] = []  # each kill: the service, and whether it was ready
        self.kills_wanted, self.enough = kills_wanted, asyncio.Event()

    def ensure_all_running(self) -> list[str]:
        return []

    def kill(self, service: str) -> None:
        self.killed.append((service, self.probes_left[service] == 0))

    def restart(self, service: str) -> None:  # on the event loop, right after each kill (which runs in a thread)
        self.probes_left[service] = STARTING_PROBES
        if len(self.killed) >= self.kills_wanted:
            self.enough.set()

    async def ready_now(self, service: str) -> bool:
        if self.probes_left[service]:
            self.probes_left[service] -= 1
            return False
        return True

    async def restart_kafka(self, down_s: float = 1.0) -> None:
        pass

    async def restart_postgres(self, down_s: float = 1.0) -> None:
        pass


async def test_no_service_is_killed_before_it_is_ready(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(monkey_module, "KILL_EVERY", (0.001, 0.002))
    monkeypatch.setattr(monkey_module, "DOWN_FOR", (0.0, 0.001))
    cluster = SlowToStart(kills_wanted=4 * len(SERVICES))  # four rounds: the later ones find services starting
    monkey = Monkey(cluster, random.Random(7))
    running = asyncio.create_task(monkey.run())
    async with asyncio.timeout(10):
        await cluster.enough.wait()
        monkey.stop.set()
        await running
    assert [service for service, ready in cluster.killed if not ready] == []
    assert set(monkey.kills) == set(SERVICES)
    assert monkey.waits_for_a_start > 0  # the moments when every service of the round was still starting


async def test_outreach_is_killed_mid_send_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The kill mid-send does not wait: it is meant for the replica that has just claimed messages."""
    monkeypatch.setattr(monkey_module, "KILL_EVERY", (5.0, 5.0))
    monkeypatch.setattr(monkey_module, "DOWN_FOR", (0.0, 0.001))
    cluster = SlowToStart(kills_wanted=1)
    cluster.probes_left["outreach"] = STARTING_PROBES
    monkey = Monkey(cluster, random.Random(7))
    running = asyncio.create_task(monkey.run())
    monkey.sending_seen.set()
    async with asyncio.timeout(2):
        await cluster.enough.wait()
    running.cancel()
    assert cluster.killed == [("outreach", False)] and monkey.killed_mid_send == 1
