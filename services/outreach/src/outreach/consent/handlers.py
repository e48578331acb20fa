"""Consent and holds: whether a debtor may be contacted now (the dialers' question), opt-outs by channel, the
do-not-contact list, legal holds that stop an account at once, a client company's stricter rules, and the
evidence of each channel's consent recorded with the change it accompanies."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from outreach import store
from outreach.consent import store as consent
from outreach.debtors import decide_collection
from outreach.domain.client_rules import RulesOverride
from outreach.domain.consent import ConsentChange, after, stated_by_client_file, withdrawn
from outreach.domain.contact_law import ContactDecision, CountryRules, RulesError, stricter_rules
from outreach.store import TrailEntry, outbox
from outreach.withdrawals import hold_unsent, withdraw_handed_out
from recaudo_common.db import Database
from recaudo_common.domain_errors import Conflict, Invalid, NotFound
from recaudo_common.events import (
    MAX_CONSENT_PIECES,
    AccountLegalHoldLifted,
    AccountLegalHoldSet,
    ConsentPiece,
    ContactConsentsRecorded,
    ContactOptedOut,
)
from recaudo_common.events.channels import CHANNELS
from recaudo_common.preconditions import IfMatch, check_if_match, etag_of


async def check(db: Database, *, client: str, account_ref: str, channel: str, at: dt.datetime) -> ContactDecision:
    """May this account's debtor be contacted on this channel at `at`? The contact law's answer, with why, and the
    collection hold's as the scheduler and the agent desk decide it (a promise pending, an arrangement standing)."""
    async with db.transaction() as s:
        debtor = await store.contact_context(s, client, account_ref, at)
    if debtor is None:
        raise NotFound(f"account {account_ref!r}")
    return decide_collection(debtor, channel, at)


async def opt_out_debtor(s: AsyncSession, client: str, debtor_id: str, channel: str, *, source: str,
                         evidence: uuid.UUID, now: dt.datetime) -> None:
    """Opts a debtor out of a channel (or "all": do-not-contact) on every account at the client company, with
    the withdrawal's evidence (`evidence`: the attempt a reply answered, the operator's key)."""
    if channel != "all" and not await consent.add_opt_out(s, client=client, debtor_id=debtor_id, channel=channel,
                                                          at=now, source=source):
        return
    refs = await consent.accounts_of_debtor(s, client, debtor_id)
    await hold_unsent(s, [(client, ref) for ref in refs])  # claims deciding on the person first; one lock order
    cancelled = await consent.cancel_scheduled_for_debtor(
        s, client, debtor_id, None if channel == "all" else channel,
        "opted out" if channel != "all" else "do not contact")
    if channel in {"all", "agent"}:  # a call already handed to an agent stops too, at once
        await withdraw_handed_out(s, [(client, ref) for ref in refs],
                                  "opted out" if channel != "all" else "do not contact", now)
    states = await consent.consent_states(s, [(client, ref) for ref in refs])
    await append_evidence(s, [
        (client, ref, change) for ref in refs
        for change in withdrawn(CHANNELS if channel == "all" else (channel,), states.get((client, ref), {}),
                                opt_out_source=source, evidence=evidence)], now)
    await store.trail(s, [TrailEntry(client, ref, now, "opted_out", channel=channel, detail={"source": source})
                          for ref in refs] + [
        TrailEntry(client, a.account_ref, now, "cancelled", a.attempt_id, a.channel, {"reason": source})
        for a in cancelled])
    await outbox.add(s, [ContactOptedOut(account_ref=ref, channel=channel, opted_out_at=now,
                                         source=source).envelope(client=client, occurred_at=now) for ref in refs])


async def add_do_not_contact(db: Database, *, client: str, debtor_id: str, reason: str, by: uuid.UUID,
                             now: dt.datetime) -> list[str]:
    """Every channel, every account of the debtor at the client company, for good; the accounts it stopped."""
    async with db.transaction() as s:
        refs = await consent.accounts_of_debtor(s, client, debtor_id)
        if not await consent.add_do_not_contact(s, client=client, debtor_id=debtor_id, reason=reason, at=now, by=by):
            raise Conflict("already_listed", "the debtor is already on the do-not-contact list")
        await opt_out_debtor(s, client, debtor_id, "all", source="do_not_contact", evidence=by, now=now)
    return refs


async def set_legal_hold(db: Database, *, client: str, account_ref: str, hold: str, note: str | None,
                         by: uuid.UUID, now: dt.datetime) -> bool:
    """Stops all contact with the account at once; False when that hold was already set."""
    async with db.transaction() as s:
        if not await store.account_exists(s, client, account_ref):
            raise NotFound(f"account {account_ref!r}")
        return await hold_account(s, client=client, account_ref=account_ref, hold=hold, note=note, by=by, now=now)


async def hold_account(s: AsyncSession, *, client: str, account_ref: str, hold: str, note: str | None,
                       by: uuid.UUID | None, now: dt.datetime) -> bool:
    """set_legal_hold in the caller's transaction (a debtor's "no reconozco" sets a dispute hold with the message
    that says it); `by` None when no operator set it."""
    if not await consent.set_legal_hold(s, client=client, account_ref=account_ref, hold=hold, note=note, at=now,
                                        by=by):
        return False
    # A death or an insolvency holds the person's every account at the client company (store.LEGAL_HOLD).
    held = (await consent.accounts_of_person(s, client, account_ref) if hold in {"deceased", "insolvency"}
            else [account_ref])
    # Waits for the claims deciding on those accounts' messages and calls now, before touching any (withdrawals.py).
    await hold_unsent(s, [(client, ref) for ref in held])
    cancelled = await store.cancel_scheduled(s, client, account_ref, f"legal hold: {hold}")
    await withdraw_handed_out(s, [(client, ref) for ref in held], f"legal hold: {hold}", now)
    await store.trail(s, [TrailEntry(client, account_ref, now, "legal_hold_set", detail={"hold": hold})] + [
        TrailEntry(client, account_ref, now, "cancelled", a.attempt_id, a.channel,
                   {"reason": f"legal hold: {hold}"}) for a in cancelled])
    await outbox.add(s, [AccountLegalHoldSet(account_ref=account_ref, hold=hold,
                                             set_at=now).envelope(client=client, occurred_at=now)])
    return True


async def lift_legal_hold(db: Database, *, client: str, account_ref: str, hold: str, by: uuid.UUID,
                          now: dt.datetime) -> None:
    async with db.transaction() as s:
        if not await consent.lift_legal_hold(s, client=client, account_ref=account_ref, hold=hold, at=now, by=by):
            raise NotFound(f"active {hold} hold on {account_ref!r}")
        await store.trail(s, [TrailEntry(client, account_ref, now, "legal_hold_lifted", detail={"hold": hold})])
        # Segmentation re-decides the treatment on this event; its new plan brings contact back.
        await outbox.add(s, [AccountLegalHoldLifted(account_ref=account_ref, hold=hold,
                                                    lifted_at=now).envelope(client=client, occurred_at=now)])


async def contact_rules(db: Database, *, client: str) -> RulesOverride | None:
    """The client company's own stricter rules as it saved them, or None."""
    async with db.transaction() as s:
        return await consent.get_client_rules(s, client)


def rules_in_force(country: str, override: RulesOverride | None, *, setting: bool = False) -> CountryRules:
    """The law's rules of the country narrowed by the client company's own (`setting`: as it sets them now, so a
    window on a day the law closes is refused rather than left out)."""
    return stricter_rules(country, override.document() if override else None, refuse_closed_days=setting)


def rules_etag(country: str, override: RulesOverride | None) -> str:
    """The ETag of the client company's contact rules as read (its own, over its country's law)."""
    return etag_of(country, override.document() if override else None)


async def replace_contact_rules(db: Database, *, client: str, country: str, override: RulesOverride,
                                now: dt.datetime, if_match: IfMatch | None = None) -> CountryRules:
    """Sets the client company's stricter rules; a rule looser than the law is refused. The rules in force. With
    `if_match`, only if its rules are still the ones the caller read."""
    try:
        rules = rules_in_force(country, override, setting=True)
    except RulesError as e:
        raise Invalid("rules_looser_than_law", str(e), title="Invalid contact rules") from e
    async with db.transaction() as s:
        if if_match is not None:
            await consent.lock_client_rules(s, client)
            check_if_match(if_match, rules_etag(country, await consent.get_client_rules(s, client)),
                           "the contact rules")
        await consent.put_client_rules(s, client, override, now)
    return rules


@dataclass(frozen=True)
class ClientFile:
    """The channels a client's file (a placement or a restatement) authorises for an account."""

    client: str
    account_ref: str
    portfolio_id: uuid.UUID
    channels: tuple[str, ...]


async def record_client_files(s: AsyncSession, files: Sequence[ClientFile], now: dt.datetime) -> None:
    """The consent evidence of placements and restatements, in order (one account may be stated twice in a
    batch), in the transaction that stores their contact data (so the debtor of a new account is known here and
    the withdrawals made on the debtor's other accounts hold for it too)."""
    keys = [(f.client, f.account_ref) for f in files]
    states = await consent.consent_states(s, keys)
    debtor_withdrew = await consent.debtor_withdrawals(s, keys)
    changes: list[tuple[str, str, ConsentChange]] = []
    for f in files:
        current = states.get((f.client, f.account_ref), {})
        stated = stated_by_client_file(f.channels, current, portfolio_id=f.portfolio_id,
                                       debtor_withdrew=debtor_withdrew.get((f.client, f.account_ref)))
        states[(f.client, f.account_ref)] = after(current, stated, now)
        changes += [(f.client, f.account_ref, change) for change in stated]
    await append_evidence(s, changes, now)


async def append_evidence(s: AsyncSession, changes: Sequence[tuple[str, str, ConsentChange]], now: dt.datetime
                          ) -> None:
    """Appends (client, account_ref, change) consent evidence and publishes it, one contact.consents_recorded per
    account carrying its pieces in order (through the outbox in the same transaction): the reference and the text's
    version, never a contact point. One event, not one per channel: a placement's grants were most of the contact
    topic during a large upload (#24)."""
    await consent.record_consent(s, changes, now)
    by_account: dict[tuple[str, str], list[ConsentPiece]] = {}
    for client, ref, c in changes:
        by_account.setdefault((client, ref), []).append(ConsentPiece(
            channel=c.channel, what=c.what, source=c.source, evidence=c.evidence, text_version=c.text_version))
    await outbox.add(s, [
        ContactConsentsRecorded(account_ref=ref, recorded_at=now, pieces=pieces[i:i + MAX_CONSENT_PIECES])
        .envelope(client=client, occurred_at=now)
        for (client, ref), pieces in by_account.items() for i in range(0, len(pieces), MAX_CONSENT_PIECES)])


async def consent_record(db: Database, *, client: str, account_ref: str) -> list[consent.RecordedConsent]:
    """The account's consent evidence in the order it was recorded; NotFound for an account not known here."""
    async with db.transaction() as s:
        if not await store.account_exists(s, client, account_ref):
            raise NotFound(f"account {account_ref!r}")
        return await consent.consent_evidence(s, client, account_ref)
