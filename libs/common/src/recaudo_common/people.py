"""Named users of the console: who they are (an e-mail, unique whatever its case), what role they have, their
password hashed with argon2id, an optional TOTP second factor, and whether they are disabled."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError

from recaudo_common.auth import Role
from recaudo_common.db import Database, sql
from recaudo_common.ids import time_ordered_id
from recaudo_common.personal_data import MasterKeyring
from recaudo_common.secrets_at_rest import open_secret, seal_secret
from recaudo_common.settings import PlatformSettings

MAX_PASSWORD_CHARS = 256  # hashing is bounded; a passphrase needs no more
MAX_EMAIL_CHARS = 254  # RFC 5321's path limit
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")


@cache
def hasher() -> PasswordHasher:
    """argon2id with the library's defaults (RFC 9106's second recommended option: 64 MiB, 3 passes)."""
    return PasswordHasher()


async def hash_password(password: str) -> str:
    # Tens of milliseconds of CPU and 64 MiB: off the event loop.
    return await asyncio.to_thread(hasher().hash, password)


async def password_matches(stored: str | None, password: str) -> bool:
    """Whether `password` is the one `stored` hashes. With nothing stored (an unknown e-mail, a person who signs in
    only through an identity provider) a dummy hash is checked all the same, so the answer takes as long."""
    try:
        return await asyncio.to_thread(hasher().verify, stored or _dummy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


@cache
def _dummy_hash() -> str:
    return hasher().hash("not anyone's password")


def _totp_bound(email: str) -> str:
    return f"identity/users/{normal_email(email)}/totp"


def seal_totp(settings: PlatformSettings, *, email: str, secret: str) -> str:
    """A user's TOTP secret as it is kept: sealed under the vault's master keys (recaudo_common.secrets_at_rest),
    bound to the user, so a database read alone does not give anyone the second factor."""
    keyring = MasterKeyring.of_settings(settings)
    return seal_secret(keyring, _totp_bound(email), secret)


def open_totp(settings: PlatformSettings, *, email: str, sealed: str) -> str:
    keyring = MasterKeyring.of_settings(settings)
    return open_secret(keyring, _totp_bound(email), sealed)


def normal_email(email: str) -> str:
    return email.strip().lower()


def email_problem(email: str) -> str | None:
    if len(email) > MAX_EMAIL_CHARS:
        return f"email is longer than {MAX_EMAIL_CHARS} characters"
    if not _EMAIL.fullmatch(email.strip()):
        return "email is not an e-mail address (name@domain)"
    return None


def password_problem(password: str, *, email: str, min_chars: int) -> str | None:
    """Why a password is refused, or None: too short, too long, or the e-mail itself. Length is what makes a
    password strong (NIST SP 800-63B 5.1.1.2); no composition rules."""
    if len(password) < min_chars:
        return f"the password must have at least {min_chars} characters"
    if len(password) > MAX_PASSWORD_CHARS:
        return f"the password may have at most {MAX_PASSWORD_CHARS} characters"
    if normal_email(password) == normal_email(email):
        return "the password may not be the e-mail address"
    return None


@dataclass(frozen=True)
class User:
    id: uuid.UUID
    email: str
    role: Role
    client_slug: str | None
    created_at: dt.datetime
    created_by: str
    disabled_at: dt.datetime | None
    has_password: bool
    has_totp: bool
    # The client companies an agency user (operator, supervisor, agent) is limited to; None: every one.
    client_scope: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Credentials:
    """What signing in checks: the user (None when the e-mail is unknown), the password hash and TOTP secret."""

    user: User | None
    password_hash: str | None
    totp_secret: str | None


class EmailTaken(Exception):
    pass


class ScopeRefused(Exception):
    """A client scope on a user who cannot have one (a client company's user, an SRE)."""


_COLUMNS = ("id, email, role, client_slug, created_at, created_by, disabled_at,"
            " password_hash IS NOT NULL AS has_password, totp_secret IS NOT NULL AS has_totp, client_scope")


def _user(row: object) -> User:
    m = row._mapping  # type: ignore[attr-defined]
    scope = tuple(m["client_scope"]) if m["client_scope"] is not None else None
    return User(m["id"], m["email"], m["role"], m["client_slug"], m["created_at"], m["created_by"],
                m["disabled_at"], m["has_password"], m["has_totp"], scope)


class UserStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, *, email: str, role: Role, client_slug: str | None, password_hash: str | None,
                     totp_secret: str | None, by: str, now: dt.datetime,
                     client_scope: Sequence[str] | None = None) -> User:
        user_id = time_ordered_id()  # the listing's tie-break keeps the order they were made in
        try:
            async with self.db.transaction() as s:
                row = (await s.execute(sql(
                    "INSERT INTO identity.users (id, email, role, client_slug, password_hash, totp_secret,"
                    " created_at, created_by, client_scope) VALUES (:id, :e, :r, :c, :p, :t, :now, :by, :sc)"
                    f" RETURNING {_COLUMNS}"),
                    {"id": user_id, "e": email.strip(), "r": role, "c": client_slug, "p": password_hash,
                     "t": totp_secret, "now": now, "by": by,
                     "sc": list(client_scope) if client_scope is not None else None})).one()
        except IntegrityError as e:
            if "users_email" in str(e.orig):
                raise EmailTaken(email) from e
            raise
        return _user(row)

    async def set_client_scope(self, user_id: uuid.UUID, client_scope: Sequence[str] | None) -> User | None:
        """Limits an agency user to these client companies (None: every one). Their live sessions carry the new
        scope from their next request: a session's principal is read afresh each time."""
        try:
            async with self.db.transaction() as s:
                row = (await s.execute(sql(
                    f"UPDATE identity.users SET client_scope = :sc WHERE id = :id RETURNING {_COLUMNS}"),
                    {"id": user_id, "sc": list(client_scope) if client_scope is not None else None})).first()
        except IntegrityError as e:
            if "users_scope_of_agency_staff" in str(e.orig):
                raise ScopeRefused(str(user_id)) from e
            raise
        return _user(row) if row is not None else None

    async def get(self, user_id: uuid.UUID) -> User | None:
        async with self.db.transaction() as s:
            row = (await s.execute(sql(f"SELECT {_COLUMNS} FROM identity.users WHERE id = :id"),
                                   {"id": user_id})).first()
        return _user(row) if row is not None else None

    async def page(self, *, after: tuple[dt.datetime, uuid.UUID] | None, limit: int) -> list[User]:
        """Users newest first, from just after `after`; at most `limit`."""
        where = "WHERE (created_at, id) < (:at, :id)" if after is not None else ""
        async with self.db.transaction() as s:
            rows = (await s.execute(sql(
                f"SELECT {_COLUMNS} FROM identity.users {where} ORDER BY created_at DESC, id DESC LIMIT :n"),
                {"at": after[0] if after else None, "id": after[1] if after else None, "n": limit})).all()
        return [_user(r) for r in rows]

    async def credentials(self, email: str) -> Credentials:
        async with self.db.transaction() as s:
            row = (await s.execute(sql(
                f"SELECT {_COLUMNS}, password_hash, totp_secret FROM identity.users WHERE lower(email) = :e"),
                {"e": normal_email(email)})).first()
        if row is None:
            return Credentials(None, None, None)
        return Credentials(_user(row), row._mapping["password_hash"], row._mapping["totp_secret"])

    async def by_email(self, email: str) -> User | None:
        return (await self.credentials(email)).user

    async def disable(self, user_id: uuid.UUID, *, now: dt.datetime) -> User | None:
        """Disables the user (once; a second time changes nothing) and ends their sessions."""
        async with self.db.transaction() as s:
            row = (await s.execute(sql(
                "UPDATE identity.users SET disabled_at = coalesce(disabled_at, :now) WHERE id = :id"
                f" RETURNING {_COLUMNS}"), {"id": user_id, "now": now})).first()
            await s.execute(sql("UPDATE identity.sessions SET revoked_at = :now WHERE user_id = :id"
                                " AND revoked_at IS NULL"), {"id": user_id, "now": now})
        return _user(row) if row is not None else None

    async def set_password(self, user_id: uuid.UUID, password_hash: str, *, now: dt.datetime) -> User | None:
        """A new password (an operator's reset); every session of the user ends with the old one."""
        async with self.db.transaction() as s:
            row = (await s.execute(sql(
                "UPDATE identity.users SET password_hash = :p, password_changed_at = :now WHERE id = :id"
                f" RETURNING {_COLUMNS}"), {"id": user_id, "p": password_hash, "now": now})).first()
            await s.execute(sql("UPDATE identity.sessions SET revoked_at = :now WHERE user_id = :id"
                                " AND revoked_at IS NULL"), {"id": user_id, "now": now})
        return _user(row) if row is not None else None
