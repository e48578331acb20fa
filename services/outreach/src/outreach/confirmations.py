"""The debtor's payment confirmations (#21): payments' payment.checkout_updated (approved, declined, a cash voucher
waiting) becomes one message to the debtor, queued as an attempt on their usual channel, so it goes out through
the one send path: the contact law (hours, days, limits), opt-outs, do-not-contact, legal holds and pacing apply
to it as to any message. One per checkout reference and state, whatever the redelivery."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from outreach import store
from outreach.debtors import DebtorContext, recipient_of, rules_of
from outreach.domain.confirmations import (
    CONFIRMATION_CHANNELS,
    Confirmation,
    confirmation_channel,
    confirmation_kind,
    render_confirmation,
)
from outreach.domain.templates import Rendered
from outreach.messages import Renderer
from outreach.rendering import budget_of
from outreach.store import TrailEntry
from recaudo_common.bus.consumer import HandlerContext
from recaudo_common.db import sql
from recaudo_common.events import CheckoutUpdated

# A confirmation of the payment that paid the account off still goes: it is what that debtor most expects. Any
# other reason the law blocks contact (opted out, do-not-contact, a legal hold, a recall) blocks it too.
CLOSED_BY_PAYMENT = frozenset({"paid", "settled"})


async def on_checkout_updated(event: CheckoutUpdated, ctx: HandlerContext) -> None:
    s, client, now = ctx.session, ctx.envelope.client, ctx.now
    kind = confirmation_kind(event.status, event.voucher is not None)
    if kind is None or not await _first(s, client, event, now):
        return
    voucher = event.voucher
    confirmation = Confirmation(kind, event.reference, event.amount, event.currency,
                                voucher.network if voucher else None, voucher.reference if voucher else None,
                                voucher.expires_at if voucher else None)
    debtor = await store.contact_context(s, client, event.account_ref, now)
    channel = None if debtor is None else confirmation_channel(
        last_reached=await _last_reached(s, client, event.account_ref),
        treatment_channels=await _treatment_channels(s, client, event.account_ref),
        authorised=debtor.authorised_channels, opted_out=debtor.opted_out,
        reachable=frozenset(c for c in CONFIRMATION_CHANNELS if recipient_of(debtor, c)))
    if channel is None:
        await store.trail(s, [TrailEntry(client, event.account_ref, now, "confirmation_not_queued", detail={
            "confirmation": kind, "reference": event.reference,
            "reason": "account not known here" if debtor is None else "no written channel with a contact point"})])
        return
    attempt_id = uuid.uuid4()
    await s.execute(sql(
        """INSERT INTO outreach.attempts (id, client_slug, account_ref, plan_id, channel, sequence, status,
               scheduled_at, created_at, correlation_id, why, confirmation)
           VALUES (:id, :c, :r, NULL, :ch, 0, 'scheduled', :now, :now, :corr, :why, CAST(:confirmation AS jsonb))"""),
        {"id": attempt_id, "c": client, "r": event.account_ref, "ch": channel, "now": now,
         "corr": ctx.envelope.correlation_id, "why": f"payment confirmation ({kind})",
         "confirmation": json.dumps(confirmation.document())})
    await s.execute(sql("UPDATE outreach.checkout_confirmations SET attempt_id = :a WHERE client_slug = :c "
                        "AND reference = :ref AND status = :st"),
                    {"a": attempt_id, "c": client, "ref": event.reference, "st": event.status})
    await store.trail(s, [TrailEntry(client, event.account_ref, now, "scheduled", attempt_id, channel, {
        "confirmation": kind, "reference": event.reference, "scheduled_at": now.isoformat()})])


async def _first(s: AsyncSession, client: str, event: CheckoutUpdated, now: dt.datetime) -> bool:
    """True the first time this checkout's state is seen (payments may publish a state again)."""
    found = await s.scalar(sql(
        """INSERT INTO outreach.checkout_confirmations (client_slug, reference, status, account_ref, recorded_at)
           VALUES (:c, :ref, :st, :r, :now) ON CONFLICT DO NOTHING RETURNING 1"""),
        {"c": client, "ref": event.reference, "st": event.status, "r": event.account_ref, "now": now})
    return found is not None


async def _last_reached(s: AsyncSession, client: str, account_ref: str) -> str | None:
    found = await s.scalar(sql(
        """SELECT channel FROM outreach.attempts WHERE client_slug = :c AND account_ref = :r
             AND status IN ('sent', 'delivered', 'replied') AND channel = ANY(:written)
           ORDER BY sent_at DESC NULLS LAST LIMIT 1"""),
        {"c": client, "r": account_ref, "written": list(CONFIRMATION_CHANNELS)})
    return None if found is None else str(found)


async def _treatment_channels(s: AsyncSession, client: str, account_ref: str) -> tuple[str, ...]:
    found = await s.scalar(sql("SELECT channels FROM outreach.treatments WHERE client_slug = :c "
                               "AND account_ref = :r"), {"c": client, "r": account_ref})
    return tuple(found or ())


def as_the_law_sees_it(debtor: DebtorContext, confirmation: Confirmation | None) -> DebtorContext:
    """The debtor the contact law decides a message for: a confirmation's account counts as open when the payment
    closed it (CLOSED_BY_PAYMENT); everything else as it is."""
    if confirmation is not None and debtor.account_status in CLOSED_BY_PAYMENT:
        return dataclasses.replace(debtor, account_status="open")
    return debtor


def render(renderer: Renderer, debtor: DebtorContext, channel: str, confirmation: Confirmation) -> Rendered:
    """The confirmation's message for this debtor now (raises TemplateError when it may no longer go out)."""
    link, _ = renderer.link(debtor.client, debtor.account_ref)
    return render_confirmation(confirmation, channel, debtor.locale, creditor=debtor.creditor, payment_link=link,
                               opt_out_required=rules_of(debtor).opt_out_line, zone=debtor.timezone,
                               now=renderer.now, budget=budget_of(renderer.settings))
