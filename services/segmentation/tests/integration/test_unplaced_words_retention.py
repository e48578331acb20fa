"""The ledger's and a plan's words kept for an account not placed here yet are not kept for ever, against a real
PostgreSQL: once its placement has not come within the retention (RECAUDO_SEGMENTATION_UNPLACED_WORDS_RETENTION_DAYS,
45 days by default and never under the 38 the dead letters of a placement may wait for a replay) after the last word
said of it, the periodic pass drops them; a word said since keeps all of the account's, and a placement that comes
within the retention still takes them."""

import asyncio
import datetime as dt
import importlib.util
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import text

from recaudo_common.events import AccountUpdated, ArrangementBroken, PaymentApplied
from recaudo_common.runtime import Platform
from segmentation import account_locks
from segmentation.settings import SegmentationSettings
from segmentation.unplaced_words import forget_unplaced_words

from .test_aging import CLIENT, LATE_EVENING, account, deliver, placed
from .test_placement_and_payment_at_once import DEADLINE_S, waits_or_ends
from .test_plan_hold_days import plan_for

pytestmark = pytest.mark.integration
RETENTION = dt.timedelta(days=SegmentationSettings().unplaced_words_retention_days)
MIGRATION = Path(__file__).parents[2] / "migrations" / "versions" / "0026_plan_words_kept_at.py"


def paid(ref: str, at: dt.datetime) -> PaymentApplied:
    return PaymentApplied(payment_id=uuid.uuid4(), account_ref=ref, amount=Decimal("500000"), currency="COP",
                          paid_at=at, source="gateway", new_balance=Decimal("0"), account_status="paid")


async def words(p: Platform) -> dict[str, list[str]]:
    async with p.db.transaction() as s:
        ledger = (await s.execute(text("SELECT account_ref FROM segmentation.ledger_words ORDER BY 1"))).scalars()
        plans = (await s.execute(text("SELECT account_ref FROM segmentation.plan_words ORDER BY id"))).scalars()
        return {"ledger": list(ledger), "plans": list(plans)}


async def test_words_for_an_account_never_placed_are_dropped_after_the_retention(platform: Platform) -> None:
    assert RETENTION == dt.timedelta(days=45)
    await deliver(platform, [CLIENT, paid("W-1", LATE_EVENING), plan_for("W-2", LATE_EVENING)], LATE_EVENING)
    # W-3's first word is as old as W-1's, but a plan agreed later keeps all of the account's.
    await deliver(platform, [paid("W-3", LATE_EVENING)], LATE_EVENING)
    later = LATE_EVENING + dt.timedelta(days=20)
    await deliver(platform, [plan_for("W-3", later)], later)
    assert await words(platform) == {"ledger": ["W-1", "W-3"], "plans": ["W-2", "W-3"]}

    within = LATE_EVENING + RETENTION - dt.timedelta(minutes=1)
    assert await forget_unplaced_words(platform.db, now=within, retention=RETENTION) is False
    assert await words(platform) == {"ledger": ["W-1", "W-3"], "plans": ["W-2", "W-3"]}

    past = LATE_EVENING + RETENTION + dt.timedelta(minutes=1)
    assert await forget_unplaced_words(platform.db, now=past, retention=RETENTION) is False
    assert await words(platform) == {"ledger": ["W-3"], "plans": ["W-3"]}
    # Placed at last, W-1 starts from its file's balance: the payment's word is gone, so it is worked as open.
    await deliver(platform, [placed("W-1", 25)], past)
    assert (await account(platform, "W-1"))["status"] == "open"
    # W-3 is placed within the retention of its last word: it takes both, paid and held.
    await deliver(platform, [placed("W-3", 25)], past)
    assert (await account(platform, "W-3"))["status"] == "paid"
    assert await words(platform) == {"ledger": [], "plans": []}
    assert await forget_unplaced_words(platform.db, now=past + RETENTION * 2, retention=RETENTION) is False


async def test_a_pass_drops_a_bounded_number_of_accounts_and_says_when_more_wait(platform: Platform) -> None:
    made = plan_for("X-1", LATE_EVENING)
    ended = ArrangementBroken(arrangement_id=made.arrangement_id, account_ref="X-1", broken_at=LATE_EVENING,
                              missed_instalments=1)
    await deliver(platform, [CLIENT, made, ended, *(paid(f"X-{n}", LATE_EVENING) for n in range(1, 6))],
                  LATE_EVENING)
    past = LATE_EVENING + RETENTION + dt.timedelta(days=1)
    assert await forget_unplaced_words(platform.db, now=past, retention=RETENTION, accounts_per_pass=3) is True
    left = await words(platform)
    assert len(left["ledger"]) == 2 and left["plans"] in ([], ["X-1", "X-1"])  # an account's words go together
    assert ("X-1" in left["ledger"]) == bool(left["plans"])
    assert await forget_unplaced_words(platform.db, now=past, retention=RETENTION, accounts_per_pass=3) is False
    assert await words(platform) == {"ledger": [], "plans": []}


async def test_words_of_an_account_restated_before_its_placement_go_too(platform: Platform) -> None:
    # Before 'the first restatement takes the ledger's word', a restatement that reached segmentation before the
    # placement (a dead letter) made the account's row and left its ledger word waiting for the placement, which may
    # never come. A pass that found such words and could not drop them would find them again at once, and again
    # (1,000 such accounts: a pass that never rests).
    restated = [AccountUpdated(**placed(ref, 30).model_dump(), previous_balance=Decimal("500000"))
                for ref in ("R-1", "R-2")]
    await deliver(platform, [CLIENT, *restated], LATE_EVENING)
    async with platform.db.transaction() as s:
        await s.execute(text("INSERT INTO segmentation.ledger_words (client_slug, account_ref, new_balance, "
                             "account_status, said_at) SELECT 'banco', r, 0, 'paid', :at FROM unnest(ARRAY['R-1', "
                             "'R-2']) r"), {"at": LATE_EVENING})
    past = LATE_EVENING + RETENTION + dt.timedelta(days=1)
    assert await forget_unplaced_words(platform.db, now=past, retention=RETENTION, accounts_per_pass=2) is True
    assert await forget_unplaced_words(platform.db, now=past, retention=RETENTION, accounts_per_pass=2) is False
    assert await words(platform) == {"ledger": [], "plans": []}


async def test_a_placement_that_comes_during_a_pass_waits_for_it(platform: Platform,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # The pass holds the account's lock before it looks again and deletes: the placement waits, then finds no word
    # (never the ledger's word without the plan's, which its two statements would read on either side of the delete).
    await deliver(platform, [CLIENT, paid("Z-1", LATE_EVENING), plan_for("Z-1", LATE_EVENING)], LATE_EVENING)
    locked, release = asyncio.Event(), asyncio.Event()
    real = account_locks.lock_accounts

    async def lock_then_hold(s: object, accounts: object) -> None:
        await real(s, accounts)  # type: ignore[arg-type]
        locked.set()
        await release.wait()

    monkeypatch.setattr(account_locks, "lock_accounts", lock_then_hold)
    past = LATE_EVENING + RETENTION + dt.timedelta(days=1)
    sweep = asyncio.create_task(forget_unplaced_words(platform.db, now=past, retention=RETENTION))
    await asyncio.wait_for(locked.wait(), DEADLINE_S)
    placing = asyncio.create_task(deliver(platform, [placed("Z-1", 25)], past))
    await waits_or_ends(platform, placing, locktype="advisory")
    assert not placing.done()  # waiting for the pass
    release.set()
    assert await asyncio.wait_for(sweep, DEADLINE_S) is False
    await asyncio.wait_for(placing, DEADLINE_S)
    assert (await account(platform, "Z-1"))["status"] == "open"  # from the file: the words were gone
    assert await words(platform) == {"ledger": [], "plans": []}


def test_the_retention_outlives_the_dead_letters_of_a_placement() -> None:
    with pytest.raises(ValidationError):
        SegmentationSettings(unplaced_words_retention_days=30)
    assert SegmentationSettings(unplaced_words_retention_days=60).unplaced_words_retention_days == 60


async def test_migration_0026_makes_a_word_of_a_payment_kept_before_ledger_words(platform: Platform) -> None:
    # Before migration 0022 only the payment's outcome was kept for an account not placed yet, and the placement read
    # its latest; the placement now reads ledger_words alone, so the migration makes it a word (a later word stays).
    await deliver(platform, [CLIENT, paid("M-1", LATE_EVENING), paid("M-2", LATE_EVENING)], LATE_EVENING)
    async with platform.db.transaction() as s:
        await s.execute(text("DELETE FROM segmentation.ledger_words WHERE account_ref = 'M-1'"))
        await s.execute(text("UPDATE segmentation.ledger_words SET account_status = 'open', new_balance = 500000 "
                             "WHERE account_ref = 'M-2'"))  # as a chargeback after the payment would leave it
    spec = importlib.util.spec_from_file_location(MIGRATION.stem, MIGRATION)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    async with platform.db.transaction() as s:
        for statement in migration.STATEMENTS:  # again: each is idempotent
            await s.execute(text(statement))
    await deliver(platform, [placed("M-1", 25), placed("M-2", 25)], LATE_EVENING)
    assert [(await account(platform, ref))["status"] for ref in ("M-1", "M-2")] == ["paid", "open"]
