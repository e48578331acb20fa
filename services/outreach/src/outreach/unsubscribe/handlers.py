"""E-mail unsubscribes and bounces: a one-click unsubscribe (RFC 8058) opts the debtor out of e-mail at once, with
the attempt that carried the link as the withdrawal's evidence; an address a mail server refused for good is
never used again at the client company, nor a phone found not to be the debtor's (a wrong number), and the audit
trail says so without saying which address or number."""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from outreach import store
from outreach.consent.handlers import opt_out_debtor
from outreach.domain.unsubscribe import read_unsubscribe_token
from outreach.settings import OutreachSettings
from outreach.store import TrailEntry
from outreach.unsubscribe import store as unsubscribes
from outreach.unsubscribe.store import LinkedAttempt
from recaudo_common.db import Database

log = logging.getLogger("recaudo.outreach")
SOURCE = "unsubscribe"


async def linked(db: Database, settings: OutreachSettings, token: str) -> LinkedAttempt | None:
    """The attempt a link names, or None when the link is not the platform's (malformed, forged, tampered), its
    attempt is not known here, its channel is not the link's, or its debtor was erased."""
    target = read_unsubscribe_token(token, settings.link_secret)
    if target is None:
        return None
    async with db.transaction() as s:
        attempt = await unsubscribes.linked_attempt(s, target.attempt_id)
    if attempt is None or attempt.channel != target.channel:
        return None
    return attempt


async def unsubscribe(db: Database, settings: OutreachSettings, token: str, *, now: dt.datetime
                      ) -> LinkedAttempt | None:
    """Opts the link's debtor out of its channel at every account at the client company (the consent evidence,
    the trail, contact.opted_out and the cancellation of what was still to be sent, as any opt-out), or does
    nothing and answers None for a link that is not valid. Again for the same debtor: nothing more is recorded."""
    attempt = await linked(db, settings, token)
    if attempt is None:
        return None
    async with db.transaction() as s:
        await opt_out_debtor(s, attempt.client, attempt.debtor_id, attempt.channel, source=SOURCE,
                             evidence=attempt.attempt_id, now=now)
    log.info("unsubscribed", extra={"fields": {"client": attempt.client, "channel": attempt.channel}})
    return attempt


async def contact_point_refused(s: AsyncSession, *, client: str, account_ref: str, attempt_id: uuid.UUID,
                                channel: str, point: str, now: dt.datetime) -> bool:
    """A mail server refused this attempt's address for good, or a phone provider its number (each provider said
    so when it was handed over): the contact point is recorded as invalid at the client company and taken off
    every account that has it, in the caller's transaction (the one that fails the attempt). The trail names the
    attempt, never the address or number. False when it was already recorded (a second copy changes nothing)."""
    taken = await unsubscribes.mark_invalid(s, attempt_id=attempt_id, channel=channel, point=point, now=now)
    if taken is None:
        return False
    reason = "address refused by the mail server" if channel == "email" else "number refused by the provider"
    await invalid_in_trail(s, client, account_ref, taken, attempt_id=attempt_id, channel=channel, reason=reason,
                           now=now)
    return True


async def wrong_number(s: AsyncSession, *, client: str, account_ref: str, channel: str,
                       attempt_id: uuid.UUID | None, now: dt.datetime) -> bool:
    """A contact reached someone who is not the debtor (an agent's wrong_number): the contact point it used
    (unsubscribes.point_used) is never used again at the client company, like a dead address, in the caller's
    transaction. False when the channel keeps no contact point here or the account has none on it."""
    point = await unsubscribes.point_used(s, client=client, account_ref=account_ref, channel=channel,
                                          attempt_id=attempt_id)
    if point is None:
        return False
    taken = await unsubscribes.mark_point_invalid(s, client=client, account_ref=account_ref, channel=channel,
                                                  point=point, attempt_id=attempt_id, now=now)
    if taken is None:
        return False
    await invalid_in_trail(s, client, account_ref, taken, attempt_id=attempt_id, channel=channel,
                           reason="wrong number", now=now)
    return True


async def invalid_in_trail(s: AsyncSession, client: str, account_ref: str, taken: list[tuple[str, str]], *,
                           attempt_id: uuid.UUID | None, channel: str, reason: str, now: dt.datetime) -> None:
    accounts = dict.fromkeys([(client, account_ref), *taken])
    await store.trail(s, [TrailEntry(c, ref, now, "contact_point_invalid", attempt_id, channel, {"reason": reason})
                          for c, ref in accounts])
