"""Outreach's handlers: accounts and segments in -> scheduled attempts; the scheduler sends or reschedules."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from outreach import store
from outreach.domain.compliance import decide
from outreach.domain.messages import sms_body
from outreach.providers import OutboundMessage, Provider
from recaudo_common.bus.consumer import HandlerContext
from recaudo_common.db import Database
from recaudo_common.events import (
    AccountPlaced,
    AccountRecalled,
    AccountSegmented,
    AccountSettled,
    AccountUpdated,
    ContactAttempted,
    ContactBlocked,
    ContactDelivered,
    PaymentApplied,
    PaymentReversed,
)
from recaudo_common.outbox import Outbox

outbox = Outbox(store.SCHEMA)


async def on_account_stated(event: AccountPlaced | AccountUpdated, ctx: HandlerContext) -> None:
    await store.upsert_account(
        ctx.session, client=ctx.envelope.client, account_ref=event.account_ref, debtor_id=event.debtor_id,
        phones=list(event.phones), email=event.email, region=event.region, balance=event.balance,
        currency=event.currency, channels=list(event.authorised_channels), now=ctx.now)


async def on_segmented(event: AccountSegmented, ctx: HandlerContext) -> None:
    """One sandbox SMS per segmented account for now; issue #6 turns the treatment into a full cadence."""
    account = await store.get_account(ctx.session, ctx.envelope.client, event.account_ref)
    if account is None or account["status"] != "open":
        return
    if "sms" in event.channels and "sms" in account["authorised_channels"] and account["phones"]:
        await store.schedule_attempt(ctx.session, client=ctx.envelope.client, account_ref=event.account_ref,
                                     channel="sms", sequence=1, at=ctx.now, now=ctx.now)


async def _stop(ctx: HandlerContext, account_ref: str, status: str, balance: Decimal | None = None) -> None:
    await store.set_status(ctx.session, ctx.envelope.client, account_ref, status=status, balance=balance,
                           now=ctx.now)
    if status != "open":
        await store.cancel_scheduled(ctx.session, ctx.envelope.client, account_ref, f"account {status}")


async def on_recalled(event: AccountRecalled, ctx: HandlerContext) -> None:
    await _stop(ctx, event.account_ref, "recalled")


async def on_settled(event: AccountSettled, ctx: HandlerContext) -> None:
    await _stop(ctx, event.account_ref, "settled")


async def on_payment(event: PaymentApplied | PaymentReversed, ctx: HandlerContext) -> None:
    await _stop(ctx, event.account_ref, event.account_status, event.new_balance)


async def run_due_attempts(db: Database, provider: Provider, *, now: dt.datetime, limit: int = 200) -> int:
    """Sends what is due and allowed; reschedules what the law blocks to its next allowed instant."""
    async with db.transaction() as s:
        due = await store.claim_due(s, now, limit)
        envelopes = []
        for a in due:
            client = a["client_slug"]
            if a["account_status"] != "open":
                await store.cancel_attempt(s, a["id"], f"account {a['account_status']}")
                continue
            decision = decide(country=a["country"], timezone=a["timezone"], at=now)
            await store.record_decision(s, attempt_id=a["id"], now=now, local_time=decision.local_time.isoformat(),
                                        allowed=decision.allowed, reasons=list(decision.reasons),
                                        next_allowed_at=decision.next_allowed_at)
            if not decision.allowed:
                if decision.next_allowed_at is None:
                    await store.cancel_attempt(s, a["id"], "no allowed instant")
                else:
                    await store.reschedule(s, a["id"], decision.next_allowed_at)
                envelopes.append(ContactBlocked(
                    attempt_id=a["id"], account_ref=a["account_ref"], channel=a["channel"], decided_at=now,
                    reasons=list(decision.reasons), next_allowed_at=decision.next_allowed_at,
                ).envelope(client=client, occurred_at=now))
                continue
            body = sms_body(creditor=a["creditor"], account_ref=a["account_ref"], balance=a["balance"],
                            currency=a["currency"])
            await provider.send(s, OutboundMessage(a["id"], a["channel"], a["phones"][0], body), now=now)
            await store.mark_sent(s, a["id"], now)
            envelopes.append(ContactAttempted(
                attempt_id=a["id"], account_ref=a["account_ref"], channel=a["channel"], provider=provider.name,
                attempted_at=now, cost=provider.cost, template="sms_default").envelope(client=client, occurred_at=now))
            # The sandbox delivers at once; real providers report through their receipts webhook.
            envelopes.append(ContactDelivered(
                attempt_id=a["id"], account_ref=a["account_ref"], channel=a["channel"], delivered_at=now,
            ).envelope(client=client, occurred_at=now))
        await outbox.add(s, envelopes)
    return len(due)
