"""The pacing rule of a sender (a WhatsApp number, a Twilio number or Messaging Service, the SMTP relay): a token
bucket that earns `per_second` tokens a second up to `burst`, one token spent per message handed over. Pure: the
instant is always given, and a bucket that was last touched later than it (another replica's clock ahead of this
one's) earns nothing and keeps its later instant, so time going backwards never mints tokens."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Rate:
    """Messages a second, and the most a sender may send at once after a quiet spell (its bucket's size)."""

    per_second: float
    burst: float

    @classmethod
    def of(cls, per_second: float, burst_s: float) -> Rate:
        """`burst_s` seconds' worth of messages at once, and always at least one (a rate under one a second
        still sends, one message every 1/rate seconds)."""
        if not per_second > 0 or not math.isfinite(per_second):
            raise ValueError("a sender's rate must be a positive number of messages a second")
        return cls(per_second, max(1.0, per_second * max(burst_s, 0.0)))


@dataclass(frozen=True)
class Bucket:
    """What a sender may still send (`tokens`, fractional between messages) as of `updated_at`."""

    tokens: float
    updated_at: dt.datetime


def full(rate: Rate, now: dt.datetime) -> Bucket:
    """A sender seen for the first time may send its burst at once."""
    return Bucket(rate.burst, now)


def refill(bucket: Bucket, rate: Rate, now: dt.datetime) -> Bucket:
    """The bucket at `now`: what it earned since it was last touched, never past the burst (a gap of any length
    earns one burst at most; a rate lowered since then caps what was saved at the new burst)."""
    if now <= bucket.updated_at:
        return Bucket(min(bucket.tokens, rate.burst), bucket.updated_at)
    earned = (now - bucket.updated_at).total_seconds() * rate.per_second
    return Bucket(min(rate.burst, bucket.tokens + earned), now)


def allowance(bucket: Bucket) -> int:
    """Whole messages the bucket lets go now."""
    return max(0, math.floor(bucket.tokens))


def spend(bucket: Bucket, messages: int) -> Bucket:
    """The bucket after `messages` were handed over (never more than its allowance at the claim)."""
    if messages < 0:
        raise ValueError("messages spent cannot be negative")
    return Bucket(bucket.tokens - messages, bucket.updated_at)


def debit(bucket: Bucket, rate: Rate, messages: int) -> Bucket:
    """The bucket after `messages` that went out without waiting for it (answers a debtor is waiting for): it may
    go below zero, never past one burst's debt, so the sender's paced messages make room for them."""
    if messages < 0:
        raise ValueError("messages spent cannot be negative")
    return Bucket(max(-rate.burst, bucket.tokens - messages), bucket.updated_at)


def fair_share(remaining: int, takers: int) -> int:
    """One taker's share of what remains when `takers` (this one included) still share it, rounded up so nothing
    is left over; what a taker does not use goes on to the next."""
    return 0 if remaining <= 0 or takers <= 0 else -(-remaining // takers)
