"""Outreach's part of an access request (debtor.access_requested) on a real PostgreSQL: every record of the person's
data it holds (the account copy, the messages kept, a reply, a do-not-contact entry, a hold's note), sealed with
their key on the debtor topic; every identifier of theirs that outreach's tables hold is in it, another person's
is not."""

from __future__ import annotations

import uuid

import pytest

from recaudo_common.events import DebtorAccessAnswered, DebtorAccessRequested, Envelope, decode
from recaudo_common.personal_data import open_part

from .conftest import Outreach
from .test_personal_data import BRUNO_MARKS, ZOILA_MARKS, dump, zoila_and_bruno_contacted

pytestmark = pytest.mark.integration


async def test_outreach_answers_every_record_of_the_person_sealed(outreach: Outreach) -> None:
    zoila = await zoila_and_bruno_contacted(outreach)
    assert (await outreach.http.post("/v1/clients/banco/accounts/Z-2/legal-holds", headers=outreach.auth, json={
        "hold": "dispute", "note": "Zoila Quiñones disputa, llamar al 3001112233"})).status_code in (200, 201)
    assert (await outreach.http.post("/v1/clients/banco/do-not-contact", headers=outreach.auth, json={
        "debtor_id": "79111222", "reason": "Zoila pidió por escrito (zoila.q@example.com)"})).status_code == 201
    held_here = (await dump(outreach)).lower()

    debtor_ref = zoila[0].debtor_ref
    request = DebtorAccessRequested(access_id=uuid.uuid4(), debtor_ref=debtor_ref, account_refs=["Z-1", "Z-2"],
                                    requested_at=outreach.clock.now)
    await outreach.deliver(request)
    [row] = await outreach.sql("SELECT envelope FROM outreach.outbox WHERE envelope->>'type' = 'debtor.access_answered'")
    answered = decode(Envelope.model_validate(row[0]))
    assert isinstance(answered, DebtorAccessAnswered) and answered.part is not None
    assert (answered.access_id, answered.service) == (request.access_id, "outreach")
    assert "79111222" not in answered.part and "zoila" not in answered.part.lower()  # sealed on the topic
    async with outreach.platform.db.transaction() as s:
        key = await outreach.vault.key_of(s, "banco", debtor_ref)
    assert key is not None
    records = open_part(key, "banco", debtor_ref, answered.part).records
    assert answered.records == len(records)
    kinds = {r.kind for r in records}
    assert {"account", "reply", "do_not_contact", "hold_note", "sent"} <= kinds, kinds
    shown = " ".join(v for r in records for v in r.values.values()).lower()
    for mark in ZOILA_MARKS:  # whatever outreach holds of her, the answer shows
        assert mark not in held_here or mark in shown, mark
    for mark in BRUNO_MARKS:
        assert mark.lower() not in shown, mark
