"""The chaos test's fault injector: kills a random service every few seconds and brings it back, restarts the broker
and PostgreSQL once each, and kills outreach once mid-send."""

from __future__ import annotations

import asyncio
import os
import random
from collections import defaultdict
from typing import Protocol

from recaudo_common.cluster import SERVICES

# Seconds between kills (drawn between the two). Every service restarts, rejoins its consumer group and waits
# for the dead member's session to expire, so a kill every few seconds lets a large run make almost no progress.
KILL_EVERY = tuple(float(x) for x in os.environ.get("CHAOS_KILL_EVERY", "3,8").split(","))
DOWN_FOR = (0.2, 2.0)  # seconds between a service's kill and its restart


class Killable(Protocol):
    """What the monkey needs of a cluster (recaudo_common.cluster.Cluster)."""

    def ensure_all_running(self) -> list[str]: ...
    def kill(self, service: str) -> None: ...
    def restart(self, service: str) -> None: ...
    async def ready_now(self, service: str) -> bool: ...
    async def restart_kafka(self, down_s: float = 1.0) -> None: ...
    async def restart_postgres(self, down_s: float = 1.0) -> None: ...


class Monkey:
    """Kills a random service every few seconds and brings it back; restarts the broker and PostgreSQL once each.
    Once, as soon as messages are seen between their claim and their confirmation (`sending`), it kills outreach
    there: a replica dead mid-send.

    It kills only a service that is ready (answers /readyz): one still starting is left for later in the round.
    A Python service's start takes about 4.5 s of CPU; on a loaded 2-core machine that was 15 to 75 s, longer than
    the 3 to 8 s between kills, so every kill hit a service that had not come up since the last one and the API
    stayed unreachable past the client's patience. An orchestrator kills a starting pod too, but a fault injector
    that never lets a service finish starting tests the machine's load, not what a fault loses or duplicates."""

    def __init__(self, cluster: Killable, rng: random.Random) -> None:
        self.cluster, self.rng = cluster, rng
        self.kills: dict[str, int] = defaultdict(int)
        self.exits_on_their_own: dict[str, int] = defaultdict(int)
        self.kafka_restarts = self.postgres_restarts = 0
        self.stop = asyncio.Event()
        self.sending_seen = asyncio.Event()
        self.killed_mid_send = 0
        self.waits_for_a_start = 0  # moments at which no service of the round was ready, so none was killed

    async def run(self) -> None:
        order: list[str] = []
        while not (self.stop.is_set() and len(self.kills) == len(SERVICES)):  # at least one round, whatever
            awaited = [self.stop.wait()] + ([self.sending_seen.wait()] if not self.killed_mid_send else [])
            tasks = [asyncio.ensure_future(a) for a in awaited]
            await asyncio.wait(tasks, timeout=self.rng.uniform(*KILL_EVERY), return_when=asyncio.FIRST_COMPLETED)
            for task in tasks:
                task.cancel()
            if self.stop.is_set() and len(self.kills) == len(SERVICES):
                return
            for service in self.cluster.ensure_all_running():  # the orchestrator restarts what exited by itself
                self.exits_on_their_own[service] += 1
            if self.sending_seen.is_set() and not self.killed_mid_send:
                victim: str | None = "outreach"  # the replica that claimed the messages: at once, ready or not
                self.killed_mid_send = 1
            else:
                if not order:
                    order = self.rng.sample(SERVICES, len(SERVICES))  # every service dies in every round
                victim = await self.next_ready(order)
                if victim is None:
                    self.waits_for_a_start += 1
                    continue
            await asyncio.to_thread(self.cluster.kill, victim)
            self.kills[victim] += 1
            await asyncio.sleep(self.rng.uniform(*DOWN_FOR))
            self.cluster.restart(victim)

    async def next_ready(self, order: list[str]) -> str | None:
        """The next service of the round that is ready, taken out of it; None if none is."""
        for service in reversed(order):
            if await self.cluster.ready_now(service):
                order.remove(service)
                return service
        return None

    async def restart_kafka(self) -> None:
        await self.cluster.restart_kafka(down_s=self.rng.uniform(1, 3))
        self.kafka_restarts += 1

    async def restart_postgres(self) -> None:
        await self.cluster.restart_postgres(down_s=self.rng.uniform(1, 3))
        self.postgres_restarts += 1
