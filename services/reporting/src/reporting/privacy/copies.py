"""Reporting's read models of what an access request shows, from events: each account's pseudonymous debtor and
latest sealed copy of their data (restated, rectified, or announced for an account placed before #19), legal
holds, consent evidence. Rebuilt like any read model; never opened here (only the access request opens a sealed
copy, with the person's key)."""

from __future__ import annotations

from recaudo_common.bus.consumer import HandlerContext
from recaudo_common.events import (
    AccountContactRectified,
    AccountLegalHoldLifted,
    AccountLegalHoldSet,
    AccountPseudonymised,
    AccountUpdated,
    ContactConsentRecorded,
    ContactConsentsRecorded,
)
from reporting.privacy import store
from reporting.privacy.store import ConsentRecord, HoldChange, SealedCopy


async def on_updated(event: AccountUpdated, ctx: HandlerContext) -> None:
    await on_updated_many([(event, ctx)])


async def on_updated_many(events: list[tuple[AccountUpdated, HandlerContext]]) -> None:
    """A restatement changes no report figure (the placed balance stays as placed): only the debtor's copy."""
    await store.keep_sealed_copies(events[0][1].session, [
        SealedCopy(ctx.envelope.client, e.account_ref, e.debtor_ref, e.personal, ctx.envelope.occurred_at)
        for e, ctx in events])


async def on_rectified(event: AccountContactRectified, ctx: HandlerContext) -> None:
    await store.keep_sealed_copies(ctx.session, [
        SealedCopy(ctx.envelope.client, event.account_ref, event.debtor_ref, event.personal, event.rectified_at)])


async def on_pseudonymised(event: AccountPseudonymised, ctx: HandlerContext) -> None:
    """An account placed before #19 (its placement in clear, kept here without a debtor) gets its debtor's
    pseudonym and sealed copy, unless that person's erasure has completed: from then on an access or erasure
    request finds it. A newer copy (a restatement or rectification since) is kept over it."""
    await store.give_debtor(ctx.session, ctx.envelope.client, event.account_ref, event.debtor_ref)
    await store.keep_sealed_copies(ctx.session, [
        SealedCopy(ctx.envelope.client, event.account_ref, event.debtor_ref, event.personal, event.pseudonymised_at)])


async def on_hold(event: AccountLegalHoldSet | AccountLegalHoldLifted, ctx: HandlerContext) -> None:
    what, at = ("set", event.set_at) if isinstance(event, AccountLegalHoldSet) else ("lifted", event.lifted_at)
    await store.record_hold(ctx.session, HoldChange(ctx.envelope.event_id, ctx.envelope.client, event.account_ref,
                                                    event.hold, what, at))


async def on_consent(event: ContactConsentRecorded, ctx: HandlerContext) -> None:
    await on_consents([(event, ctx)])


async def on_consents(events: list[tuple[ContactConsentRecorded, HandlerContext]]) -> None:
    """The per-channel events outreach sent before #24, still in the log: each its one piece."""
    await store.record_consents(events[0][1].session, [ConsentRecord(
        ctx.envelope.event_id, ctx.envelope.client, e.account_ref, e.channel, e.what, e.source, e.recorded_at,
        e.evidence, e.text_version) for e, ctx in events])


async def on_account_consents(event: ContactConsentsRecorded, ctx: HandlerContext) -> None:
    await on_account_consents_many([(event, ctx)])


async def on_account_consents_many(events: list[tuple[ContactConsentsRecorded, HandlerContext]]) -> None:
    await store.record_consents(events[0][1].session, [ConsentRecord(
        ctx.envelope.event_id, ctx.envelope.client, e.account_ref, p.channel, p.what, p.source, e.recorded_at,
        p.evidence, p.text_version, piece) for e, ctx in events for piece, p in enumerate(e.pieces)])
