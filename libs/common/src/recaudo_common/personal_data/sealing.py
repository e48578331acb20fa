"""Personal data sealed with its person's data key (AES-256-GCM), bound to that person: seal, unseal, new keys."""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
from typing import TypeVar
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import BaseModel, ConfigDict, ValidationError

DATA_KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # 96 bits, GCM's native nonce size; random per seal, so a key may seal ~2^32 values safely
VERSION = "v1"
BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


class PersonalData(BaseModel):
    """Everything that identifies or reaches one person; it travels and rests only sealed (`seal`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    full_name: str
    id_number: str
    id_type: str | None = None
    phones: tuple[str, ...] = ()
    email: str | None = None
    address: str | None = None


class SealBroken(Exception):
    """A sealed value that cannot be opened: wrong or shredded key, tampered, another person's, or malformed.
    The message never carries the value itself."""


M = TypeVar("M", bound=BaseModel)


def new_data_key() -> bytes:
    """A fresh random 256-bit data key for one person."""
    return secrets.token_bytes(DATA_KEY_BYTES)


def _bound_to(client: str, debtor_ref: UUID) -> bytes:
    # Associated data: the tag covers the owner, so a blob copied onto another person (or client) fails to open.
    return f"{client}/{debtor_ref}".encode()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not BASE64URL.fullmatch(text):  # the decoder would skip stray characters; a sealed value has none
        raise SealBroken("not a sealed v1 value")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as e:
        raise SealBroken("not a sealed v1 value") from e
    # Only the one canonical spelling: a last character that differs in the bits base64 leaves unused would
    # decode to the same bytes, so an altered value would open; every sealed value is written canonically.
    if _b64(raw) != text:
        raise SealBroken("not a sealed v1 value")
    return raw


def seal(key: bytes, client: str, debtor_ref: UUID, data: PersonalData) -> str:
    """`v1.<nonce>.<ciphertext+tag>` (base64url, no padding) of `data`, openable only with `key` for this person."""
    return seal_model(key, _bound_to(client, debtor_ref), data)


def unseal(key: bytes, client: str, debtor_ref: UUID, sealed: str) -> PersonalData:
    """The personal data in `sealed`; SealBroken on a wrong key, tampering, another person's blob or bad text."""
    return unseal_model(key, _bound_to(client, debtor_ref), sealed, PersonalData, "personal data")


def seal_model(key: bytes, bound_to: bytes, model: BaseModel) -> str:
    """A model's JSON sealed as `seal_bytes` seals it."""
    return seal_bytes(key, bound_to, model.model_dump_json().encode())


def unseal_model(key: bytes, bound_to: bytes, sealed: str, shape: type[M], what: str) -> M:
    """The model of `shape` sealed in `sealed`; SealBroken as `unseal_bytes`, or when it opens as another shape."""
    plain = unseal_bytes(key, bound_to, sealed)
    try:
        return shape.model_validate_json(plain)
    except ValidationError:  # authentic but another shape; `from None`: pydantic's message would echo the content
        raise SealBroken(f"opened but is not {what} of this version") from None


def seal_bytes(key: bytes, bound_to: bytes, plain: bytes) -> str:
    """`plain` sealed as `seal` seals, its tag covering `bound_to` (the owner, and what the value is)."""
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, plain, bound_to)
    return f"{VERSION}.{_b64(nonce)}.{_b64(sealed)}"


def unseal_bytes(key: bytes, bound_to: bytes, sealed: str) -> bytes:
    parts = sealed.split(".")
    if len(parts) != 3 or parts[0] != VERSION:
        raise SealBroken("not a sealed v1 value")
    nonce, body = _unb64(parts[1]), _unb64(parts[2])
    if len(nonce) != NONCE_BYTES:
        raise SealBroken("not a sealed v1 value")
    try:
        return AESGCM(key).decrypt(nonce, body, bound_to)
    except (InvalidTag, ValueError) as e:  # ValueError: a key of the wrong size
        raise SealBroken("cannot be opened with this person's key (wrong key, shredded, altered or moved)") from e
