"""Payments' promise events reach the account's history on a real PostgreSQL through segmentation's consumer, each
naming its promise: a settlement broken at its deadline and then kept after all (its payment in time known late) is
counted broken until it is kept and kept from then, never both, while another promise broken stays broken."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from recaudo_common.events import PromiseBroken, PromiseKept, PromiseMade, PromiseReopened
from recaudo_common.runtime import Platform
from segmentation import model_store
from segmentation.domain.history import features_at

from .test_aging import CLIENT, LATE_EVENING, deliver, placed

pytestmark = pytest.mark.integration


async def test_a_promise_kept_after_it_was_broken_counts_once_as_kept(platform: Platform) -> None:
    settlement, other = uuid.uuid4(), uuid.uuid4()
    made, broken = LATE_EVENING, LATE_EVENING + dt.timedelta(days=3)
    kept = broken + dt.timedelta(days=2)
    await deliver(platform, [CLIENT, placed("A-1", 40)], made)
    await deliver(platform, [
        PromiseMade(promise_id=p, account_ref="A-1", amount=Decimal("300000"), due_date=(made + dt.timedelta(days=2))
                    .date(), source="agent", made_at=made) for p in (settlement, other)], made)
    await deliver(platform, [
        PromiseBroken(promise_id=p, account_ref="A-1", broken_at=broken, paid_amount=Decimal(0))
        for p in (settlement, other)], broken)
    await deliver(platform, [PromiseKept(promise_id=settlement, account_ref="A-1", kept_at=kept)], kept)
    async with platform.db.transaction() as s:
        [history] = await model_store.histories(s, "banco", ["A-1"])
    between, after = features_at(history, broken + dt.timedelta(days=1)), features_at(history, kept)
    assert between is not None and after is not None
    assert (between.promises_kept, between.promises_broken) == (0, 2)
    assert (after.promises_kept, after.promises_broken) == (1, 1)


async def test_a_promise_reopened_is_no_longer_kept(platform: Platform) -> None:
    # Payments took back the money that kept it before its grace day ended (promise.reopened): kept until then,
    # neither kept nor broken while pending, broken once the evaluator says so; the account is measured again.
    promised = uuid.uuid4()
    made = LATE_EVENING
    kept, reopened, broken = (made + dt.timedelta(days=d) for d in (1, 2, 4))
    await deliver(platform, [CLIENT, placed("A-1", 40)], made)
    await deliver(platform, [PromiseMade(promise_id=promised, account_ref="A-1", amount=Decimal("300000"),
                                         due_date=(made + dt.timedelta(days=2)).date(), source="agent",
                                         made_at=made)], made)
    await deliver(platform, [PromiseKept(promise_id=promised, account_ref="A-1", kept_at=kept)], kept)
    await deliver(platform, [PromiseReopened(promise_id=promised, account_ref="A-1", reopened_at=reopened,
                                             paid_amount=Decimal("100000"), payment_id=uuid.uuid4(),
                                             reason="refund")], reopened)
    async with platform.db.transaction() as s:
        [history] = await model_store.histories(s, "banco", ["A-1"])
    assert [(f.promises_kept, f.promises_broken) for f in (
        features_at(history, kept), features_at(history, reopened)) if f is not None] == [(1, 0), (0, 0)]
    await deliver(platform, [PromiseBroken(promise_id=promised, account_ref="A-1", broken_at=broken,
                                           paid_amount=Decimal("100000"))], broken)
    async with platform.db.transaction() as s:
        [history] = await model_store.histories(s, "banco", ["A-1"])
    after = features_at(history, broken)
    assert after is not None and (after.promises_kept, after.promises_broken) == (0, 1)
