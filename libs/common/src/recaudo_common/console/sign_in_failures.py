"""Failed console sign-ins in the last 15 minutes, per e-mail and per address, counted in the identity schema so that
every replica sees the same count (a limit kept per process let a guesser try once per replica as often).

Neither the e-mail nor the address is stored: each is a keyed digest (HMAC-SHA256 under a key derived from the
platform's master key, the purpose named in the message), so the table tells nobody who tried to sign in or from
where. Each failure prunes a bounded number of rows past the window, so the table holds about what 15 minutes of
failures wrote, whatever the attackers do (and an argon2 check bounds how fast they can write)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text

from recaudo_common.db import Database
from recaudo_common.personal_data import MasterKeyring

WINDOW = dt.timedelta(minutes=15)
PRUNED_PER_FAILURE = 100  # rows past the window deleted by each failure: more than the two it writes


@dataclass(frozen=True)
class Limit:
    """At most `failures` in the window for `key` (a digest)."""

    key: bytes
    failures: int


def digest(keyring: MasterKeyring, kind: str, value: str) -> bytes:
    """The keyed digest of an e-mail (kind `email`, normalised by the caller) or an address (`address`)."""
    message = b"recaudo sign-in failure\x00" + kind.encode() + b"\x00" + value.encode()
    return hmac.new(keyring.current.fingerprint_key, message, hashlib.sha256).digest()


async def wait_s(db: Database, limits: Sequence[Limit], *, now: dt.datetime) -> float:
    """Seconds until every limit allows another try (0: now): a key at its cap waits until its cap-th latest
    failure leaves the window. One round trip."""
    since = now - WINDOW
    async with db.transaction() as s:
        rows = await s.execute(text(
            """SELECT (SELECT f.failed_at FROM identity.sign_in_failures f
                       WHERE f.key = l.key AND f.failed_at > :since
                       ORDER BY f.failed_at DESC OFFSET l.cap - 1 LIMIT 1) AS oldest_counted
               FROM unnest(CAST(:keys AS bytea[]), CAST(:caps AS integer[])) AS l(key, cap)"""),
            {"keys": [limit.key for limit in limits], "caps": [limit.failures for limit in limits], "since": since})
        reached: list[dt.datetime] = [r.oldest_counted for r in rows if r.oldest_counted is not None]
    return max([0.0, *((at + WINDOW - now).total_seconds() for at in reached)])


async def record_failure(db: Database, keys: Sequence[bytes], *, now: dt.datetime) -> None:
    """A failed sign-in counted against each of `keys`, and some rows past the window pruned."""
    async with db.transaction() as s:
        await s.execute(text(
            "INSERT INTO identity.sign_in_failures (key, failed_at) "
            "SELECT k, :now FROM unnest(CAST(:keys AS bytea[])) k"),
            {"keys": list(keys), "now": now})
        await s.execute(text(
            """DELETE FROM identity.sign_in_failures WHERE ctid = ANY(ARRAY(
                   SELECT ctid FROM identity.sign_in_failures WHERE failed_at <= :since LIMIT :n))"""),
            {"since": now - WINDOW, "n": PRUNED_PER_FAILURE})
