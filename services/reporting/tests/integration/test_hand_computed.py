"""A small portfolio and payment sequence whose expected reports (every group, every KPI, commission and roll
rates) are worked out by hand below, compared to the cent through the real API and PostgreSQL."""

import datetime as dt
import io
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from python_calamine import CalamineWorkbook

from recaudo_common.bus.base import Message
from recaudo_common.bus.consumer import ConsumerRuntime
from recaudo_common.events import (
    AccountPlaced,
    AccountRecalled,
    AccountSegmented,
    ClientRegistered,
    ContactAttempted,
    ContactDelivered,
    ContactFailed,
    ContactLogged,
    Event,
    PaymentApplied,
    PaymentReversed,
    PromiseKept,
    PromiseMade,
)
from recaudo_common.runtime import Platform, make_platform
from recaudo_common.testing import settings_for_test, statements_run
from reporting.consumers import SUBSCRIPTIONS
from reporting.handlers import on_contacts_many

from .conftest import deliver, reporting_client

pytestmark = pytest.mark.integration
UTC = dt.UTC


def at(month: int, day: int, hour: int = 15) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, 0, tzinfo=UTC)


IDS = {name: uuid.uuid4() for name in ("s1", "e2", "s3", "w1", "v1", "g2", "v3", "p1", "pay1", "pay2", "pay3", "pay4",
                                       "pay5")}


def placed(ref: str, balance: str, product: str) -> AccountPlaced:
    return AccountPlaced(account_ref=ref, portfolio_id=uuid.uuid4(), debtor_ref=None, personal=None,
                         has_phone=True, has_email=False, product=product,
                         balance=Decimal(balance), currency="COP", days_past_due=10, as_of=dt.date(2026, 3, 2),
                         authorised_channels=["sms"])


def segmented(ref: str, bucket: str, arm: str, tier: str, at_placement: str | None = None) -> AccountSegmented:
    return AccountSegmented(
        account_ref=ref, days_past_due=10, bucket=bucket, bucket_at_placement=at_placement or bucket,
        segment=f"{bucket}/{tier}", treatment="digital", channels=["sms"], propensity=Decimal("0.3"),
        cost_to_collect=Decimal("1000"), expected_net_recovery=Decimal("1"), strategy_version=1,
        strategy_arm=arm, model_version="m", why="w", trigger="placement")  # type: ignore[arg-type]


def paid(name: str, ref: str, amount: str, when: dt.datetime, balance: str, status: str = "open") -> PaymentApplied:
    return PaymentApplied(payment_id=IDS[name], account_ref=ref, amount=Decimal(amount), currency="COP",
                          paid_at=when, source="gateway", new_balance=Decimal(balance),
                          account_status=status)  # type: ignore[arg-type]


# (occurred at, event). A-1 1-30, A-2 and A-3 31-60, A-4 61-90 (recalled); see the expectations below.
STORY: list[tuple[dt.datetime, Event]] = [
    (at(3, 1), ClientRegistered(slug="banco", name="Banco", country="CO", currency="COP", timezone="America/Bogota",
                                locale="es-CO", default_authorised_channels=["sms"])),
    (at(3, 2), placed("A-1", "1000000", "tarjeta")), (at(3, 2), placed("A-2", "2000000", "libranza")),
    (at(3, 2), placed("A-3", "500000", "tarjeta")), (at(3, 2), placed("A-4", "3000000", "libranza")),
    (at(3, 2, 16), segmented("A-1", "1-30", "champion", "high")),
    (at(3, 2, 16), segmented("A-2", "31-60", "challenger", "low")),
    (at(3, 2, 16), segmented("A-3", "31-60", "champion", "high")),
    (at(3, 2, 16), segmented("A-4", "61-90", "champion", "low")),
    (at(3, 3), ContactAttempted(attempt_id=IDS["s1"], account_ref="A-1", channel="sms", provider="twilio",
                                attempted_at=at(3, 3), cost=Decimal("16000"))),
    (at(3, 3), ContactDelivered(attempt_id=IDS["s1"], account_ref="A-1", channel="sms", delivered_at=at(3, 3))),
    # A delivery receipt may come before its attempt: the fact is the same.
    (at(3, 4), ContactDelivered(attempt_id=IDS["e2"], account_ref="A-2", channel="email", delivered_at=at(3, 4))),
    (at(3, 4), ContactAttempted(attempt_id=IDS["e2"], account_ref="A-2", channel="email", provider="smtp",
                                attempted_at=at(3, 4), cost=Decimal("8000"))),
    (at(3, 3), ContactAttempted(attempt_id=IDS["s3"], account_ref="A-3", channel="sms", provider="twilio",
                                attempted_at=at(3, 3), cost=Decimal("16000"))),
    (at(3, 3), ContactFailed(attempt_id=IDS["s3"], account_ref="A-3", channel="sms", failed_at=at(3, 3),
                             reason="undelivered")),
    # The sandbox's message (simulated): recorded, but neither an attempt, a cost, a contact nor the channel a
    # payment is credited to (pay1 stays voice's).
    (at(3, 5, 16), ContactAttempted(attempt_id=IDS["w1"], account_ref="A-1", channel="whatsapp", provider="sandbox",
                                    attempted_at=at(3, 5, 16), cost=Decimal("16000"), simulated=True)),
    (at(3, 5, 16), ContactDelivered(attempt_id=IDS["w1"], account_ref="A-1", channel="whatsapp",
                                    delivered_at=at(3, 5, 16))),
    (at(3, 5), ContactLogged(contact_id=IDS["v1"], account_ref="A-1", channel="voice", contacted_at=at(3, 5),
                             outcome="right_party")),
    (at(3, 6), ContactLogged(contact_id=IDS["g2"], account_ref="A-2", channel="agent", contacted_at=at(3, 6),
                             outcome="promise_to_pay")),
    (at(3, 6), PromiseMade(promise_id=IDS["p1"], account_ref="A-2", amount=Decimal("500000"),
                           due_date=dt.date(2026, 3, 10), source="agent", made_at=at(3, 6))),
    (at(3, 7), ContactLogged(contact_id=IDS["v3"], account_ref="A-3", channel="voice", contacted_at=at(3, 7),
                             outcome="wrong_number")),
    (at(3, 6), paid("pay1", "A-1", "1000000", at(3, 6), "0", "paid")),
    (at(3, 9), paid("pay2", "A-2", "500000", at(3, 9), "1500000")),
    (at(3, 10), PromiseKept(promise_id=IDS["p1"], account_ref="A-2", kept_at=at(3, 10))),
    (at(3, 12), paid("pay3", "A-2", "200000", at(3, 12), "1300000")),
    (at(3, 13), PaymentReversed(payment_id=IDS["pay3"], reversal_id=uuid.uuid4(), account_ref="A-2",
                                amount=Decimal("200000"), kind="chargeback", reversed_at=at(3, 13),
                                new_balance=Decimal("1500000"), account_status="open")),
    (at(3, 15), paid("pay4", "A-3", "100000", at(3, 15), "400000")),
    (at(3, 20), AccountRecalled(account_ref="A-4", recalled_at=at(3, 20))),
    # April, after the March report's period: A-3 rolls to 61-90, A-2 pays in full (cured).
    (at(4, 15), segmented("A-3", "61-90", "champion", "high", at_placement="31-60")),
    (at(4, 20), paid("pay5", "A-2", "1500000", at(4, 20), "0", "paid")),
]
MARCH = {"from": "2026-03-01T00:00:00-05:00", "to": "2026-04-01T00:00:00-05:00"}
ZERO_KPIS = {"attempts": 0, "contact_cost": "0", "accounts_contacted": 0, "accounts_right_party": 0,
             "right_party_contacts": 0, "right_party_promises": 0, "simulated_attempts": 0, "promises_made": 0,
             "promises_due": 0, "promises_kept": 0,
             "accounts_liquidated": 0, "outstanding": "0", "written_off": "0", "accounts_written_off": 0,
             "recovered_after_write_off": "0", "written_off_balance": "0"}
NO_PLACED = {"accounts_placed": 0, "placed_balance": "0", "accounts_recalled": 0, "recovery_rate": 0.0,
             "contact_rate": None, "right_party_contact_rate": None, "liquidation_rate": None}


def figures(**kw: Any) -> dict[str, Any]:
    return {**ZERO_KPIS, "payments": 0, "recovered": "0", **kw}


EXPECTED_TOTALS = figures(
    accounts_placed=4, placed_balance="6500000.00", accounts_recalled=1,
    recovered="1600000.00", payments=4, recovery_rate=0.246154,  # 1,600,000 / 6,500,000
    attempts=3, contact_cost="40000.0000", accounts_contacted=2, accounts_right_party=2, right_party_contacts=2,
    simulated_attempts=1, right_party_promises=1,  # g2, A-2's call that ended in p1
    promises_made=1, promises_due=1, promises_kept=1, accounts_liquidated=1,
    contact_rate=0.5, right_party_contact_rate=0.5, ptp_rate=0.5, kept_promise_rate=1.0,
    cost_ratio=0.025, liquidation_rate=0.25,
    outstanding="400000.00")  # now (May 2nd): A-3's 400,000; A-1 and A-2 paid, A-4 recalled
EXPECTED_BY_BUCKET = {
    "1-30": figures(accounts_placed=1, placed_balance="1000000.00", accounts_recalled=0, recovered="1000000.00",
                    payments=1, recovery_rate=1.0, attempts=1, contact_cost="16000.0000", accounts_contacted=1,
                    accounts_right_party=1, right_party_contacts=1, accounts_liquidated=1, contact_rate=1.0,
                    right_party_contact_rate=1.0, ptp_rate=0.0, kept_promise_rate=None, cost_ratio=0.016,
                    liquidation_rate=1.0, simulated_attempts=1),
    "31-60": figures(accounts_placed=2, placed_balance="2500000.00", accounts_recalled=0, recovered="600000.00",
                     payments=3, recovery_rate=0.24, attempts=2, contact_cost="24000.0000", accounts_contacted=1,
                     accounts_right_party=1, right_party_contacts=1, right_party_promises=1, promises_made=1,
                     promises_due=1, promises_kept=1, contact_rate=0.5, right_party_contact_rate=0.5, ptp_rate=1.0,
                     kept_promise_rate=1.0, cost_ratio=0.04, liquidation_rate=0.0, outstanding="400000.00"),
    "61-90": figures(accounts_placed=1, placed_balance="3000000.00", accounts_recalled=1, recovery_rate=0.0,
                     contact_rate=0.0, right_party_contact_rate=0.0, ptp_rate=None, kept_promise_rate=None,
                     cost_ratio=None, liquidation_rate=0.0),
}
EXPECTED_BY_CHANNEL = {
    "agent": figures(**NO_PLACED, recovered="500000.00", payments=2, accounts_contacted=1, accounts_right_party=1,
                     right_party_contacts=1, right_party_promises=1, promises_made=1, promises_due=1,
                     promises_kept=1, ptp_rate=1.0, kept_promise_rate=1.0, cost_ratio=0.0),
    "email": figures(**NO_PLACED, attempts=1, contact_cost="8000.0000", accounts_contacted=1, ptp_rate=None,
                     kept_promise_rate=None, cost_ratio=None),
    "none": figures(**NO_PLACED, recovered="100000.00", payments=1, ptp_rate=None, kept_promise_rate=None,
                    cost_ratio=0.0),
    "sms": figures(**NO_PLACED, attempts=2, contact_cost="32000.0000", accounts_contacted=1, ptp_rate=None,
                   kept_promise_rate=None, cost_ratio=None),
    "voice": figures(**NO_PLACED, recovered="1000000.00", payments=1, accounts_contacted=1, accounts_right_party=1,
                     right_party_contacts=1, accounts_liquidated=1, ptp_rate=0.0, kept_promise_rate=None,
                     cost_ratio=0.0),
    "whatsapp": figures(**NO_PLACED, simulated_attempts=1, ptp_rate=None, kept_promise_rate=None, cost_ratio=None),
}


@pytest.fixture
async def story(database_url: str) -> AsyncIterator[tuple[Platform, httpx.AsyncClient]]:
    now = at(5, 2)
    platform: Platform = make_platform(settings_for_test(database_url), pool_size=3, clock=lambda: now)
    await deliver(platform, (("banco", occurred, event) for occurred, event in STORY), now=now)
    _, operator = await platform.keys.create(role="operator", now=now)
    async with reporting_client(platform, operator) as http:
        yield platform, http
    await platform.db.dispose()


@pytest.fixture
def reports(story: tuple[Platform, httpx.AsyncClient]) -> httpx.AsyncClient:
    return story[1]


def normalised(body: dict[str, Any]) -> dict[str, Any]:
    return {k: (str(Decimal(v)) if k in {"placed_balance", "recovered", "contact_cost"} else v)
            for k, v in body.items() if k != "key"}


def expected(f: dict[str, Any]) -> dict[str, Any]:
    return {k: (str(Decimal(v)) if k in {"placed_balance", "recovered", "contact_cost"} else v) for k, v in f.items()}


async def test_every_group_and_kpi_to_the_cent(reports: httpx.AsyncClient) -> None:
    await march_figures_are_the_hand_computed_ones(reports)


async def test_the_story_applied_in_one_batch_gives_the_same_figures(database_url: str) -> None:
    """The whole story in one fetched batch: runs of placements, segmentations and contacts go to their batch
    handlers (a contact's attempt and its delivery in one run among them), and every figure is the same."""
    now = at(5, 2)
    platform: Platform = make_platform(settings_for_test(database_url), pool_size=3, clock=lambda: now)
    assert SUBSCRIPTIONS.batch_handler_for("contact.delivered") is on_contacts_many
    runtime = ConsumerRuntime(platform.db, platform.transport, SUBSCRIPTIONS, "t", lambda: now)
    batch = [Message(f"t.{event.family}", event.key("banco"), event.envelope(client="banco", occurred_at=occurred),
                     {}) for occurred, event in STORY]
    try:
        assert await runtime.handle_batch(batch) == ["processed"] * len(STORY)
        _, operator = await platform.keys.create(role="operator", now=now)
        async with reporting_client(platform, operator) as http:
            await march_figures_are_the_hand_computed_ones(http)
    finally:
        await platform.db.dispose()


async def march_figures_are_the_hand_computed_ones(reports: httpx.AsyncClient) -> None:
    by_bucket = (await reports.get("/v1/clients/banco/reports/recovery", params={**MARCH, "group_by": "bucket"})).json()
    assert normalised(by_bucket["totals"]) == expected(EXPECTED_TOTALS)
    assert {g["key"]: normalised(g) for g in by_bucket["groups"]} == {
        k: expected(v) for k, v in EXPECTED_BY_BUCKET.items()}
    by_channel = (await reports.get("/v1/clients/banco/reports/recovery",
                                    params={**MARCH, "group_by": "channel"})).json()
    assert {g["key"]: normalised(g) for g in by_channel["groups"]} == {
        k: expected(v) for k, v in EXPECTED_BY_CHANNEL.items()}
    by_arm = (await reports.get("/v1/clients/banco/reports/recovery",
                                params={**MARCH, "group_by": "strategy_arm"})).json()
    assert {g["key"]: (g["accounts_placed"], Decimal(g["recovered"])) for g in by_arm["groups"]} == {
        "champion": (3, Decimal("1100000")), "challenger": (1, Decimal("500000"))}
    by_day = (await reports.get("/v1/clients/banco/reports/recovery", params={**MARCH, "group_by": "day"})).json()
    days = {g["key"]: (g["accounts_placed"], Decimal(g["recovered"]), g["attempts"]) for g in by_day["groups"]}
    assert days["2026-03-02"] == (4, Decimal(0), 0) and days["2026-03-06"] == (0, Decimal("1000000"), 0)
    # pay3 on the 12th, its chargeback on the 13th: each on its own day (a reversal counts when it happened).
    assert days["2026-03-12"] == (0, Decimal("200000"), 0) and days["2026-03-03"] == (0, Decimal(0), 2)
    assert days["2026-03-13"][1] == Decimal("-200000")
    assert sum(v[1] for v in days.values()) == Decimal("1600000")


@pytest.mark.parametrize("period", [MARCH, {}], ids=["march", "live"])
async def test_grouped_by_an_account_attribute_the_totals_are_the_groups_summed_in_one_pass(
        story: tuple[Platform, httpx.AsyncClient], period: dict[str, str]) -> None:
    platform, reports = story
    url = "/v1/clients/banco/reports/recovery"
    ungrouped = (await reports.get(url, params=period)).json()["totals"]
    for group_by in ("bucket", "current_bucket", "segment", "product", "strategy_arm"):
        with statements_run(platform.db, "FROM reporting.payments p") as payment_passes:
            body = (await reports.get(url, params={**period, "group_by": group_by})).json()
        assert normalised(body["totals"]) == normalised(ungrouped), group_by
        assert len(payment_passes) == 1, group_by  # the groups only: the totals are their sum
    with statements_run(platform.db, "FROM reporting.payments p") as payment_passes:
        by_channel = (await reports.get(url, params={**period, "group_by": "channel"})).json()
    assert normalised(by_channel["totals"]) == normalised(ungrouped)
    assert len(payment_passes) == 2  # a contact's channel is no account attribute: the totals are asked apart


async def test_commission_and_remittance(reports: httpx.AsyncClient) -> None:
    put = await reports.put("/v1/clients/banco/commission-rates",
                            json={"rates": {"1-30": "0.10", "31-60": "0.15"}, "default": "0.20"})
    assert put.status_code == 200
    body = (await reports.get("/v1/clients/banco/reports/commission", params=MARCH)).json()
    lines = {i["bucket"]: (Decimal(i["recovered"]), Decimal(i["rate"]), Decimal(i["commission"]),
                           Decimal(i["remittance"])) for i in body["items"]}
    assert lines == {"1-30": (Decimal("1000000"), Decimal("0.10"), Decimal("100000"), Decimal("900000")),
                     "31-60": (Decimal("600000"), Decimal("0.15"), Decimal("90000"), Decimal("510000")),
                     "61-90": (Decimal("0"), Decimal("0.20"), Decimal("0"), Decimal("0"))}
    assert (Decimal(body["totals"]["commission"]), Decimal(body["totals"]["remittance"])) == (
        Decimal("190000"), Decimal("1410000"))
    xlsx = await reports.get("/v1/clients/banco/reports/commission", params={**MARCH, "format": "xlsx"})
    rows = CalamineWorkbook.from_filelike(io.BytesIO(xlsx.content)).get_sheet_by_index(0).to_python()
    assert rows[0] == ["tramo", "recaudo", "tasa de comisión", "comisión", "a remitir al cliente"]
    assert rows[-1] == ["total", 1600000.0, 0.0, 190000.0, 1410000.0]


async def test_exports_keep_numbers_and_neutralise_text(reports: httpx.AsyncClient) -> None:
    csv_body = (await reports.get("/v1/clients/banco/reports/recovery",
                                  params={**MARCH, "group_by": "product", "format": "csv"})).text
    lines = csv_body.splitlines()  # banco is es-CO: a BOM, `;` and the decimal comma, as Excel opens it there
    assert lines[0].startswith("\ufeffgrupo;cuentas asignadas;saldo asignado;")
    assert lines[-1].startswith("total;4;6500000,00;1;1600000,00;4;0,246154;")
    xlsx = await reports.get("/v1/clients/banco/reports/recovery",
                             params={**MARCH, "group_by": "product", "format": "xlsx"})
    rows = CalamineWorkbook.from_filelike(io.BytesIO(xlsx.content)).get_sheet_by_index(0).to_python()
    assert [r[0] for r in rows] == ["grupo", "libranza", "tarjeta", "total"]
    assert rows[-1][1:5] == [4.0, 6500000.0, 1.0, 1600000.0]


async def test_roll_and_cure_rates_month_over_month(reports: httpx.AsyncClient) -> None:
    body = (await reports.get("/v1/clients/banco/reports/roll-rates", params={"from": "2026-03",
                                                                            "to": "2026-04"})).json()
    assert body["months"] == ["2026-03", "2026-04"]
    # End of March: A-1 paid, A-2 and A-3 in 31-60, A-4 recalled. End of April: A-2 paid (cured), A-3 61-90.
    assert body["items"] == [{"period": "2026-03→2026-04", "bucket": "31-60", "accounts": 2, "rolled_forward": 1,
                              "stayed": 0, "rolled_back": 0, "cured": 1, "written_off": 0, "recalled": 0, "roll_rate": 0.5,
                              "cure_rate": 0.5}]


async def test_the_account_view_shows_arrangements_and_last_contacts(reports: httpx.AsyncClient) -> None:
    view = (await reports.get("/v1/clients/banco/accounts/A-2")).json()
    assert (view["status"], Decimal(view["balance"]), Decimal(view["recovered"])) == (
        "paid", Decimal("0"), Decimal("2000000"))  # 500,000 + (200,000 reversed) + 1,500,000
    assert [(c["channel"], c["outcome"], c["delivered"]) for c in view["last_contacts"]] == [
        ("agent", "promise_to_pay", False), ("email", None, True)]
    assert view["arrangements"] == []
