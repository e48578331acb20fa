"""A placement's account is written once, with its first assignment (#24): as its column keeps it, before the
client company's settings as after them, and applied again when another writer put the account in meanwhile."""

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from recaudo_common.events import AccountPlaced, ClientRegistered, PaymentApplied
from recaudo_common.runtime import Platform
from segmentation import store
from segmentation.rows import StatedAccount, StoredAccount

from .test_aging import deliver

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 4, 1, 15, 0, tzinfo=dt.UTC)
CLIENT = ClientRegistered(slug="banco", name="Banco", country="CO", currency="COP", timezone="America/Bogota",
                          locale="es-CO", default_authorised_channels=["sms"])


def placed(ref: str, balance: str, product: str | None = None) -> AccountPlaced:
    return AccountPlaced(account_ref=ref, portfolio_id=uuid.uuid4(), debtor_ref=None, personal=None, has_phone=True,
                         has_email=False, balance=Decimal(balance), currency="COP", days_past_due=45,
                         as_of=dt.date(2026, 3, 31), authorised_channels=["sms"], product=product)


async def row(p: Platform, ref: str) -> dict[str, Any]:
    async with p.db.transaction() as s:
        account = (await s.execute(text(
            "SELECT balance, status, days_past_due_at_as_of, as_of, days_past_due_at_placement, contactable, product,"
            " updated_at, bucket, bucket_at_placement, segment, treatment, held_since, legal_hold, scored_at"
            " FROM segmentation.accounts WHERE account_ref = :r"), {"r": ref})).mappings().one()
        history = (await s.execute(text(
            "SELECT trigger, bucket, inputs->>'balance' FROM segmentation.assignments WHERE account_ref = :r"
            " ORDER BY id"), {"r": ref})).all()
    return {**account, "history": [tuple(h) for h in history]}


async def test_a_placement_is_written_as_its_columns_keep_it() -> None:
    assert str(store.as_stored(Decimal("1234.565"))) == "1234.57"  # half away from zero, as PostgreSQL rounds
    assert str(store.as_stored(Decimal("-1234.565"))) == "-1234.57"
    assert str(store.as_stored(Decimal("-0.004"))) == "0.00"  # never a negative zero
    assert str(store.as_stored(Decimal("5E+3"))) == "5000.00"


async def test_placements_are_written_with_their_first_assignment(platform: Platform) -> None:
    await deliver(platform, [placed("B-1", "1234.565", "tarjeta")], NOW)  # before the client's settings
    waiting = await row(platform, "B-1")
    assert (waiting["balance"], waiting["bucket"], waiting["treatment"], waiting["history"]) == \
        (Decimal("1234.57"), None, None, [])
    assert (waiting["status"], waiting["days_past_due_at_placement"], waiting["product"]) == ("open", 45, "tarjeta")

    later = NOW + dt.timedelta(minutes=5)
    await deliver(platform, [CLIENT, placed("B-2", "98765.4321")], later, together=True)
    b1, b2 = await row(platform, "B-1"), await row(platform, "B-2")
    assert b1["history"] == [("placement", "31-60", "1234.57")]  # segmented when the settings came
    assert b2["history"] == [("placement", "31-60", "98765.43")]  # the balance as the column keeps it
    assert (b2["balance"], b2["status"], b2["days_past_due_at_as_of"], b2["as_of"]) == \
        (Decimal("98765.43"), "open", 45, dt.date(2026, 3, 31))
    assert (b2["bucket"], b2["bucket_at_placement"], b2["updated_at"], b2["contactable"]) == \
        ("31-60", "31-60", later, True)
    assert b2["treatment"] is not None and b2["segment"] is not None
    assert (b2["held_since"], b2["legal_hold"], b2["scored_at"], b2["product"]) == (None, None, None, None)


async def test_a_placement_after_its_payment_is_written_with_the_ledgers_word(platform: Platform) -> None:
    paid = PaymentApplied(payment_id=uuid.uuid4(), account_ref="P-1", amount=Decimal("100000"), currency="COP",
                          paid_at=NOW, source="manual", new_balance=Decimal("400000.004"), account_status="open")
    await deliver(platform, [CLIENT, paid], NOW)
    await deliver(platform, [placed("P-1", "500000"), placed("P-2", "700000")], NOW, together=True)
    p1 = await row(platform, "P-1")
    assert (p1["balance"], p1["status"], p1["history"]) == \
        (Decimal("400000.00"), "open", [("placement", "31-60", "400000.00")])
    assert (await row(platform, "P-2"))["balance"] == Decimal("700000.00")


async def test_an_account_written_meanwhile_by_another_is_applied_again(platform: Platform,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Another transaction puts the account in between the read that found it new and its write: the batch fails
    on the account's key, is rolled back, and is applied again event by event, the account then known here."""
    await deliver(platform, [CLIENT], NOW)
    restate = store.restate_accounts
    raced: list[str] = []
    calls: list[list[str]] = []

    async def racing(s: AsyncSession, accounts: list[StatedAccount], now: dt.datetime
                     ) -> dict[tuple[str, str], StoredAccount]:
        calls.append([a.account_ref for a in accounts])
        found = await restate(s, accounts, now)
        if not raced:
            raced.append("R-1")
            async with platform.db.transaction() as other:
                await other.execute(text(
                    "INSERT INTO segmentation.accounts (client_slug, account_ref, balance, days_past_due_at_as_of,"
                    " as_of, contactable, updated_at, days_past_due_at_placement)"
                    " VALUES ('banco', 'R-1', 1, 1, '2026-01-01', false, :now, 1)"), {"now": now})
        return found

    monkeypatch.setattr(store, "restate_accounts", racing)
    await deliver(platform, [placed("R-1", "500000"), placed("R-2", "600000")], NOW)
    r1, r2 = await row(platform, "R-1"), await row(platform, "R-2")
    assert raced == ["R-1"] and calls == [["R-1", "R-2"], ["R-1"], ["R-2"]]  # the batch, then event by event
    assert (r1["balance"], r1["as_of"], r1["contactable"], r1["history"]) == \
        (Decimal("500000.00"), dt.date(2026, 3, 31), True, [("placement", "31-60", "500000.00")])
    assert r1["days_past_due_at_placement"] == 1  # the first writer's, as a restatement keeps it
    assert r2["history"] == [("placement", "31-60", "600000.00")]
