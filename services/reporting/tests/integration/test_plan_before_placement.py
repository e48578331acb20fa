"""The ledger's and a plan's word reaching reporting before the account's placement (payments answers an operator's
plan, a payment or a restatement while reporting is behind on a large upload; a rebuild replays the topics in any
order), through the real API and PostgreSQL: the account view and the live report read as if the events had come in
the ledger's order."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from recaudo_common.events import (
    ArrangementBroken,
    ArrangementMade,
    ClientRegistered,
    Event,
    Instalment,
    PaymentAdjusted,
    PaymentApplied,
)
from recaudo_common.runtime import Platform, make_platform
from recaudo_common.testing import settings_for_test

from .conftest import deliver, reporting_client
from .test_hand_computed import at, placed, segmented

pytestmark = pytest.mark.integration
PLAN, BROKEN = uuid.uuid4(), uuid.uuid4()


def paid(ref: str, amount: str, when: dt.datetime, left: str, status: str = "open") -> PaymentApplied:
    return PaymentApplied(payment_id=uuid.uuid4(), account_ref=ref, amount=Decimal(amount), currency="COP",
                          paid_at=when, source="gateway", new_balance=Decimal(left),
                          account_status=status)  # type: ignore[arg-type]


def plan(arrangement_id: uuid.UUID, ref: str, total: str, when: dt.datetime) -> ArrangementMade:
    half = Decimal(total) / 2
    return ArrangementMade(arrangement_id=arrangement_id, account_ref=ref, kind="instalment_plan",
                           total_amount=Decimal(total), made_at=when, source="operator",
                           instalments=[Instalment(due_date=dt.date(2026, 3, 20), amount=half),
                                        Instalment(due_date=dt.date(2026, 4, 20), amount=half)])


# (occurred at, event): every payment, plan and restatement before the placements they are about.
STORY: list[tuple[dt.datetime, Event]] = [
    (at(3, 1), ClientRegistered(slug="banco", name="Banco", country="CO", currency="COP", timezone="America/Bogota",
                                locale="es-CO", default_authorised_channels=["sms"])),
    # P-1: a plan of its whole balance agreed the day it was placed, then a first instalment paid.
    (at(3, 2, 17), plan(PLAN, "P-1", "1000000", at(3, 2, 17))),
    (at(3, 5), paid("P-1", "500000", at(3, 5), "500000")),
    # P-2: paid in full, then the client company's file restates it 20,000 higher: owed again.
    (at(3, 6), paid("P-2", "800000", at(3, 6), "0", "paid")),
    (at(3, 9), PaymentAdjusted(account_ref="P-2", amount=Decimal("20000"), currency="COP", adjusted_at=at(3, 9),
                               new_balance=Decimal("20000"), account_status="open")),  # type: ignore[arg-type]
    # P-3: a plan agreed and broken.
    (at(3, 3), plan(BROKEN, "P-3", "300000", at(3, 3))),
    (at(3, 22), ArrangementBroken(arrangement_id=BROKEN, account_ref="P-3", broken_at=at(3, 22),
                                  missed_instalments=1)),
    # The placements (of March 2nd, as ingest stamped them) and their assignments reach reporting last.
    (at(3, 2), placed("P-1", "1000000", "tarjeta")), (at(3, 2), placed("P-2", "800000", "libranza")),
    (at(3, 2), placed("P-3", "300000", "tarjeta")),
    (at(3, 2, 16), segmented("P-1", "1-30", "champion", "high")),
    (at(3, 2, 16), segmented("P-2", "31-60", "champion", "high")),
    (at(3, 2, 16), segmented("P-3", "31-60", "challenger", "low"))]


async def test_payments_plans_and_restatements_before_the_placement_are_in_the_view_and_the_live_report(
        database_url: str) -> None:
    now = at(3, 25)
    platform: Platform = make_platform(settings_for_test(database_url), pool_size=3, clock=lambda: now)
    await deliver(platform, (("banco", when, event) for when, event in STORY), now=now)
    _, operator = await platform.keys.create(role="operator", now=now)
    async with reporting_client(platform, operator) as http:
        views = {ref: (await http.get(f"/v1/clients/banco/accounts/{ref}")).json() for ref in ("P-1", "P-2", "P-3")}
        live = (await http.get("/v1/clients/banco/reports/recovery", params={"group_by": "bucket"})).json()
    await platform.db.dispose()
    assert {ref: (v["status"], Decimal(v["balance"]), Decimal(v["recovered"]), Decimal(v["placed_balance"]))
            for ref, v in views.items()} == {
        "P-1": ("open", Decimal("500000"), Decimal("500000"), Decimal("1000000")),
        "P-2": ("open", Decimal("20000"), Decimal("800000"), Decimal("800000")),
        "P-3": ("open", Decimal("300000"), Decimal("0"), Decimal("300000"))}
    assert [(a["arrangement_id"], a["kind"], a["result"]) for a in views["P-1"]["arrangements"]] == [
        (str(PLAN), "instalment_plan", None)]
    assert [(a["arrangement_id"], Decimal(a["total_amount"]), a["result"]) for a in views["P-3"]["arrangements"]] == [
        (str(BROKEN), Decimal("300000"), "broken")]
    totals = live["totals"]
    assert (totals["accounts_placed"], Decimal(str(totals["placed_balance"])), Decimal(str(totals["recovered"])),
            Decimal(str(totals["outstanding"]))) == (3, Decimal("2100000"), Decimal("1300000"), Decimal("820000"))
    # Each payment counts in its account's bucket at placement, none unassigned.
    assert {g["key"]: Decimal(str(g["recovered"])) for g in live["groups"]} == {
        "1-30": Decimal("500000"), "31-60": Decimal("800000")}
