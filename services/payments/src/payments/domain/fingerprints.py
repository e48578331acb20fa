"""Fingerprints of what a request says, which tell the same request sent again (a gateway's redelivery, a retry
under one Idempotency-Key) from another one: keyed, because what they are computed over may name a person.

A payment may carry the payer's id number, and the row that keeps the fingerprint keeps the amount, currency,
client company and account beside it: a plain SHA-256 of that JSON gives the id number back to anyone with the
table who tries every ten-digit number. So a fingerprint is an HMAC under a key derived from the platform's
master key (`MasterKey.fingerprint_key`), recorded as `k1:<master key id>:<hex>`. The id lets a fingerprint
recorded under a previous master key still be compared after a rotation, and says when the key that recorded it has
left the keyring: then nobody can tell, as for a row recorded before fingerprints were kept, and the caller decides
by the id alone. Rows recorded before fingerprints were keyed hold the plain SHA-256 (64 hex digits); a request is
compared with those in that form too. An erasure replaces a kept fingerprint with `ERASED`, which also tells
nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from recaudo_common.personal_data.keyring import MasterKey

KEYED = "k1"
ERASED = "erased"


def canonical(content: object) -> bytes:
    """One JSON text per content: keys sorted, so the order a client sent fields in does not matter."""
    return json.dumps(content, sort_keys=True, default=str).encode()


@dataclass(frozen=True)
class Fingerprint:
    """A request's fingerprint under every master key of the keyring, the current one first, and in the plain form
    rows recorded before keyed fingerprints hold."""

    under: Mapping[str, str]  # master key id -> the fingerprint under it
    plain: str

    @property
    def recorded(self) -> str:
        """What a new row keeps: the fingerprint under the current master key."""
        return next(iter(self.under.values()))

    def same_as(self, recorded: str | None) -> bool | None:
        """Whether `recorded` is this request's fingerprint; None when nothing can tell (none was recorded, it was
        erased, or the master key it was recorded under is no longer in the keyring)."""
        if recorded is None or recorded == ERASED:
            return None
        if recorded.startswith(f"{KEYED}:"):
            mine = self.under.get(recorded.split(":", 2)[1])
            return None if mine is None else hmac.compare_digest(mine, recorded)
        return hmac.compare_digest(self.plain, recorded)


def fingerprint(keys: Sequence[MasterKey], content: object) -> Fingerprint:
    """The fingerprint of `content` (any JSON-able value) under each of `keys` (the keyring's, the current first)."""
    if not keys:
        raise ValueError("a fingerprint needs at least the current master key")
    text = canonical(content)
    under = {k.id: f"{KEYED}:{k.id}:{hmac.new(k.fingerprint_key, text, hashlib.sha256).hexdigest()}" for k in keys}
    return Fingerprint(under=MappingProxyType(under), plain=hashlib.sha256(text).hexdigest())
