"""Payments' promise events reach the account's history on a real PostgreSQL through segmentation's consumer, each
naming its promise: a settlement broken at its deadline and then kept after all (its payment in time known late) is
counted broken until it is kept and kept from then, never both, while another promise broken stays broken."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from recaudo_common.events import PromiseBroken, PromiseKept, PromiseMade
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
