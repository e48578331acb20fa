"""Unsubscribe's and bounces' queries: the attempt an unsubscribe link names, with its account's debtor and client
company; and the contact points a mail server refused for good (outreach.invalid_contact_points)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class LinkedAttempt:
    """The attempt whose message carried an unsubscribe link: its client company, account, channel and debtor."""

    attempt_id: uuid.UUID
    client: str
    account_ref: str
    channel: str
    debtor_id: str
    creditor: str


async def linked_attempt(s: AsyncSession, attempt_id: uuid.UUID) -> LinkedAttempt | None:
    """The attempt and its account's debtor, or None when it is not known here or its debtor was erased."""
    row = (await s.execute(text(
        """SELECT a.id, a.client_slug, a.account_ref, a.channel, acc.debtor_id, c.name
           FROM outreach.attempts a
           JOIN outreach.accounts acc ON acc.client_slug = a.client_slug AND acc.account_ref = a.account_ref
           JOIN outreach.clients c ON c.slug = a.client_slug
           WHERE a.id = :id AND acc.debtor_id <> ''"""), {"id": attempt_id})).first()
    return LinkedAttempt(row[0], row[1], row[2], row[3], row[4], row[5]) if row else None


async def mark_invalid(s: AsyncSession, *, attempt_id: uuid.UUID, channel: str, point: str, now: dt.datetime
                       ) -> list[tuple[str, str]] | None:
    """Records the contact point of this attempt as refused for good at its client company and takes it off every
    account of that company that has it on file (so neither planning nor sending finds it again). The accounts it
    was taken off, as (client, account_ref); None for a channel whose contact points are not kept here."""
    if channel != "email":  # only e-mail has a bounce here; a phone's wrong number is the agent desk's
        return None
    point = point.strip().lower()
    recorded = (await s.execute(text(
        """INSERT INTO outreach.invalid_contact_points (client_slug, channel, point, debtor_id, found_at, attempt_id)
           SELECT a.client_slug, :ch, :p, acc.debtor_id, :now, a.id
           FROM outreach.attempts a
           JOIN outreach.accounts acc ON acc.client_slug = a.client_slug AND acc.account_ref = a.account_ref
           WHERE a.id = :id AND acc.debtor_id <> ''
           ON CONFLICT DO NOTHING RETURNING client_slug"""),
        {"id": attempt_id, "ch": channel, "p": point, "now": now})).first()
    client = recorded[0] if recorded else (await s.execute(text(
        "SELECT client_slug FROM outreach.attempts WHERE id = :id"), {"id": attempt_id})).scalar()
    if client is None:
        return None
    taken = await s.execute(text(
        "UPDATE outreach.accounts SET email = NULL WHERE client_slug = :c AND lower(email) = :p "
        "RETURNING client_slug, account_ref"), {"c": client, "p": point})
    return [(r[0], r[1]) for r in taken]
