"""The call the desk handed an agent, as it stands when the agent's page asks for it or logs its outcome: still
theirs, logged, or withdrawn (call_withdrawn, with why). A fact that always blocks and reached no handler (the
handlers withdraw the call at once, withdrawals.py) is caught here: the call is withdrawn when asked for."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import replace

from outreach import store
from outreach.debtors import contact_request
from outreach.domain.contact_law import ALWAYS_BLOCKING, decide_contact
from outreach.withdrawals import HandedOutCall, handed_out_call, standing_reason, withdraw_handed_out
from recaudo_common.db import Database
from recaudo_common.domain_errors import Conflict, NotFound


def withdrawn(call: HandedOutCall) -> Conflict:
    """The refusal a withdrawn call answers; its reason (`errors[0].reason`) is for the desk to say in Spanish."""
    reason = call.withdrawn_for or ""
    return Conflict("call_withdrawn", f"the call {call.attempt_id} was withdrawn: {reason}", title="Call withdrawn",
                    errors=[{"reason": reason}])


async def current_call(db: Database, *, client: str, attempt_id: uuid.UUID, now: dt.datetime,
                       account_ref: str | None = None) -> HandedOutCall:
    """The call handed out, checked again against the rules that always block (an opt-out, the do-not-contact
    list, an account no longer open, a legal hold, a channel no longer authorised) and against the facts that end
    all contact (the person erased, a do_not_pursue treatment) unless already logged: a call they now block is
    withdrawn (committed) and refused with call_withdrawn."""
    async with db.transaction() as s:
        call = await handed_out_call(s, client=client, attempt_id=attempt_id, account_ref=account_ref)
        if call is None:
            raise NotFound(f"assigned call {attempt_id}")
        if call.withdrawn_for is None and not call.logged:
            debtor = await store.contact_context(s, client, call.account_ref, now)
            blocking = (sorted(set(decide_contact(contact_request(debtor, "agent", now)).reasons) & ALWAYS_BLOCKING)
                        if debtor is not None else ["account_inactive"])
            # In the handlers' words, so the desk says the same whoever found it first.
            standing = await standing_reason(s, client, call.account_ref)
            reason = standing or ", ".join(blocking)
            if reason:
                await withdraw_handed_out(s, [(client, call.account_ref)], reason, now)
                call = replace(call, withdrawn_for=reason)
    if call.withdrawn_for is not None:
        raise withdrawn(call)
    return call
