"""API keys are looked up once per key at a time: when a key's cached entry runs out under load, the requests that
find it gone share one lookup, and a failed lookup is not cached (#24)."""

import asyncio
import uuid
from typing import Any, cast

import pytest

from recaudo_common.auth import Authenticator, KeyStore, Principal
from recaudo_common.errors import ProblemError

pytestmark = pytest.mark.unit
OPERATOR = Principal(uuid.uuid4(), "operator", None, None, None)


class CountingKeys:
    """A key store that answers slowly and counts how often it is asked."""

    db: Any = None

    def __init__(self, fail: bool = False) -> None:
        self.asked = 0
        self.fail = fail

    async def lookup(self, key: str) -> Principal | None:
        self.asked += 1
        await asyncio.sleep(0.05)
        if self.fail:
            raise ConnectionError("database gone")
        return OPERATOR if key == "rk_known" else None


async def test_a_hundred_requests_at_once_make_one_lookup_per_key() -> None:
    keys = CountingKeys()
    auth = Authenticator(cast(KeyStore, keys), ttl_s=60)
    found = await asyncio.gather(*(auth.authenticate("Bearer rk_known") for _ in range(100)))
    assert found == [OPERATOR] * 100 and keys.asked == 1
    assert await auth.authenticate("Bearer rk_known") == OPERATOR and keys.asked == 1  # cached
    unknown = await asyncio.gather(*(auth.authenticate("Bearer rk_other") for _ in range(20)),
                                   return_exceptions=True)
    assert all(isinstance(e, ProblemError) and e.problem.code == "invalid_api_key" for e in unknown)
    assert keys.asked == 2


async def test_a_failed_lookup_fails_its_requests_and_is_asked_again() -> None:
    keys = CountingKeys(fail=True)
    auth = Authenticator(cast(KeyStore, keys), ttl_s=60)
    failed = await asyncio.gather(*(auth.authenticate("Bearer rk_known") for _ in range(10)),
                                  return_exceptions=True)
    assert all(isinstance(e, ConnectionError) for e in failed) and keys.asked == 1
    keys.fail = False
    assert await auth.authenticate("Bearer rk_known") == OPERATOR and keys.asked == 2
