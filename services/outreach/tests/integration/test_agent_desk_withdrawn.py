"""A call handed out to an agent and not yet logged is withdrawn when a fact that always blocks arrives (a recall,
an account closed, a do-not-contact entry, a legal hold, the person's erasure, a do_not_pursue treatment), in the
same transaction, through outreach's real app and
PostgreSQL: the desk's current call answers call_withdrawn with why, its outcome is refused the same way, the
hand-out no longer counts as a contact, and the trail says so. A block that reached no handler is found when the
desk asks for the call."""

import datetime as dt
import uuid
from typing import Any

import pytest

from recaudo_common.events import AccountRecalled, DebtorErasureRequested

from .conftest import Outreach, segmented

pytestmark = pytest.mark.integration


async def handed_out(o: Outreach, ref: str, debtor: str = "1020304050") -> dict[str, Any]:
    await o.deliver(await o.placed(ref, channels=("agent",), debtor=debtor),
                    segmented(ref, ("agent",), value="900000"))
    taken = await o.http.get("/v1/agent/next?client=banco", headers=o.auth)
    assert taken.status_code == 200, taken.text
    call: dict[str, Any] = taken.json()["item"]
    assert call["account_ref"] == ref
    current = await o.http.get(f"/v1/agent/calls/{call['attempt_id']}?client=banco", headers=o.auth)
    assert current.status_code == 200, current.text
    assert (current.json()["status"], current.json()["account_ref"]) == ("assigned", ref)
    return call


# The code contact.withdrawn carries for each reason the desk is told (events/contact.py WithdrawalReason).
CODES = {"account recalled": "account_recalled", "do not contact": "do_not_contact",
         "legal hold: dispute": "legal_hold", "legal_hold": "legal_hold", "person erased": "person_erased",
         "not pursued": "not_pursued"}


async def assert_withdrawn(o: Outreach, call: dict[str, Any], reason: str) -> None:
    ref, attempt = call["account_ref"], call["attempt_id"]
    current = await o.http.get(f"/v1/agent/calls/{attempt}?client=banco", headers=o.auth)
    assert (current.status_code, current.json()["code"]) == (409, "call_withdrawn"), current.text
    assert current.json()["errors"] == [{"reason": reason}]
    logged = await o.http.post(f"/v1/clients/banco/accounts/{ref}/contacts", headers=o.auth, json={
        "channel": "agent", "at": o.clock.now.isoformat(), "outcome": "right_party", "attempt_id": attempt})
    assert (logged.status_code, logged.json()["code"]) == (409, "call_withdrawn"), logged.text
    # The hand-out no longer counts as a contact: the call was never made.
    assert await o.sql("SELECT 1 FROM outreach.contacts WHERE account_ref = :r", r=ref) == []
    assert await o.sql("SELECT status, cancel_reason FROM outreach.attempts WHERE id = CAST(:a AS uuid)",
                       a=attempt) == [("cancelled", f"withdrawn: {reason}")]
    assert await o.sql("SELECT detail->>'reason' FROM outreach.trail WHERE kind = 'withdrawn' "
                       "AND attempt_id = CAST(:a AS uuid)", a=attempt) == [(reason,)]
    # The others are told, in the withdrawal's transaction, once: the hand-out's contact.attempted is taken back.
    assert await o.sql("SELECT envelope->>'type', envelope->'payload'->>'reason', envelope->>'key' "
                       "FROM outreach.outbox WHERE envelope->'payload'->>'attempt_id' = :a "
                       "AND envelope->>'type' IN ('contact.attempted', 'contact.withdrawn') ORDER BY id", a=attempt
                       ) == [("contact.attempted", None, f"banco/{ref}"),
                             ("contact.withdrawn", CODES[reason], f"banco/{ref}")]
    assert (await o.http.get("/v1/agent/next?client=banco", headers=o.auth)).json()["item"] is None


async def test_a_recall_withdraws_the_call_handed_out(outreach: Outreach) -> None:
    call = await handed_out(outreach, "R-1")
    await outreach.deliver(AccountRecalled(account_ref="R-1", recalled_at=outreach.clock.now))
    await assert_withdrawn(outreach, call, "account recalled")


async def test_a_do_not_contact_entry_withdraws_the_call_handed_out(outreach: Outreach) -> None:
    call = await handed_out(outreach, "N-1")
    listed = await outreach.http.post("/v1/clients/banco/do-not-contact", headers=outreach.auth,
                                      json={"debtor_id": "1020304050", "reason": "lo pidió por escrito"})
    assert listed.status_code == 201, listed.text
    await assert_withdrawn(outreach, call, "do not contact")


async def test_a_legal_hold_withdraws_the_call_handed_out_but_not_one_already_logged(outreach: Outreach) -> None:
    done = await handed_out(outreach, "H-0")
    assert (await outreach.http.post("/v1/clients/banco/accounts/H-0/contacts", headers=outreach.auth, json={
        "channel": "agent", "at": outreach.clock.now.isoformat(), "outcome": "no_answer",
        "attempt_id": done["attempt_id"]})).status_code == 201
    outreach.clock.now += dt.timedelta(days=1)
    call = await handed_out(outreach, "H-1")
    for ref in ("H-0", "H-1"):
        held = await outreach.http.post(f"/v1/clients/banco/accounts/{ref}/legal-holds", headers=outreach.auth,
                                        json={"hold": "dispute"})
        assert held.status_code == 201, held.text
    await assert_withdrawn(outreach, call, "legal hold: dispute")
    logged = await outreach.http.get(f"/v1/agent/calls/{done['attempt_id']}?client=banco", headers=outreach.auth)
    assert (logged.status_code, logged.json()["status"]) == (200, "logged")  # what was made stays made


async def test_a_block_that_reached_no_handler_is_found_when_the_desk_asks(outreach: Outreach) -> None:
    call = await handed_out(outreach, "B-1")
    # A hold written by no handler (as a restore or a migration might): the desk checks again when it is asked.
    await outreach.sql("INSERT INTO outreach.legal_holds (id, client_slug, account_ref, hold, set_at) "
                       "VALUES (gen_random_uuid(), 'banco', 'B-1', 'deceased', :at) RETURNING 1", at=outreach.clock.now)
    await assert_withdrawn(outreach, call, "legal_hold")


async def test_the_persons_erasure_withdraws_the_call_handed_out(outreach: Outreach) -> None:
    call = await handed_out(outreach, "E-1")
    [(debtor_ref,)] = await outreach.sql("SELECT debtor_ref FROM outreach.accounts WHERE account_ref = 'E-1'")
    await outreach.deliver(DebtorErasureRequested(erasure_id=uuid.uuid4(), debtor_ref=debtor_ref,
                                                  account_refs=["E-1"], reason="request",
                                                  requested_at=outreach.clock.now))
    await assert_withdrawn(outreach, call, "person erased")


async def test_a_do_not_pursue_treatment_withdraws_the_call_handed_out(outreach: Outreach) -> None:
    call = await handed_out(outreach, "P-1")
    outreach.clock.now += dt.timedelta(minutes=5)
    stopped = segmented("P-1", (), offer="do_not_pursue", discount=None).model_copy(
        update={"treatment": "do_not_pursue"})
    await outreach.deliver(stopped)
    await assert_withdrawn(outreach, call, "not pursued")


async def test_an_erasure_or_a_do_not_pursue_that_reached_no_handler_is_found_when_the_desk_asks(
        outreach: Outreach) -> None:
    erased = await handed_out(outreach, "E-2")
    # Written by no handler (as a restore might bring them): the desk's check finds them with the handlers' words.
    await outreach.sql("INSERT INTO outreach.erased_debtors (client_slug, debtor_ref, erased_at) "
                       "SELECT client_slug, debtor_ref, :at FROM outreach.accounts WHERE account_ref = 'E-2' "
                       "RETURNING 1", at=outreach.clock.now)
    await assert_withdrawn(outreach, erased, "person erased")
    outreach.clock.now += dt.timedelta(days=1)
    stopped = await handed_out(outreach, "P-2", debtor="7080900010")
    await outreach.sql("UPDATE outreach.treatments SET channels = '{}', treatment = 'do_not_pursue' "
                       "WHERE account_ref = 'P-2' RETURNING 1")
    await assert_withdrawn(outreach, stopped, "not pursued")
