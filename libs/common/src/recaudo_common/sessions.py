"""People's sessions: an opaque random token in an HttpOnly cookie, kept only as its SHA-256 in the identity schema
with an absolute expiry and an idle timeout, and the CSRF token that every unsafe request it signs must carry.

Every service checks a session the way it checks an API key (recaudo_common.auth.Authenticator): one statement
finds it, refuses it once revoked, expired, idle too long or its person disabled, and marks it used.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from typing import Literal

from recaudo_common.auth import Principal, Role
from recaudo_common.db import Database, sql

SESSION_COOKIE = "recaudo_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SESSION_SCHEME = "Session"
SignedInBy = Literal["password", "oidc"]
# last_seen_at is written at most this often, so a page's requests do not each write a row.
TOUCH_EVERY = dt.timedelta(seconds=60)


def new_token() -> str:
    return secrets.token_urlsafe(32)  # 256 bits


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token(session_token: str) -> str:
    """The CSRF token of a session: an HMAC keyed by the session's secret, so only a page that was given it (or
    that can read the HttpOnly cookie, which no script can) knows it; nothing more is stored."""
    return hmac.new(session_token.encode(), b"recaudo csrf v1", hashlib.sha256).hexdigest()


def csrf_matches(session_token: str, offered: str | None) -> bool:
    return offered is not None and hmac.compare_digest(csrf_token(session_token).encode(), offered.encode())


def session_token_of(cookie_header: str) -> str | None:
    """The session token a Cookie header carries, or None."""
    for part in cookie_header.split(";"):
        name, _, value = part.strip().partition("=")
        if name == SESSION_COOKIE and value:
            return value.strip('"')
    return None


def session_credentials(cookie_header: str) -> str:
    """The session a Cookie header carries as the credentials the gate hands the authenticator (`Session <token>`),
    or "" when it carries none."""
    token = session_token_of(cookie_header)
    return f"{SESSION_SCHEME} {token}" if token else ""


@dataclass(frozen=True)
class SessionRules:
    """How long a session lasts from sign-in, and how long it may go unused."""

    lifetime: dt.timedelta
    idle: dt.timedelta


class SessionStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def open(self, *, user_id: uuid.UUID, by: SignedInBy, rules: SessionRules, now: dt.datetime) -> str:
        """A new session for the person; returns its token (the cookie's value), which is kept nowhere."""
        token = new_token()
        async with self.db.transaction() as s:
            await s.execute(sql(
                "INSERT INTO identity.sessions (id, token_hash, user_id, signed_in_by, created_at, last_seen_at,"
                " expires_at, idle_s) VALUES (:id, :h, :u, :by, :now, :now, :exp, :idle)"),
                {"id": uuid.uuid4(), "h": hash_token(token), "u": user_id, "by": by, "now": now,
                 "exp": now + rules.lifetime, "idle": int(rules.idle.total_seconds())})
        return token

    async def principal(self, token: str, *, now: dt.datetime, touch: bool = True) -> Principal | None:
        """The person a live session signs in, with the client companies they are limited to, or None (unknown,
        revoked, expired, idle too long, or the person disabled). A live one is marked used, unless `touch` is off
        (a check that the person did not ask for, such as a live stream's, must not keep the session from idling)."""
        async with self.db.transaction() as s:
            row = (await s.execute(sql(
                "SELECT s.id, s.last_seen_at, u.id AS user_id, u.email, u.role, u.client_slug, u.client_scope"
                " FROM identity.sessions s JOIN identity.users u ON u.id = s.user_id"
                " WHERE s.token_hash = :h AND s.revoked_at IS NULL AND u.disabled_at IS NULL"
                " AND s.expires_at > :now AND s.last_seen_at + make_interval(secs => s.idle_s) > :now"),
                {"h": hash_token(token), "now": now})).mappings().first()
            if row is None:
                return None
            if touch and now - row["last_seen_at"] >= TOUCH_EVERY:
                await s.execute(sql("UPDATE identity.sessions SET last_seen_at = :now WHERE id = :id"),
                                {"id": row["id"], "now": now})
        role: Role = row["role"]
        # A scoped person is limited the way a scoped key is: every service's tenant check reads client_scope.
        scope = tuple(row["client_scope"]) if row["client_scope"] is not None else None
        return Principal(row["user_id"], role, row["client_slug"], scope, user_email=row["email"],
                         session_id=row["id"])

    async def revoke(self, token: str, *, now: dt.datetime) -> None:
        async with self.db.transaction() as s:
            await s.execute(sql("UPDATE identity.sessions SET revoked_at = :now WHERE token_hash = :h"
                                " AND revoked_at IS NULL"), {"h": hash_token(token), "now": now})

    async def revoke_all_of(self, user_id: uuid.UUID, *, now: dt.datetime) -> None:
        """Ends every session of a person (disabled, or given a new password)."""
        async with self.db.transaction() as s:
            await s.execute(sql("UPDATE identity.sessions SET revoked_at = :now WHERE user_id = :u"
                                " AND revoked_at IS NULL"), {"u": user_id, "now": now})
