"""Credentials a service keeps for an outside provider (an access token, an app secret), sealed at rest with
AES-256-GCM under a key derived (HKDF) from the vault's master keys, bound to what they are for."""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from recaudo_common.personal_data.keyring import MasterKey, MasterKeyring

VERSION = "s1"
NONCE_BYTES = 12
# A key of its own per purpose: the master key itself never encrypts data, and these never wrap a person's key.
INFO = b"recaudo secrets at rest v1"


class SecretUnreadable(Exception):
    """A sealed secret that does not open: altered, moved to another owner, or sealed by a master key no longer in
    the keyring. The message never carries the secret."""


def _key(master: MasterKey) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=INFO).derive(master.secret)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as e:
        raise SecretUnreadable("not a sealed secret") from e


def seal_secret(keyring: MasterKeyring, bound_to: str, secret: str) -> str:
    """`s1.<master key id>.<nonce>.<ciphertext+tag>`: `secret` sealed with the current master key's derived key;
    `bound_to` (e.g. "whatsapp/banco/app_secret") is authenticated, so a value copied elsewhere does not open."""
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(_key(keyring.current)).encrypt(nonce, secret.encode(), bound_to.encode())
    return f"{VERSION}.{keyring.current.id}.{_b64(nonce)}.{_b64(sealed)}"


def open_secret(keyring: MasterKeyring, bound_to: str, sealed: str) -> str:
    """The secret in `sealed`, opened with the master key that sealed it (current or previous)."""
    parts = sealed.split(".")
    if len(parts) != 4 or parts[0] != VERSION:
        raise SecretUnreadable("not a sealed secret")
    master = next((k for k in keyring.all if k.id == parts[1]), None)
    if master is None:
        raise SecretUnreadable(f"sealed by master key {parts[1]}, which is not in the keyring")
    try:
        return AESGCM(_key(master)).decrypt(_unb64(parts[2]), _unb64(parts[3]), bound_to.encode()).decode()
    except (InvalidTag, ValueError) as e:
        raise SecretUnreadable("does not open (altered, or sealed for something else)") from e
