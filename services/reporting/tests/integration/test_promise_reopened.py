"""A promise kept and then reopened (payments took back money that kept it, before its grace day ended), through
reporting's consumer and its recovery report on PostgreSQL: no longer counted kept, nor due, until its next verdict."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from recaudo_common.events import Event, PromiseBroken, PromiseKept, PromiseReopened
from recaudo_common.runtime import make_platform
from recaudo_common.testing import settings_for_test

from .conftest import deliver, reporting_client
from .test_report_boundaries import NOW, STORY, at, promise, report

pytestmark = pytest.mark.integration


def reopened(pid: uuid.UUID, when: dt.datetime) -> PromiseReopened:
    return PromiseReopened(promise_id=pid, account_ref="B-3", reopened_at=when, paid_amount=Decimal("400"),
                           payment_id=uuid.uuid4(), reason="chargeback")


async def test_a_reopened_promise_is_not_kept_until_its_next_verdict(database_url: str) -> None:
    platform = make_platform(settings_for_test(database_url), pool_size=3, clock=lambda: NOW)
    first, second = uuid.uuid4(), uuid.uuid4()
    # The boundaries' story (November: 2 promises due, pr1 kept) and two more promises of B-3 due on 20 November.
    story: list[tuple[dt.datetime, Event]] = [
        *STORY, (at(11, 2), promise(first, "B-3", at(11, 2), dt.date(2026, 11, 20))),
        (at(11, 2), promise(second, "B-3", at(11, 2), dt.date(2026, 11, 20))),
        (at(11, 5), PromiseKept(promise_id=first, account_ref="B-3", kept_at=at(11, 5))),
        (at(11, 5), PromiseKept(promise_id=second, account_ref="B-3", kept_at=at(11, 5)))]
    _, operator = await platform.keys.create(role="operator", now=NOW)
    try:
        async with reporting_client(platform, operator) as http:
            await deliver(platform, (("banco", occurred, event) for occurred, event in story), now=NOW)
            totals = (await report(http))["totals"]
            assert (totals["promises_due"], totals["promises_kept"], totals["kept_promise_rate"]) == (4, 3, 0.75)
            # Both reopened: pending again, neither kept nor due.
            await deliver(platform, [("banco", at(11, 8), reopened(p, at(11, 8))) for p in (first, second)], now=NOW)
            totals = (await report(http))["totals"]
            assert (totals["promises_due"], totals["promises_kept"], totals["kept_promise_rate"]) == (2, 1, 0.5)
            # Then one is kept again by the next payment, the other broken by the evaluator after its grace day.
            await deliver(platform, [
                ("banco", at(11, 10), PromiseKept(promise_id=first, account_ref="B-3", kept_at=at(11, 10))),
                ("banco", at(11, 22), PromiseBroken(promise_id=second, account_ref="B-3", broken_at=at(11, 22),
                                                    paid_amount=Decimal("400")))], now=NOW)
            totals = (await report(http))["totals"]
            assert (totals["promises_due"], totals["promises_kept"], totals["kept_promise_rate"]) == (4, 2, 0.5)
    finally:
        await platform.db.dispose()
