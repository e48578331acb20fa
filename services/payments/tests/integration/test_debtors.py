"""Account events carry the debtor only as a pseudonym and sealed data (#19): payments keeps the account by its
debtor_ref, opens the sealed data for what it needs, and opens the account of an erased person without any of it,
never refusing the event (real PostgreSQL, payments' real consumer runtime and API)."""

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import text

from recaudo_common.events import AccountUpdated
from recaudo_common.personal_data import Vault

from .conftest import NOW, Gateway, deliver, payment, placed

pytestmark = pytest.mark.integration


async def debtor_of(gateway: Gateway, ref: str) -> tuple[uuid.UUID | None, str | None]:
    async with gateway.platform.db.transaction() as s:
        row = (await s.execute(text("SELECT debtor_ref, debtor_id FROM payments.accounts WHERE account_ref = :r"),
                               {"r": ref})).one()
    return row[0], row[1]


async def shred(gateway: Gateway, debtor_ref: uuid.UUID) -> None:
    async with gateway.platform.db.transaction() as s:
        assert await Vault.from_settings(gateway.platform.settings).shred(s, "banco", debtor_ref, "request", NOW)


async def test_a_placement_keeps_the_debtor_by_their_pseudonym(gateway: Gateway) -> None:
    event = await placed(gateway.platform, "D-1", debtor_id="1020304050")
    await deliver(gateway.platform, event)
    assert (await debtor_of(gateway, "D-1"))[0] == event.debtor_ref


@pytest.mark.parametrize("one_by_one", [False, True], ids=["batch", "single"])
async def test_an_erased_persons_placement_opens_the_account_without_their_data(gateway: Gateway,
                                                                                one_by_one: bool) -> None:
    erased = await placed(gateway.platform, "GONE-1", "80000.00", debtor_id="555666777")
    kept = await placed(gateway.platform, "KEPT-1", debtor_id="888999000")
    assert erased.debtor_ref is not None
    await shred(gateway, erased.debtor_ref)  # erased before payments read the placement (a late consumer)
    await deliver(gateway.platform, erased, kept, one_by_one=one_by_one)
    assert await debtor_of(gateway, "GONE-1") == (erased.debtor_ref, None)
    assert (await debtor_of(gateway, "KEPT-1"))[0] == kept.debtor_ref
    # The account works by its reference as any other.
    answer = await gateway.send(payment("gone-pay-1", ref="GONE-1", amount="30000.00"))
    assert answer.json()["status"] == "applied", answer.text
    assert await gateway.balance("GONE-1") == (Decimal("50000.00"), "open", Decimal("50000.00"))


async def test_a_restatement_after_the_erasure_adjusts_the_ledger_and_brings_nothing_back(gateway: Gateway) -> None:
    event = await placed(gateway.platform, "LATER-1", "100000.00", debtor_id="121212")
    await deliver(gateway.platform, event)
    assert event.debtor_ref is not None
    await shred(gateway, event.debtor_ref)
    restated = AccountUpdated(**{**event.model_dump(), "balance": Decimal("90000.00")},
                              previous_balance=Decimal("100000.00"))
    await deliver(gateway.platform, restated)
    assert (await gateway.balance("LATER-1"))[0] == Decimal("90000.00")
    assert (await debtor_of(gateway, "LATER-1"))[0] == event.debtor_ref
