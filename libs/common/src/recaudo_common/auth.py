"""API-key and session authentication and authorisation. Identity is a platform component with its own schema,
read by every service's auth layer; keys and session tokens are stored only as SHA-256 hashes."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import Request

from recaudo_common.db import Database, sql
from recaudo_common.errors import ProblemError, forbidden, not_found
from recaudo_common.short_cache import ShortCache

# A key's roles; people (recaudo_common.people) have two more: a supervisor may do what an operator does but
# manage people and keys, an agent only what lists "agent" (the agent desk).
KeyRole = Literal["operator", "client", "sre"]
Role = Literal["operator", "supervisor", "agent", "client", "sre"]
ROLES: tuple[str, ...] = ("operator", "client", "sre")
USER_ROLES: tuple[Role, ...] = ("operator", "supervisor", "agent", "client", "sre")
AGENCY_STAFF: tuple[Role, ...] = ("operator", "supervisor", "agent")  # see every client company (within a scope)

IDENTITY_DDL = [
    "CREATE SCHEMA IF NOT EXISTS identity",
    """CREATE TABLE identity.api_keys (
        id uuid PRIMARY KEY,
        key_hash text NOT NULL UNIQUE,
        role text NOT NULL CHECK (role IN ('operator', 'client', 'sre')),
        client_slug text,
        client_scope text[],
        label text,
        created_at timestamptz NOT NULL,
        revoked_at timestamptz,
        CHECK ((role = 'client') = (client_slug IS NOT NULL)))""",
]


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    return "rk_" + secrets.token_urlsafe(32)


def key_hint(key: str) -> str:
    """What a listing shows of a key so its owner can recognise it: its last four characters, no more."""
    return key[-4:]


@dataclass(frozen=True)
class Principal:
    key_id: uuid.UUID
    role: Role
    client_slug: str | None = None
    client_scope: tuple[str, ...] | None = None
    expires_at: dt.datetime | None = None
    # A person signed in by the session cookie (recaudo_common.sessions): key_id is then their user id.
    user_email: str | None = None
    session_id: uuid.UUID | None = None

    @property
    def actor(self) -> str:
        """Who did something, as the records of it name the caller: the person's e-mail, or the key's id."""
        return f"user {self.user_email}" if self.user_email is not None else f"key {self.key_id}"

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles or (self.role == "supervisor" and "operator" in roles)

    def require_role(self, *roles: Role) -> None:
        if not self.has_role(*roles):
            raise forbidden(f"this endpoint needs one of the roles {', '.join(roles)}")

    def can_see_client(self, slug: str) -> bool:
        if self.role in AGENCY_STAFF:
            return self.client_scope is None or slug in self.client_scope
        return self.role == "client" and self.client_slug == slug

    def require_client(self, slug: str, *, roles: tuple[Role, ...] = ("operator", "client")) -> None:
        """A client key asking for another client's data gets 404, as if it did not exist."""
        self.require_role(*roles)
        if not self.can_see_client(slug):
            raise not_found(f"client company {slug!r}")


@dataclass(frozen=True)
class KeyRecord:
    """A key as a listing shows it: everything but the secret (and its hash), with a hint to recognise it."""

    id: uuid.UUID
    role: Role
    client_slug: str | None
    client_scope: tuple[str, ...] | None
    label: str | None
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    hint: str | None  # the last four characters; None for a key made before hints were kept


class KeyStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self, *, role: KeyRole, client_slug: str | None = None, client_scope: list[str] | None = None,
        label: str | None = None, now: dt.datetime, key: str | None = None, expires_at: dt.datetime | None = None,
    ) -> tuple[uuid.UUID, str]:
        if role not in ROLES:
            raise ValueError(f"unknown role {role}")
        if (role == "client") != (client_slug is not None):
            raise ValueError("a client key is bound to exactly one client company; other roles to none")
        if expires_at is not None and (expires_at.tzinfo is None or expires_at <= now):
            raise ValueError("a key's expiry must be a moment in the future, with its time zone")
        key = key or new_key()
        key_id = uuid.uuid4()
        async with self.db.transaction() as s:
            await s.execute(
                sql("INSERT INTO identity.api_keys (id, key_hash, role, client_slug, client_scope, label, "
                    "created_at, expires_at, key_hint) VALUES (:id, :h, :r, :c, :sc, :l, :t, :e, :hint) "
                    "ON CONFLICT (key_hash) DO NOTHING"),
                {"id": key_id, "h": hash_key(key), "r": role, "c": client_slug, "sc": client_scope,
                 "l": label, "t": now, "e": expires_at, "hint": key_hint(key)},
            )
        return key_id, key

    async def list(self, *, limit: int = 1000) -> list[KeyRecord]:
        """Every key, newest first, without its secret."""
        async with self.db.transaction() as s:
            rows = (await s.execute(
                sql("SELECT id, role, client_slug, client_scope, label, created_at, expires_at, revoked_at, "
                    "key_hint FROM identity.api_keys ORDER BY created_at DESC, id LIMIT :n"), {"n": limit},
            )).mappings().all()
        return [_record(row) for row in rows]

    async def revoke(self, key_id: uuid.UUID, *, now: dt.datetime) -> bool:
        async with self.db.transaction() as s:
            row = await s.execute(
                sql("UPDATE identity.api_keys SET revoked_at = :t WHERE id = :id AND revoked_at IS NULL "
                    "RETURNING id"), {"id": key_id, "t": now})
            return row.first() is not None

    async def lookup(self, key: str) -> Principal | None:
        """The key's principal (with its expiry, which the caller checks against its clock), or None when the
        key is unknown or revoked."""
        async with self.db.transaction() as s:
            row = (await s.execute(
                sql("SELECT id, role, client_slug, client_scope, expires_at FROM identity.api_keys "
                    "WHERE key_hash = :h AND revoked_at IS NULL"), {"h": hash_key(key)},
            )).mappings().first()
        if row is None:
            return None
        scope = tuple(row["client_scope"]) if row["client_scope"] is not None else None
        return Principal(row["id"], row["role"], row["client_slug"], scope, row["expires_at"])


def _record(row: Any) -> KeyRecord:
    scope = tuple(row["client_scope"]) if row["client_scope"] is not None else None
    return KeyRecord(row["id"], row["role"], row["client_slug"], scope, row["label"], row["created_at"],
                     row["expires_at"], row["revoked_at"], row["key_hint"])


class Authenticator:
    """FastAPI dependency: `principal: Principal = Depends(authenticator)`.

    A machine sends its API key (`Authorization: Bearer`); a person's browser its session cookie, and with every
    unsafe method the session's CSRF token (recaudo_common.sessions). A key wins when both are sent.
    Key lookups are cached for a few seconds, so a revoked key stops working within `ttl_s`; an expired one stops at
    its expiry (checked on every request against `clock`). Sessions are never cached: a sign-out, a disabled
    person or a new password ends them at once."""

    def __init__(self, keys: KeyStore, ttl_s: float = 5.0,
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)) -> None:
        from recaudo_common.sessions import SessionStore  # it reads Principal from here

        self.keys = keys
        self.sessions = SessionStore(keys.db)
        self.clock = clock
        # One lookup per key at a time: when an entry runs out under load, the requests that find it gone wait
        # for that one lookup instead of each asking the database (100 at once in the report benchmark, #24).
        self.keys_seen: ShortCache[str, Principal | None] = ShortCache(ttl_s)

    @property
    def ttl_s(self) -> float:
        return self.keys_seen.ttl_s

    @ttl_s.setter
    def ttl_s(self, value: float) -> None:
        self.keys_seen.ttl_s = value

    async def __call__(self, request: Request) -> Principal:
        from recaudo_common.sessions import CSRF_FIELD, CSRF_HEADER, SAFE_METHODS, csrf_matches, session_token_of

        # The gate (recaudo_common.gate) authenticated a request that carries a body before reading it.
        checked = getattr(request.state, "principal", None)
        principal = checked if isinstance(checked, Principal) else await self.authenticate(
            request.headers.get("authorization", ""), request.headers.get("cookie", ""))
        if principal.session_id is not None and request.method not in SAFE_METHODS and not request.headers.get(
                "authorization"):
            # A browser sends the cookie with a request another site makes it send; only the console's own pages
            # know the session's CSRF token. A form posts it as a field, a script as a header. (A session sent as
            # `Authorization: Session <token>` is no ambient credential: a bearer token, like a key.)
            offered = request.headers.get(CSRF_HEADER)
            if offered is None and request.headers.get("content-type", "").startswith(
                    "application/x-www-form-urlencoded"):
                field = (await request.form()).get(CSRF_FIELD)
                offered = field if isinstance(field, str) else None
            if not csrf_matches(session_token_of(request.headers.get("cookie", "")) or "", offered):
                raise ProblemError(403, "csrf_token_invalid", "Forbidden",
                                   f"a request signed in by the session cookie must carry the session's CSRF token "
                                   f"(the {CSRF_HEADER} header, or the {CSRF_FIELD} form field, of the console's "
                                   "page); API keys need none")
        return principal

    async def authenticate(self, header: str, cookie: str = "") -> Principal:
        """The principal an Authorization header's value (or, without one, the Cookie header's session) names, or
        the 401 problem that refuses it. The gate hands a session on as the credentials `Session <token>`."""
        from recaudo_common.sessions import SESSION_SCHEME, session_credentials

        scheme, _, token = (header or session_credentials(cookie)).partition(" ")
        if scheme == SESSION_SCHEME and token:
            session = await self.sessions.principal(token, now=self.clock())
            if session is None:
                raise ProblemError(401, "session_expired", "Unauthorized",
                                   "the session has ended (signed out, expired, unused too long, or its user "
                                   "disabled); sign in again at /console/sign-in",
                                   headers={"WWW-Authenticate": "Bearer"})
            return session
        key = token
        if scheme.lower() != "bearer" or not key:
            raise ProblemError(401, "unauthorized", "Unauthorized",
                               "send Authorization: Bearer <api key>, or sign in at /console/sign-in",
                               headers={"WWW-Authenticate": "Bearer"})
        principal = await self.keys_seen.get(hash_key(key), lambda: self.keys.lookup(key))
        if principal is None:
            raise ProblemError(401, "invalid_api_key", "Unauthorized", "unknown or revoked API key",
                               headers={"WWW-Authenticate": "Bearer"})
        if principal.expires_at is not None and principal.expires_at <= self.clock():
            raise ProblemError(401, "expired_api_key", "Unauthorized",
                               f"this API key expired at {principal.expires_at.isoformat()}; ask an operator "
                               "for a new one", headers={"WWW-Authenticate": "Bearer"})
        return principal
