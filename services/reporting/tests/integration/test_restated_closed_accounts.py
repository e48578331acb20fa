"""A client company's file that restates an account payments has closed, in the account view (payment.adjusted: the
ledger's word after the stated balance's change), through the real API and PostgreSQL: a paid account owed again
shows open with what it owes; a settled one stays settled; the recovery report's figures do not move."""

import datetime as dt
from decimal import Decimal

import pytest

from recaudo_common.events import ClientRegistered, PaymentAdjusted
from recaudo_common.runtime import Platform, make_platform
from recaudo_common.testing import settings_for_test

from .conftest import deliver, reporting_client
from .test_hand_computed import at, paid, placed, segmented

pytestmark = pytest.mark.integration


def adjusted(ref: str, amount: str, left: str, status: str, when: dt.datetime) -> PaymentAdjusted:
    return PaymentAdjusted(account_ref=ref, amount=Decimal(amount), currency="COP", adjusted_at=when,
                           new_balance=Decimal(left), account_status=status)  # type: ignore[arg-type]


async def test_the_account_view_says_the_ledgers_word_after_a_restatement(database_url: str) -> None:
    now = at(4, 2)
    platform: Platform = make_platform(settings_for_test(database_url), pool_size=3, clock=lambda: now)
    story = [
        ClientRegistered(slug="banco", name="Banco", country="CO", currency="COP", timezone="America/Bogota",
                         locale="es-CO", default_authorised_channels=["sms"]),
        placed("Z-1", "500000", "tarjeta"), segmented("Z-1", "1-30", "champion", "high"),
        placed("Z-2", "500000", "tarjeta"), segmented("Z-2", "1-30", "champion", "high"),
        paid("pay1", "Z-1", "500000", at(3, 10), "0", "paid"),
        paid("pay2", "Z-2", "350000", at(3, 10), "150000", "settled"),
        adjusted("Z-1", "20000", "20000", "open", at(3, 20)), adjusted("Z-2", "30000", "180000", "settled", at(3, 20))]
    await deliver(platform, (("banco", at(3, 2), event) for event in story), now=now)
    _, operator = await platform.keys.create(role="operator", now=now)
    async with reporting_client(platform, operator) as http:
        views = {ref: (await http.get(f"/v1/clients/banco/accounts/{ref}")).json() for ref in ("Z-1", "Z-2")}
        totals = (await http.get("/v1/clients/banco/reports/recovery", params={
            "from": "2026-03-01T00:00:00-05:00", "to": "2026-04-01T00:00:00-05:00"})).json()["totals"]
    await platform.db.dispose()
    assert {ref: (v["status"], Decimal(v["balance"])) for ref, v in views.items()} == {
        "Z-1": ("open", Decimal("20000")), "Z-2": ("settled", Decimal("180000"))}
    assert (Decimal(str(totals["placed_balance"])), Decimal(str(totals["recovered"]))) == (
        Decimal("1000000"), Decimal("850000"))
