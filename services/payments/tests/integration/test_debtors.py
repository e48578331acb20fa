"""Account events carry the debtor only as a pseudonym and sealed data (#19): payments keeps the account by its
debtor_ref and no id number, finds a payer who gives their id number through the vault's blind index, and opens
the account of an erased person like anyone's, never refusing the event (real PostgreSQL, payments' real
consumer runtime and API)."""

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import text

from payments.main import MIGRATIONS
from recaudo_common.events import AccountPlacedV1, AccountUpdated
from recaudo_common.migrate import upgrade_async
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


async def payer_of(gateway: Gateway, payment_id: str) -> tuple[uuid.UUID | None, str | None]:
    async with gateway.platform.db.transaction() as s:
        row = (await s.execute(text("SELECT payer_ref, debtor_id FROM payments.payments WHERE id = :id"),
                               {"id": payment_id})).one()
    return row[0], row[1]


async def by_id_number(gateway: Gateway, key: str, id_number: str, amount: str = "10000.00") -> dict[str, str]:
    answer = await gateway.manual(key, {"debtor_id": id_number, "amount": amount, "paid_at": NOW.isoformat(),
                                        "method": "cash"})
    assert answer.status_code == 200, answer.text
    body: dict[str, str] = answer.json()
    return body


async def test_a_placement_keeps_the_debtor_by_their_pseudonym_and_no_id_number(gateway: Gateway) -> None:
    event = await placed(gateway.platform, "D-1", debtor_id="1020304050")
    await deliver(gateway.platform, event)
    assert await debtor_of(gateway, "D-1") == (event.debtor_ref, None)


async def test_a_payer_is_found_by_their_id_number_through_the_vault(gateway: Gateway) -> None:
    event = await placed(gateway.platform, "D-1", "50000.00", debtor_id="1020304050")
    await deliver(gateway.platform, event)
    # Written as the payer wrote it: separators do not matter, as for the client company's files.
    paid = await by_id_number(gateway, "by-id-0001", "1.020.304.050")
    assert (paid["status"], paid["account_ref"], paid["matched_by"]) == ("applied", "D-1", "debtor_id")
    assert await gateway.balance("D-1") == (Decimal("40000.00"), "open", Decimal("40000.00"))
    # Kept as the person it found, not as the number.
    assert await payer_of(gateway, paid["id"]) == (event.debtor_ref, None)
    webhook = await gateway.send(payment("by-id-gw-1", ref=None, debtor_id="1020304050", amount="5000.00"))
    assert webhook.json()["status"] == "applied", webhook.text
    assert await gateway.balance("D-1") == (Decimal("35000.00"), "open", Decimal("35000.00"))


async def test_a_payer_with_several_open_accounts_waits_for_an_operator_who_reads_the_id(gateway: Gateway) -> None:
    first, second = [await placed(gateway.platform, ref, debtor_id="3003003") for ref in ("S-1", "S-2")]
    await deliver(gateway.platform, first, second)
    assert first.debtor_ref == second.debtor_ref
    waiting = await by_id_number(gateway, "by-id-0002", "3003003")
    assert (waiting["status"], waiting["reason"]) == ("unmatched", "debtor_has_several_open_accounts")
    assert await payer_of(gateway, waiting["id"]) == (first.debtor_ref, "3003003")
    queue = (await gateway.http.get("/v1/clients/banco/payments/unmatched", headers=gateway.as_operator())).json()
    assert [q["debtor_id_given"] for q in queue["items"]] == ["3003003"]
    assigned = await gateway.http.post(f"/v1/clients/banco/payments/unmatched/{waiting['id']}/assign",
                                       json={"account_ref": "S-2"}, headers=gateway.as_operator())
    assert assigned.json()["status"] == "applied", assigned.text
    assert await payer_of(gateway, waiting["id"]) == (first.debtor_ref, None)  # out of suspense: not kept


async def test_an_erased_payer_is_no_longer_found_by_their_id_number(gateway: Gateway) -> None:
    event = await placed(gateway.platform, "E-1", debtor_id="4004004")
    await deliver(gateway.platform, event)
    assert event.debtor_ref is not None
    await shred(gateway, event.debtor_ref)
    unknown = await by_id_number(gateway, "by-id-0003", "4004004")
    assert (unknown["status"], unknown["reason"]) == ("unmatched", "unknown_debtor_id")
    nothing = await by_id_number(gateway, "by-id-0004", "-./-")  # nothing an id number is made of
    assert (nothing["status"], nothing["reason"]) == ("unmatched", "unknown_debtor_id")


async def test_an_account_placed_before_the_pseudonyms_is_matched_until_restated_then_through_the_vault(
        gateway: Gateway) -> None:
    old = AccountPlacedV1(account_ref="OLD-1", portfolio_id=uuid.uuid4(), debtor_id="5005005", full_name="Ana",
                          balance=Decimal("100000.00"), currency="COP", days_past_due=40, as_of=NOW.date(),
                          authorised_channels=["sms"])
    await deliver(gateway.platform, old)  # a version 1 event from an old log: its plaintext is all there is
    assert await debtor_of(gateway, "OLD-1") == (None, "5005005")
    assert (await by_id_number(gateway, "by-id-0005", "5005005"))["account_ref"] == "OLD-1"
    restated = await placed(gateway.platform, "OLD-1", debtor_id="5005005")
    await deliver(gateway.platform, AccountUpdated(**restated.model_dump(), previous_balance=Decimal("100000.00")))
    assert await debtor_of(gateway, "OLD-1") == (restated.debtor_ref, None)  # the clear copy is gone
    assert (await by_id_number(gateway, "by-id-0006", "5005005"))["account_ref"] == "OLD-1"


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


async def test_payments_recorded_before_keep_the_payers_id_number_only_while_in_suspense(gateway: Gateway) -> None:
    """Migration 0012, run on rows recorded before 0011 (an applied payment that kept its payer's number)."""
    applied = await by_id_number(gateway, "by-id-0007", "101")  # A-1's debtor: applied, the number not kept
    waiting = await by_id_number(gateway, "by-id-0008", "999")  # nobody's: in suspense with the number
    async with gateway.platform.db.transaction() as s:
        await s.execute(text("UPDATE payments.payments SET debtor_id = '101', payer_ref = NULL WHERE id = :id"),
                        {"id": applied["id"]})  # as payments recorded it before
        head = await s.scalar(text("SELECT version_num FROM payments.alembic_version"))
        await s.execute(text("UPDATE payments.alembic_version SET version_num = '0011'"))
    # 0012 alone: the later migrations have run already and need not be re-runnable.
    await upgrade_async(schema="payments", script_location=MIGRATIONS,
                        database_url=gateway.platform.settings.database_url, to="0012")
    async with gateway.platform.db.transaction() as s:
        await s.execute(text("UPDATE payments.alembic_version SET version_num = :head"), {"head": head})
    assert await payer_of(gateway, applied["id"]) == (None, None)
    assert await payer_of(gateway, waiting["id"]) == (None, "999")
