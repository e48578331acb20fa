"""The platform's master keys: they wrap each person's data key (AES-KW, RFC 3394) and key the blind indexes."""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

if TYPE_CHECKING:
    from recaudo_common.settings import PlatformSettings

MASTER_KEY_BYTES = 32
BLIND_INDEX_INFO = b"recaudo blind index v1"
FINGERPRINT_INFO = b"recaudo request fingerprint v1"
SIGN_IN_FAILURES_INFO = b"recaudo sign-in failures v1"


class UnknownMasterKey(Exception):
    """A data key wrapped by a master key this keyring no longer holds (removed from the previous keys too soon)."""


class MasterKeyInvalid(ValueError):
    """A master key setting that is not base64 of 32 bytes; the message names the problem, never the key."""


def master_key_from_text(text: str) -> bytes:
    """The 32 bytes of a master key written as base64 (standard or URL-safe alphabet, padded)."""
    try:
        raw = base64.b64decode(text.strip().replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError) as e:
        raise MasterKeyInvalid("is not base64") from e
    if len(raw) != MASTER_KEY_BYTES:
        raise MasterKeyInvalid(f"is {len(raw)} bytes once decoded; a master key is {MASTER_KEY_BYTES}")
    return raw


def master_key_id(key: bytes) -> str:
    """A master key's public name, derived from the key so no setting has to name it; reveals nothing of it."""
    return hmac.new(key, b"recaudo master key id v1", hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True)
class MasterKey:
    id: str
    secret: bytes = field(repr=False)
    blind_index_key: bytes = field(repr=False)
    fingerprint_key: bytes = field(repr=False)
    sign_in_failures_key: bytes = field(repr=False)

    @classmethod
    def of(cls, secret: bytes) -> MasterKey:
        if len(secret) != MASTER_KEY_BYTES:
            raise MasterKeyInvalid(f"is {len(secret)} bytes; a master key is {MASTER_KEY_BYTES}")
        # A separate key per purpose: the blind-index, fingerprint and sign-in keys never touch AES-KW, the master
        # key never HMACs data, and neither a request's fingerprint nor a sign-in's digest can be joined with a
        # person's blind index. Derived once per key, not per use.
        return cls(master_key_id(secret), secret, blind_index_key=_derived(secret, BLIND_INDEX_INFO),
                   fingerprint_key=_derived(secret, FINGERPRINT_INFO),
                   sign_in_failures_key=_derived(secret, SIGN_IN_FAILURES_INFO))


def _derived(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret)


class MasterKeyring:
    """The current master key, which wraps every new data key, and the previous ones, which only unwrap and
    find (rotation: add the new key as current, keep the old one among the previous until nothing needs it)."""

    def __init__(self, current: bytes, previous: Sequence[bytes] = ()) -> None:
        self.current = MasterKey.of(current)
        keys = [self.current, *(MasterKey.of(k) for k in previous)]
        self._by_id = {k.id: k for k in keys}
        self.all: tuple[MasterKey, ...] = tuple(self._by_id.values())  # the current first, each key once

    @classmethod
    def from_text(cls, current: str, previous: Sequence[str] = ()) -> MasterKeyring:
        return cls(master_key_from_text(current), [master_key_from_text(k) for k in previous])

    @staticmethod
    def of_settings(settings: PlatformSettings) -> MasterKeyring:
        """The platform's master keys (RECAUDO_VAULT_MASTER_KEY and the previous ones), built once per value:
        what the secrets kept at rest (gateway credentials, WhatsApp channels, second factors) are sealed under."""
        return _keyring_of(settings.vault_master_key, tuple(settings.vault_previous_master_keys))

    def wrap(self, data_key: bytes) -> tuple[bytes, str]:
        """The data key wrapped by the current master key, and that key's id (stored beside it)."""
        return aes_key_wrap(self.current.secret, data_key), self.current.id

    def unwrap(self, wrapped: bytes, master_id: str) -> bytes:
        if (master := self._by_id.get(master_id)) is None:
            raise UnknownMasterKey(f"master key {master_id} is not in the keyring (current or previous)")
        try:
            return aes_key_unwrap(master.secret, wrapped)
        except InvalidUnwrap as e:
            raise UnknownMasterKey(f"master key {master_id} does not unwrap this data key (altered?)") from e


@functools.lru_cache(maxsize=4)
def _keyring_of(current: str, previous: tuple[str, ...]) -> MasterKeyring:
    return MasterKeyring.from_text(current, previous)
