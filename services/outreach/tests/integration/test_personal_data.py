"""Personal data in outreach (#19) on a real PostgreSQL: account events carry the debtor sealed, outreach opens it
with the vault to reach them, and keeps the account without any contact point once the person is erased."""

from __future__ import annotations

import pytest

from recaudo_common.events import AccountContactRectified
from recaudo_common.personal_data import PersonalData

from .conftest import Outreach, segmented

pytestmark = pytest.mark.integration


async def test_a_sealed_placement_reaches_the_debtor_and_keeps_their_pseudonym(outreach: Outreach) -> None:
    placement = await outreach.placed("V-1", phones=("+573001112233",), email="ana@example.com",
                                      address="Calle 1 # 2-3", region="Cundinamarca")
    assert placement.personal is not None and "ana@example.com" not in placement.model_dump_json()
    await outreach.deliver(placement, segmented("V-1", ("sms",)))
    [row] = await outreach.sql("SELECT debtor_ref, debtor_id, full_name, phones, email, address FROM outreach.accounts "
                               "WHERE account_ref = 'V-1'")
    assert tuple(row) == (placement.debtor_ref, "1020304050", "MARÍA PÉREZ", ["+573001112233"], "ana@example.com",
                          "Calle 1 # 2-3, Cundinamarca")
    assert await outreach.tick() == 1
    assert await outreach.sql("SELECT recipient FROM outreach.sandbox_messages") == [("+573001112233",)]


async def test_a_placement_of_a_person_already_shredded_is_kept_with_nothing_to_send_to(outreach: Outreach) -> None:
    placement = await outreach.placed("V-2")
    async with outreach.platform.db.transaction() as s:
        assert placement.debtor_ref is not None
        assert await outreach.vault.shred(s, "banco", placement.debtor_ref, "request", outreach.clock.now)
    await outreach.deliver(placement, segmented("V-2", ("sms", "email")))
    [row] = await outreach.sql("SELECT debtor_ref, debtor_id, full_name, phones, email, address, balance "
                               "FROM outreach.accounts WHERE account_ref = 'V-2'")
    assert tuple(row)[:6] == (placement.debtor_ref, "", "", [], None, None) and row.balance == 1500000
    assert await outreach.attempts("V-2") == []  # no channel has anywhere to go: nothing is planned
    assert await outreach.tick() == 0


async def test_a_sealed_value_moved_onto_another_person_does_not_open_and_sends_nothing(outreach: Outreach) -> None:
    ana, other = await outreach.placed("V-3"), await outreach.placed("V-4", debtor="555")
    moved = ana.model_copy(update={"debtor_ref": other.debtor_ref})  # ana's data under another person's pseudonym
    await outreach.deliver(moved, segmented("V-3", ("sms",)))
    assert await outreach.sql("SELECT debtor_id, phones FROM outreach.accounts WHERE account_ref = 'V-3'") == [
        ("", [])]


async def test_a_rectification_corrects_the_contact_points_and_the_trail_says_who_and_why_not_what(
        outreach: Outreach) -> None:
    await outreach.deliver(await outreach.placed("V-5", email="vieja@example.com", address="Calle 1", region="Meta"))
    debtor_ref, corrected = await outreach.sealed(PersonalData(
        full_name="MARÍA PÉREZ", id_number="1020304050", phones=("+573005550000",), email="otra@example.com",
        address="Carrera 9 # 8-7"))
    await outreach.deliver(AccountContactRectified(
        account_ref="V-5", debtor_ref=debtor_ref, personal=corrected, has_phone=True, has_email=True,
        fields=["phones", "address"], rectified_by="dpo@agencia", reason="solicitud del titular",
        rectified_at=outreach.clock.now))
    [row] = await outreach.sql("SELECT phones, email, address FROM outreach.accounts WHERE account_ref = 'V-5'")
    # Only the fields it names: the e-mail was not part of the correction.
    assert tuple(row) == (["+573005550000"], "vieja@example.com", "Carrera 9 # 8-7, Meta")
    [(detail,)] = await outreach.sql("SELECT detail FROM outreach.trail WHERE account_ref = 'V-5' "
                                     "AND kind = 'contact_rectified'")
    assert detail["rectified_by"] == "dpo@agencia" and detail["reason"] == "solicitud del titular"
    assert detail["fields"] == ["address", "phones"] and detail["debtor_ref"] == str(debtor_ref)
    assert "5550000" not in str(detail) and "Carrera" not in str(detail)
    # The next send goes to the corrected phone.
    await outreach.deliver(segmented("V-5", ("sms",)))
    assert await outreach.tick() == 1
    assert await outreach.sql("SELECT recipient FROM outreach.sandbox_messages") == [("+573005550000",)]
