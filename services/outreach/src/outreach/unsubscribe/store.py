"""Unsubscribe's and bounces' queries: the attempt an unsubscribe link names, with its account's debtor and client
company; and the contact points never to use again (outreach.invalid_contact_points): addresses a mail server
refused for good, phones found not to be the debtor's (a wrong number)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from outreach.debtors import PHONE_CHANNELS, recipient
from recaudo_common.db import sql


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
    row = (await s.execute(sql(
        """SELECT a.id, a.client_slug, a.account_ref, a.channel, acc.debtor_id, c.name
           FROM outreach.attempts a
           JOIN outreach.accounts acc ON acc.client_slug = a.client_slug AND acc.account_ref = a.account_ref
           JOIN outreach.clients c ON c.slug = a.client_slug
           WHERE a.id = :id AND acc.debtor_id <> ''"""), {"id": attempt_id})).first()
    return LinkedAttempt(row[0], row[1], row[2], row[3], row[4], row[5]) if row else None


async def point_used(s: AsyncSession, *, client: str, account_ref: str, channel: str,
                     attempt_id: uuid.UUID | None) -> str | None:
    """The contact point a contact on this channel used: the recipient its attempt's message went to when it was
    a message, otherwise the one a message on that channel goes to (the account's first phone, as
    debtors.recipient chooses it, for an agent's call; its e-mail). None when the account has none."""
    if attempt_id is not None:
        sent = (await s.execute(sql(
            """SELECT m.recipient FROM outreach.outgoing m JOIN outreach.attempts a ON a.id = m.attempt_id
               WHERE a.id = :id AND a.client_slug = :c AND a.account_ref = :r"""),
            {"id": attempt_id, "c": client, "r": account_ref})).scalar()
        if sent:
            return str(sent)
    row = (await s.execute(sql("SELECT phones, email FROM outreach.accounts WHERE client_slug = :c "
                               "AND account_ref = :r"), {"c": client, "r": account_ref})).first()
    if row is None:
        return None
    return recipient(channel, phones=tuple(row[0] or ()), email=row[1], address=None)


async def mark_invalid(s: AsyncSession, *, attempt_id: uuid.UUID, channel: str, point: str, now: dt.datetime
                       ) -> list[tuple[str, str]] | None:
    """Records the contact point of this attempt as refused for good at its client company and takes it off every
    account of that company that has it on file (so neither planning nor sending finds it again). The accounts it
    was taken off, as (client, account_ref); None for an attempt not known here or a channel whose contact points
    are not kept here (a letter's postal address)."""
    row = (await s.execute(sql("SELECT client_slug, account_ref FROM outreach.attempts WHERE id = :id"),
                           {"id": attempt_id})).first()
    if row is None:
        return None
    return await mark_point_invalid(s, client=row[0], account_ref=row[1], channel=channel, point=point,
                                    attempt_id=attempt_id, now=now)


async def mark_point_invalid(s: AsyncSession, *, client: str, account_ref: str, channel: str, point: str,
                             attempt_id: uuid.UUID | None, now: dt.datetime) -> list[tuple[str, str]] | None:
    """mark_invalid for a contact point found dead or wrong on an account (an e-mail address a mail server
    refused, a phone an agent or a provider found not to be the debtor's), with the attempt that found it when
    there is one. A phone is kept under the phone channel that found it (an agent's call under voice: the
    table's channels) and is invalid for every phone channel: a number that is not the debtor's is not theirs
    on SMS or WhatsApp either."""
    if channel == "email":
        point, recorded_channel = point.strip().lower(), "email"
    elif channel in PHONE_CHANNELS:
        point, recorded_channel = point.strip(), "voice" if channel == "agent" else channel
    else:
        return None
    await s.execute(sql(
        """INSERT INTO outreach.invalid_contact_points (client_slug, channel, point, debtor_id, found_at, attempt_id)
           SELECT client_slug, :ch, :p, debtor_id, :now, :a FROM outreach.accounts
           WHERE client_slug = :c AND account_ref = :r AND debtor_id <> ''
           ON CONFLICT DO NOTHING"""),
        {"c": client, "r": account_ref, "ch": recorded_channel, "p": point, "now": now, "a": attempt_id})
    if recorded_channel == "email":
        taken = await s.execute(sql(
            "UPDATE outreach.accounts SET email = NULL WHERE client_slug = :c AND lower(email) = :p "
            "RETURNING client_slug, account_ref"), {"c": client, "p": point})
    else:
        taken = await s.execute(sql(
            "UPDATE outreach.accounts SET phones = array_remove(phones, CAST(:p AS text)) "
            # Contained, not = ANY(phones): the form the GIN index accounts_phones serves.
            "WHERE client_slug = :c AND phones @> ARRAY[CAST(:p AS text)] RETURNING client_slug, account_ref"),
            {"c": client, "p": point})
    return [(r[0], r[1]) for r in taken]
