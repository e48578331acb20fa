"""ShortCache: a value is kept for ttl_s and looked up again after; the requests that need an entry being looked up
wait for that one lookup; a failed lookup is not kept; what is forgotten while it is looked up is not kept either;
the entries are bounded."""

from __future__ import annotations

import asyncio

import pytest

from recaudo_common.short_cache import ShortCache

pytestmark = pytest.mark.unit


class Store:
    def __init__(self) -> None:
        self.value, self.lookups, self.gate = "v1", 0, asyncio.Event()
        self.gate.set()

    async def look_up(self) -> str:
        """The value as it is when the lookup starts, answered once the gate opens."""
        self.lookups += 1
        value = self.value
        await self.gate.wait()
        return value


async def test_a_value_is_kept_for_its_ttl_and_looked_up_once_by_everyone_waiting() -> None:
    store, cache = Store(), ShortCache[str, str](ttl_s=60)
    store.gate.clear()
    waiting = [asyncio.ensure_future(cache.get("k", store.look_up)) for _ in range(50)]
    await asyncio.sleep(0)
    store.gate.set()
    assert await asyncio.gather(*waiting) == ["v1"] * 50
    store.value = "v2"
    assert await cache.get("k", store.look_up) == "v1"  # kept
    assert store.lookups == 1


async def test_with_no_ttl_every_call_looks_up() -> None:
    store, cache = Store(), ShortCache[str, str](ttl_s=0)
    assert await cache.get("k", store.look_up) == "v1"
    store.value = "v2"
    assert await cache.get("k", store.look_up) == "v2"
    assert store.lookups == 2


async def test_a_failed_lookup_is_not_kept() -> None:
    cache, calls = ShortCache[str, str](ttl_s=60), []

    async def failing() -> str:
        calls.append(1)
        raise ConnectionError("the database is restarting")

    for _ in range(2):
        with pytest.raises(ConnectionError):
            await cache.get("k", failing)
    assert len(calls) == 2


async def test_what_is_forgotten_is_looked_up_again_even_mid_lookup() -> None:
    store, cache = Store(), ShortCache[str, str](ttl_s=60)
    assert await cache.get("k", store.look_up) == "v1"
    store.value = "v2"
    cache.forget("k")
    assert await cache.get("k", store.look_up) == "v2"
    # A lookup that read before the change ends after it was forgotten: its answer is not kept.
    store.gate.clear()
    stale = asyncio.ensure_future(cache.get("k2", store.look_up))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    store.value = "v3"
    cache.forget("k2")
    store.gate.set()
    assert await stale == "v2"  # what its caller asked for, as it was
    assert await cache.get("k2", store.look_up) == "v3"
    assert store.lookups == 4


async def test_entries_are_bounded() -> None:
    cache = ShortCache[int, int](ttl_s=60, max_entries=100)

    async def same(n: int) -> int:
        return n

    for n in range(1_000):
        await cache.get(n, lambda n=n: same(n))  # type: ignore[misc]
    assert len(cache._entries) <= 100
