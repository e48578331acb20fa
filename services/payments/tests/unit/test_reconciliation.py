"""The reconciliation's comparison and the client company's local day, pure."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from payments.reconciliation.domain import Held, Reported, compare, day_bounds, yesterday

pytestmark = pytest.mark.unit
D = Decimal


def test_a_local_day_in_utc_where_clocks_move() -> None:
    assert day_bounds(dt.date(2026, 3, 31), "America/Bogota") == (
        dt.datetime(2026, 3, 31, 5, tzinfo=dt.UTC), dt.datetime(2026, 4, 1, 5, tzinfo=dt.UTC))
    start, end = day_bounds(dt.date(2026, 3, 8), "America/New_York")  # spring forward: 23 hours
    assert end - start == dt.timedelta(hours=23)
    assert yesterday(dt.datetime(2026, 4, 1, 3, tzinfo=dt.UTC), "America/Bogota") == dt.date(2026, 3, 30)


def test_each_difference_and_what_is_not_one() -> None:
    reported = [Reported("ok", "approved", D("100"), "COP"),
                Reported("more", "approved", D("120"), "COP"),
                Reported("suspense", "approved", D("50"), "COP"),
                Reported("never", "approved", D("70"), "COP"),
                Reported("refunded", "refunded", D("30"), "COP", refunded=D("30")),
                Reported("both-refunded", "refunded", D("30"), "COP", refunded=D("30")),
                Reported("declined", "declined", D("30"), "COP"),
                Reported("partly", "approved", D("40"), "COP", refunded=D("10"))]
    held = {h.gateway_payment_id: h for h in [
        Held("ok", "applied", D("100.00"), "COP"), Held("more", "applied", D("100.00"), "COP"),
        Held("suspense", "unmatched", D("50.00"), "COP"), Held("refunded", "applied", D("30.00"), "COP"),
        Held("both-refunded", "reversed", D("30.00"), "COP", D("30.00")),
        Held("partly", "applied", D("40.00"), "COP")]}
    applied = [held["ok"], held["more"], Held("gone", "applied", D("9.00"), "COP")]
    found = compare(reported, held, applied)
    assert [(d.kind, d.gateway_payment_id, d.in_suspense) for d in found.differences] == [
        ("amount_mismatch", "more", False), ("missing_here", "never", False), ("missing_here", "suspense", True),
        ("missing_there", "gone", False), ("status_mismatch", "partly", False), ("status_mismatch", "refunded", False)]
    assert (found.approved_there, found.approved_there_total) == (5, D("380.00"))
    assert (found.applied_here, found.applied_here_total) == (3, D("209.00"))
