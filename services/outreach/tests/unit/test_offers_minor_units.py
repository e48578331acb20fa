"""The debtor page's offers in a currency without cents (CLP): the settlement and each instalment in whole pesos,
as payments accepts them; every other currency's offers are to the cent as before."""

import datetime as dt
from decimal import Decimal

import pytest

from outreach.domain.offers import offers
from outreach.domain.templates import offer_text
from recaudo_common.instalments import ArrangementLimits

pytestmark = pytest.mark.unit
TODAY = dt.date(2026, 3, 2)
D = Decimal


def test_a_clp_plan_and_settlement_are_whole_pesos() -> None:
    plan = offers("instalment_plan", None, D("100000"), TODAY, ArrangementLimits(), "CLP").plan
    assert plan is not None
    three = plan.plan(3)
    assert three is not None and [a for _, a in three.instalments] == [D("33333"), D("33333"), D("33334")]
    settlement = offers("settlement", D("15"), D("100001"), TODAY, ArrangementLimits(), "CLP").settlement
    assert settlement is not None and settlement.total == D("85001")


def test_a_cop_plan_and_settlement_are_to_the_cent_as_before() -> None:
    plan = offers("instalment_plan", None, D("100000"), TODAY, ArrangementLimits(), "COP").plan
    assert plan is not None
    three = plan.plan(3)
    assert three is not None and [a for _, a in three.instalments] == [D("33333.33"), D("33333.33"), D("33333.34")]
    settlement = offers("settlement", D("15"), D("100001"), TODAY, ArrangementLimits(), "COP").settlement
    assert settlement is not None and settlement.total == D("85000.85")


def test_a_messages_settlement_is_whole_pesos() -> None:
    assert "85.001" in offer_text("settlement", D("15"), D("100001"), "CLP", "es-CL")
    assert ",85" not in offer_text("settlement", D("15"), D("100001"), "CLP", "es-CL")
