"""Failed console sign-ins in the last 15 minutes, per e-mail and per address, counted in the identity schema so that
every replica sees the same count (a limit kept per process let a guesser try once per replica as often).

A try is counted before its password is checked, not after: `reserve` takes the keys' locks, counts the window and
records the try in one transaction, and only a right password takes its row back (`forgive`). Counting after the
check let every request sent at once pass a count of zero: fifteen concurrent guesses were all checked against a cap
of five. Neither the e-mail nor the address is stored: each is a keyed digest (HMAC-SHA256 under a key derived from
the platform's master key for this purpose alone), so the table tells nobody who tried to sign in or from where.
Each try prunes a bounded number of rows past the window, so the table holds about what 15 minutes of failures
wrote (and the last burst's rows until the next try), whatever the attackers do."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from recaudo_common.db import Database, sql
from recaudo_common.personal_data import MasterKeyring

WINDOW = dt.timedelta(minutes=15)
PRUNED_PER_TRY = 100  # rows past the window deleted by each try: more than the two it writes


@dataclass(frozen=True)
class Limit:
    """At most `failures` in the window for `key` (a digest)."""

    key: bytes
    failures: int


@dataclass(frozen=True)
class Reserved:
    """A try counted before its check: `wait_s` > 0 when a limit was already reached (nothing was counted), else the
    rows that count it, which a right password takes back."""

    wait_s: float
    rows: tuple[int, ...] = ()


def digest(keyring: MasterKeyring, kind: Literal["email", "address"], value: str) -> bytes:
    """The keyed digest of an e-mail (normalised by the caller) or an address, under the current master key (a
    rotation starts the counts afresh, at most 15 minutes' worth)."""
    message = kind.encode() + b"\x00" + value.encode()
    return hmac.new(keyring.current.sign_in_failures_key, message, hashlib.sha256).digest()


async def reserve(db: Database, limits: Sequence[Limit], *, now: dt.datetime) -> Reserved:
    """Counts a try against every limit unless one is reached already: then the seconds until the limit's oldest
    counted try leaves the window. The keys are locked (sorted, so two tries never wait on each other in a cycle)
    for the transaction, so concurrent tries are counted one after another."""
    since = now - WINDOW
    keys = sorted({limit.key for limit in limits})
    async with db.transaction() as s:
        await s.execute(sql(
            "SELECT pg_advisory_xact_lock(hashtextextended(encode(k, 'hex'), 0)) "
            "FROM unnest(CAST(:keys AS bytea[])) WITH ORDINALITY AS t(k, n) ORDER BY n"), {"keys": keys})
        rows = await s.execute(sql(
            """SELECT (SELECT f.failed_at FROM identity.sign_in_failures f
                       WHERE f.key = l.key AND f.failed_at > :since
                       ORDER BY f.failed_at DESC OFFSET l.cap - 1 LIMIT 1) AS oldest_counted
               FROM unnest(CAST(:keys AS bytea[]), CAST(:caps AS integer[])) AS l(key, cap)"""),
            {"keys": [limit.key for limit in limits], "caps": [limit.failures for limit in limits], "since": since})
        reached: list[dt.datetime] = [r.oldest_counted for r in rows if r.oldest_counted is not None]
        if reached:
            return Reserved(max((at + WINDOW - now).total_seconds() for at in reached))
        counted = await s.execute(sql(
            "INSERT INTO identity.sign_in_failures (key, failed_at) "
            "SELECT k, :now FROM unnest(CAST(:keys AS bytea[])) k RETURNING id"), {"keys": keys, "now": now})
        ids = tuple(int(r.id) for r in counted)
        await s.execute(sql(
            """DELETE FROM identity.sign_in_failures WHERE id = ANY(ARRAY(
                   SELECT id FROM identity.sign_in_failures WHERE failed_at <= :since LIMIT :n))"""),
            {"since": since, "n": PRUNED_PER_TRY})
    return Reserved(0.0, ids)


async def forgive(db: Database, reserved: Reserved) -> None:
    """A right password: its try is not a failure."""
    async with db.transaction() as s:
        await s.execute(sql("DELETE FROM identity.sign_in_failures WHERE id = ANY(:ids)"),
                        {"ids": list(reserved.rows)})
