"""Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP), the second factor an operator may add."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
import struct
from urllib.parse import quote

STEP_S = 30
DIGITS = 6


def new_secret() -> str:
    """A random 160-bit secret in base32, as authenticator apps take it."""
    return base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")


def _key(secret: str) -> bytes:
    return base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))


def hotp(key: bytes, counter: int, *, digits: int = DIGITS, digest: str = "sha1") -> str:
    """RFC 4226 section 5.3: dynamic truncation of HMAC(key, counter)."""
    mac = hmac.new(key, struct.pack(">Q", counter), getattr(hashlib, digest)).digest()
    offset = mac[-1] & 0x0F
    number = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**digits).zfill(digits)


def totp(key: bytes, at: dt.datetime, *, digits: int = DIGITS, digest: str = "sha1") -> str:
    return hotp(key, int(at.timestamp()) // STEP_S, digits=digits, digest=digest)


def verify(secret: str, code: str, *, at: dt.datetime, window: int = 1) -> bool:
    """Whether `code` is the secret's at `at`, or one step either side (clocks drift; a code typed late)."""
    code = code.strip().replace(" ", "")
    # ASCII first: isdigit also takes other scripts' digits ("١٢٣٤٥٦"), which compare_digest refuses with a TypeError.
    if len(code) != DIGITS or not (code.isascii() and code.isdigit()):
        return False
    key, counter = _key(secret), int(at.timestamp()) // STEP_S
    return any(hmac.compare_digest(hotp(key, counter + d), code) for d in range(-window, window + 1))


def provisioning_uri(secret: str, *, account: str, issuer: str = "Recaudo") -> str:
    """The otpauth:// URI an authenticator app reads from a QR code (Key Uri Format)."""
    return (f"otpauth://totp/{quote(issuer)}:{quote(account)}?secret={secret}&issuer={quote(issuer)}"
            f"&algorithm=SHA1&digits={DIGITS}&period={STEP_S}")
