"""Agent calls handed out and not yet logged, withdrawn when a fact that always blocks arrives for their account or
debtor (a recall, an account paid or settled, an opt-out of the agent channel, the do-not-contact list, a legal
hold, the person's erasure, a do_not_pursue treatment): in the transaction that records the fact, with why, in the
trail. The hand-out's contact stops counting:
the call was not made, and the agent's desk refuses its outcome (agent_desk.handlers)."""

from __future__ import annotations

import datetime as dt
import typing
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from outreach.store import Cancelled, TrailEntry, outbox, trail
from recaudo_common.db import sql, unnest_rows
from recaudo_common.events import ContactWithdrawn, WithdrawalReason

# A withdrawn call is a cancelled attempt whose reason starts so: the desk tells it from one cancelled otherwise.
WITHDRAWN = "withdrawn: "
# The reasons of the two facts the contact law does not judge (erasure/handlers.py, planning/handlers.py), given by
# their handlers and by the desk's check (standing_reason) alike.
PERSON_ERASED = "person erased"
NOT_PURSUED = "not pursued"


# The code contact.withdrawn carries for each of the words above (the trail and the desk keep the words): the
# handlers' own, and the contact law's codes the desk's check joins (current_call), the first in the catalogue's order.
_CODES: dict[str, WithdrawalReason] = {
    "account recalled": "account_recalled", "account paid": "account_paid", "account settled": "account_settled",
    "account written_off": "account_written_off", "opted out": "opted_out", "do not contact": "do_not_contact",
    PERSON_ERASED: "person_erased", NOT_PURSUED: "not_pursued"}
_ORDER: tuple[WithdrawalReason, ...] = typing.get_args(WithdrawalReason)


def reason_code(reason: str) -> WithdrawalReason:
    """The code of a withdrawal's `reason` (`legal hold: <hold>` is `legal_hold`, whatever the hold); a reason
    with no code is refused loudly (test_withdrawal_reasons checks every one the handlers give)."""
    if reason.startswith("legal hold: "):
        return "legal_hold"
    said = {_CODES.get(part, part) for part in reason.split(", ")}
    for code in _ORDER:
        if code in said:
            return code
    raise ValueError(f"no withdrawal reason code for {reason!r}")


async def hold_unsent(s: AsyncSession, accounts: Sequence[tuple[str, str]]) -> None:
    """Locks the accounts' (client, account_ref) contacts not made yet, every channel's scheduled attempts and the
    calls handed out, in the order of their ids, before a block that always stops them cancels or withdraws any.

    A claim (the scheduler's, sending.handlers.claim_due, or an agent's next call) holds the attempts it picks until
    it commits, so a block waits here for the claims of the person's messages and calls, which decided before it,
    and a claim after it skips what it holds or, once it has the debtor, reads the block (store.blocks_now): a
    death held on another of the person's accounts, which touches no attempt of this one, can no longer commit
    between a claim's decision and its lease. One order for every block: two blocks on one person at once (a
    death and an insolvency on two of their accounts) wait for each other in turn, never in a cycle (40P01)."""
    if not accounts:
        return
    source, params = unnest_rows({"client_slug": "text", "account_ref": "text"}, accounts, alias="k")
    await s.execute(sql(
        f"""SELECT a.id FROM {source} JOIN outreach.attempts a ON a.client_slug = k.client_slug
                AND a.account_ref = k.account_ref
            WHERE a.status = 'scheduled' OR (a.status = 'assigned' AND a.channel = 'agent')
            ORDER BY a.id FOR UPDATE OF a"""), params)


async def withdraw_handed_out(s: AsyncSession, accounts: Sequence[tuple[str, str]], reason: str, now: dt.datetime
                              ) -> list[Cancelled]:
    """The accounts' (client, account_ref) agent calls handed out and not yet logged, withdrawn for `reason`.

    A hand-out that commits while this runs is caught either way. Its claim (agent_desk.handlers.next_for_agent)
    holds the attempt from the moment it picks it, still `scheduled`: the calls are locked here scheduled or
    assigned, so this waits for such a claim and then sees the call assigned, even on an account the block's own
    cancellation did not touch (a death held on another of the person's accounts). A claim that picks the attempt
    after this let go reads the block again once it holds the debtor, and no longer hands the call out. An outcome
    being logged holds the attempt too (handed_out_call): the calls are locked first and their contacts read once
    held, so a call logged meanwhile stays logged, and one withdrawn first is refused to the agent."""
    if not accounts:
        return []
    source, params = unnest_rows({"client_slug": "text", "account_ref": "text"}, accounts, alias="k")
    # Locked scheduled too: a row a claim holds is waited for, and read as the claim left it (assigned or not).
    locked = (await s.execute(sql(
        f"""SELECT a.id, a.status FROM {source} JOIN outreach.attempts a ON a.client_slug = k.client_slug
                AND a.account_ref = k.account_ref
            WHERE a.status IN ('scheduled', 'assigned') AND a.channel = 'agent' ORDER BY a.id FOR UPDATE OF a"""),
        params)).all()
    held = [r.id for r in locked if r.status == "assigned"]
    if not held:
        return []
    rows = (await s.execute(sql(
        """WITH withdrawn AS (
                UPDATE outreach.attempts a SET status = 'cancelled', cancel_reason = :why, withdrawal_announced = true
                WHERE a.id = ANY(:ids) AND a.status = 'assigned' AND EXISTS (
                      SELECT 1 FROM outreach.contacts c WHERE c.attempt_id = a.id AND c.outcome IS NULL)
                RETURNING a.client_slug, a.account_ref, a.id, a.channel),
            uncounted AS (
                DELETE FROM outreach.contacts c USING withdrawn w WHERE c.attempt_id = w.id AND c.outcome IS NULL)
            SELECT client_slug, account_ref, id, channel FROM withdrawn"""),
        {"ids": held, "why": WITHDRAWN + reason})).all()
    withdrawn = [Cancelled(r.client_slug, r.account_ref, r.id, r.channel) for r in rows]
    await trail(s, [TrailEntry(w.client, w.account_ref, now, "withdrawn", w.attempt_id, w.channel,
                               {"reason": reason}) for w in withdrawn])
    # Its hand-out announced contact.attempted: the readers (reporting) take it back, told in this transaction
    # (withdrawal_announced: migration 0034 announced the calls withdrawn before, and none of these again).
    if withdrawn:
        code = reason_code(reason)
        await outbox.add(s, [ContactWithdrawn(attempt_id=w.attempt_id, account_ref=w.account_ref, channel=w.channel,
                                              withdrawn_at=now, reason=code).envelope(client=w.client,
                                                                                      occurred_at=now)
                             for w in withdrawn])
    return withdrawn


@dataclass(frozen=True)
class HandedOutCall:
    """A call the desk handed out, as it stands: still the agent's, logged, or withdrawn (and why)."""

    attempt_id: uuid.UUID
    account_ref: str
    logged: bool
    withdrawn_for: str | None


async def handed_out_call(s: AsyncSession, *, client: str, attempt_id: uuid.UUID, account_ref: str | None = None
                          ) -> HandedOutCall | None:
    """The agent call `attempt_id` of the client company (of `account_ref`, when given), held against a withdrawal
    until the transaction ends; None when the desk never handed it out."""
    row = (await s.execute(sql(
        """SELECT a.id, a.account_ref, a.cancel_reason,
                  EXISTS (SELECT 1 FROM outreach.contacts c WHERE c.attempt_id = a.id AND c.outcome IS NOT NULL)
                      AS logged
           FROM outreach.attempts a
           WHERE a.id = :a AND a.client_slug = :c AND a.channel = 'agent' AND a.assigned_at IS NOT NULL
             AND (CAST(:r AS text) IS NULL OR a.account_ref = :r)
           FOR UPDATE OF a"""), {"a": attempt_id, "c": client, "r": account_ref})).first()
    if row is None:
        return None
    reason = row.cancel_reason
    withdrawn_for = reason[len(WITHDRAWN):] if isinstance(reason, str) and reason.startswith(WITHDRAWN) else None
    return HandedOutCall(row.id, row.account_ref, bool(row.logged), withdrawn_for)


async def standing_reason(s: AsyncSession, client: str, account_ref: str) -> str | None:
    """Why the account's call must not be made that the contact law does not judge: its person erased (nothing
    left to reach them with, and no one may work on their data), or a treatment with no channel (do_not_pursue:
    the account is no longer worked at all); None when neither."""
    row = (await s.execute(sql(
        """SELECT EXISTS (SELECT 1 FROM outreach.erased_debtors e WHERE e.client_slug = acc.client_slug
                          AND e.debtor_ref = acc.debtor_ref) AS erased,
                  coalesce(cardinality(t.channels) = 0, false) AS not_pursued
           FROM outreach.accounts acc
           LEFT JOIN outreach.treatments t ON t.client_slug = acc.client_slug AND t.account_ref = acc.account_ref
           WHERE acc.client_slug = :c AND acc.account_ref = :r"""), {"c": client, "r": account_ref})).first()
    if row is None:
        return None
    return PERSON_ERASED if row.erased else NOT_PURSUED if row.not_pursued else None
