"""Bounces that come after a message was taken: a delivery status notification (RFC 3464) for one of our messages
fails its attempt (as a provider's failed status would) and, when it reports the address we sent to as failed for
good, marks that address invalid. The entry point for whatever reads the envelope sender's mailbox (no poller is
built yet: the synchronous refusal at RCPT TO is the mechanism in use, providers/smtp.py)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import text

from outreach.domain.unsubscribe import permanent_failures, returned_message_id
from outreach.providers.base import Receipt
from outreach.receipts.delivery import apply_statuses
from outreach.unsubscribe.handlers import contact_point_refused
from recaudo_common.db import Database

PROVIDER = "smtp"


@dataclass(frozen=True)
class Bounce:
    """What a notification did: the attempt it named (None: not one of ours, or not a permanent failure), whether
    that attempt's status changed, and whether its address was marked invalid."""

    attempt_id: uuid.UUID | None
    failed: bool = False
    address_invalid: bool = False


async def bounce_received(db: Database, dsn: bytes, *, now: dt.datetime) -> Bounce:
    """Applies a delivery status notification, once: a second copy changes nothing."""
    failures = permanent_failures(dsn)
    message_id = returned_message_id(dsn)
    if not failures or message_id is None:
        return Bounce(None)
    async with db.transaction() as s:
        row = (await s.execute(text(
            """SELECT a.id, a.client_slug, a.account_ref, a.channel, acc.email
               FROM outreach.attempts a
               JOIN outreach.accounts acc ON acc.client_slug = a.client_slug AND acc.account_ref = a.account_ref
               WHERE a.provider = :p AND a.provider_message_id = :m"""), {"p": PROVIDER, "m": message_id})).first()
        if row is None:
            return Bounce(None)
        status = failures[0].status
        [outcome] = await apply_statuses(s, PROVIDER, [(Receipt(message_id, "failed", f"bounced: {status}"), now)])
        # Only the address this account has on file, as the notification names it: a forwarding address or any
        # other the report names is nobody's contact point here.
        dead = [f for f in failures if row.email and f.recipient.strip().lower() == row.email.strip().lower()]
        for failure in dead[:1]:
            await contact_point_refused(s, client=row.client_slug, account_ref=row.account_ref, attempt_id=row.id,
                                        channel=row.channel, point=failure.recipient, now=now)
    return Bounce(row.id, failed=outcome == "applied", address_invalid=bool(dead))
