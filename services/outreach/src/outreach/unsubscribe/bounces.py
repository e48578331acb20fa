"""Bounces that come after a message was taken: a delivery status notification (RFC 3464) for one of our messages
that says a server gave up on it fails its attempt (as a provider's failed status would, forward only) and, when
it reports the address we sent to as failed for good, marks that address invalid. Fed by the bounce receiver
(unsubscribe/receiver.py); the synchronous refusal at RCPT TO is providers/smtp.py's."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Literal

from outreach.domain.delivery_reports import DeliveryReport, delivery_report
from outreach.providers.base import Receipt
from outreach.receipts.delivery import apply_statuses
from outreach.unsubscribe.handlers import contact_point_refused
from recaudo_common.db import Database, sql

PROVIDER = "smtp"
# What a report did, the bounce receiver's metric label: no report at all, one for a message not ours (or naming
# none), one that reports no failure (delayed, delivered, relayed), a failure applied, or one already applied.
Outcome = Literal["not_a_report", "not_ours", "not_failed", "applied", "duplicate"]


@dataclass(frozen=True)
class Bounce:
    """What a notification did: the attempt it named (None: not one of ours, or not a failure), whether that
    attempt's status changed, and whether its address was marked invalid."""

    attempt_id: uuid.UUID | None
    failed: bool = False
    address_invalid: bool = False
    outcome: Outcome = "not_ours"


async def bounce_received(db: Database, dsn: bytes, *, now: dt.datetime) -> Bounce:
    """Applies a delivery status notification as received, once: a second copy changes nothing."""
    return await report_received(db, delivery_report(dsn), now=now)


async def report_received(db: Database, report: DeliveryReport | None, *, now: dt.datetime) -> Bounce:
    """Applies a report already read (the receiver reads it off the event loop), once."""
    if report is None:
        return Bounce(None, outcome="not_a_report")
    if report.message_id is None:
        return Bounce(None, outcome="not_ours")
    failures = report.failed
    if not failures:
        return Bounce(None, outcome="not_failed")
    async with db.transaction() as s:
        row = (await s.execute(sql(
            """SELECT a.id, a.client_slug, a.account_ref, a.channel, acc.email
               FROM outreach.attempts a
               JOIN outreach.accounts acc ON acc.client_slug = a.client_slug AND acc.account_ref = a.account_ref
               WHERE a.provider = :p AND a.provider_message_id = :m"""), {"p": PROVIDER, "m": report.message_id}
        )).first()
        if row is None:
            return Bounce(None, outcome="not_ours")
        status = failures[0].status or "no status"
        [outcome] = await apply_statuses(s, PROVIDER, [(Receipt(report.message_id, "failed", f"bounced: {status}"),
                                                        now)])
        # Only the address this account has on file, as the notification names it, and only when its status says
        # the address itself is dead: a forwarding address, a full mailbox or a message that outlived the queue
        # (4.x.x) is nobody's dead contact point here.
        on_file = (row.email or "").strip().lower()
        dead = [f for f in report.dead if on_file and f.recipient.lower() == on_file]
        marked = False
        for failure in dead[:1]:
            marked = await contact_point_refused(s, client=row.client_slug, account_ref=row.account_ref,
                                                 attempt_id=row.id, channel=row.channel, point=failure.recipient,
                                                 now=now)
    applied = outcome == "applied"
    # A second copy of the report changes nothing, and says so (the metric counts it as a duplicate).
    return Bounce(row.id, failed=applied, address_invalid=bool(dead),
                  outcome="applied" if applied or marked else "duplicate")
