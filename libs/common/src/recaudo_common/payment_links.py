"""Signed payment-link tokens: `client.account_ref.expiry.signature`, HMAC-SHA256 with the platform's link
secret. Outreach puts them in every message; payments reads the account from one without asking anyone."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass


@dataclass(frozen=True)
class LinkTarget:
    client: str
    account_ref: str
    expires_at: dt.datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(payload: str, secret: str) -> str:
    """The platform's signature of a link's payload (HMAC-SHA256 with the link secret, 144 bits, base64url).
    Every signed link is made with it; a link of another kind starts its payload with a label that no payment
    link can start with (a character outside base64url), so one kind's signature never passes for another's."""
    return _b64(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()[:18])


def signed(payload: str, signature: str, secret: str) -> bool:
    """Whether `signature` is the platform's for `payload`, compared in constant time (as bytes: any text)."""
    return hmac.compare_digest(sign(payload, secret).encode(), signature.encode())


def make_token(*, client: str, account_ref: str, expires_at: dt.datetime, secret: str) -> str:
    payload = f"{_b64(client.encode())}.{_b64(account_ref.encode())}.{int(expires_at.timestamp())}"
    return f"{payload}.{sign(payload, secret)}"


def read_token(token: str, *, secret: str, now: dt.datetime, allow_expired: bool = False) -> LinkTarget | None:
    """The link's account, or None when the token is malformed, forged, or expired (payments made through a
    link that expired in the meantime still match: `allow_expired`)."""
    try:
        client_part, account_part, expiry_part, signature = token.split(".")
        payload = f"{client_part}.{account_part}.{expiry_part}"
        if not signed(payload, signature, secret):
            return None
        expires_at = dt.datetime.fromtimestamp(int(expiry_part), dt.UTC)
        target = LinkTarget(_unb64(client_part).decode(), _unb64(account_part).decode(), expires_at)
    except (ValueError, UnicodeDecodeError):
        return None
    if not allow_expired and now >= expires_at:
        return None
    return target
