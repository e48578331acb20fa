"""Webhook signatures, shared by gateways (the sandbox gateway of the debtor page) and payments:
`Recaudo-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "{t}.{raw body}">`,
checked against every current secret of the gateway (rotation), within five minutes of `now`."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Sequence

TOLERANCE = dt.timedelta(minutes=5)


def sign(body: bytes, secret: str, at: dt.datetime) -> str:
    timestamp = int(at.timestamp())
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def signature_problem(header: str | None, body: bytes, secrets: Sequence[str], *, now: dt.datetime) -> str | None:
    """None when the signature is good; otherwise a stable reason code."""
    if not secrets:
        return "unknown_gateway"
    if not header:
        return "missing_signature"
    if not header.isascii():  # the server decodes header bytes as Latin-1; a signature is hex, so ASCII
        return "malformed_signature"
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
        candidates = parts["v1"]
    except (KeyError, ValueError, IndexError):
        return "malformed_signature"
    try:
        signed_at = dt.datetime.fromtimestamp(timestamp, dt.UTC)
    except (OverflowError, ValueError, OSError):  # a timestamp no clock can show
        return "malformed_signature"
    if abs(now - signed_at) > TOLERANCE:
        return "stale_signature"
    for secret in secrets:
        expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
        if any(hmac.compare_digest(expected, candidate) for candidate in candidates):
            return None
    return "bad_signature"
