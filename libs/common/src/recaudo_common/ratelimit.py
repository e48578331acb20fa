"""Rate limits on the expensive questions (reports, uploads): a token bucket per API key and client company.

Each replica keeps its own buckets: a limit bounds what one caller can make one replica do, which is what protects
the other tenants sharing it; N replicas admit at most N times the rate, and the limits are set with that in mind.
A refusal is 429 with `Retry-After`, the seconds until the bucket holds a token again.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Request

from recaudo_common.auth import Principal
from recaudo_common.errors import ProblemError
from recaudo_common.ids import SLUG

MAX_BUCKETS = 100_000  # the least recently used are forgotten past this: a forgotten bucket starts full again


@dataclass(frozen=True)
class Rate:
    """`per_s` tokens a second, at most `burst` saved up."""

    per_s: float
    burst: int


class RateLimiter:
    def __init__(self, name: str, rate: Rate, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.name, self.rate, self.clock = name, rate, clock
        self._buckets: OrderedDict[tuple[str, str], tuple[float, float]] = OrderedDict()  # tokens, at

    def take(self, caller: str, client: str) -> float:
        """Takes a token for (caller, client); returns 0 when one was there, else the seconds until one is."""
        if self.rate.per_s <= 0:
            return 0.0  # the limit is off
        key, now = (caller, client), self.clock()
        tokens, at = self._buckets.pop(key, (float(self.rate.burst), now))
        tokens = min(float(self.rate.burst), tokens + (now - at) * self.rate.per_s)
        wait = 0.0
        if tokens >= 1:
            tokens -= 1
        else:
            wait = (1 - tokens) / self.rate.per_s
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > MAX_BUCKETS:
            self._buckets.popitem(last=False)
        return wait

    def refuse_if_over(self, caller: str, client: str) -> None:
        """Takes a token for (caller, client) or refuses: 429 with the seconds until one is there."""
        wait = self.take(caller, client)
        if wait > 0:
            raise ProblemError(429, "rate_limited", "Too many requests",
                               f"at most {self.rate.per_s:g} {self.name} a second for this key and client "
                               f"company (bursts of {self.rate.burst}); retry after the time given",
                               headers={"Retry-After": str(max(1, math.ceil(wait)))})

    def refuse_caller(self, principal: Principal, request: Request) -> None:
        """The caller (its API key) asking about the path's client company takes a token or is refused 429. A
        company the caller may not see, or a slug of no company's shape, takes no token and keeps no bucket: the
        route's own check of the company refuses it (403 or 404) right after, and a bucket per made-up slug would
        let any key fill the process's memory (a route's dependencies run before that check)."""
        slug = str(request.path_params.get("slug", ""))
        if slug and (not SLUG.match(slug) or not principal.can_see_client(slug)):
            return
        self.refuse_if_over(str(principal.key_id), slug)


def rate_limited(limiter: RateLimiter, authenticate: Callable[[Request], Awaitable[Principal]],
                 ) -> Callable[[Request], Awaitable[None]]:
    """A route dependency: the caller (its API key) asking about the path's client company takes a token or is
    refused 429."""

    async def check(request: Request) -> None:
        limiter.refuse_caller(await authenticate(request), request)

    return check
