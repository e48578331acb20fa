"""The recovery report at its edges, worked out by hand: a period's two ends in the client company's time zone, a
payment's channel at exactly seven days, promises due (not made) in the period, an account with no product or
segment, and accounts paid in full by payments applied out of their dates' order or on the same instant."""

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from recaudo_common.events import (
    AccountPlaced,
    AccountSegmented,
    ClientRegistered,
    ContactAttempted,
    ContactLogged,
    Event,
    PaymentApplied,
    PaymentReversed,
    PromiseBroken,
    PromiseKept,
    PromiseMade,
)
from recaudo_common.runtime import Platform, make_platform
from recaudo_common.testing import settings_for_test

from .conftest import deliver, reporting_client

pytestmark = pytest.mark.integration
UTC = dt.UTC
BOGOTA = dt.timezone(dt.timedelta(hours=-5))
FROM = dt.datetime(2026, 11, 1, tzinfo=BOGOTA)  # 05:00 UTC
TO = dt.datetime(2026, 12, 1, tzinfo=BOGOTA)
NOVEMBER = {"from": FROM.isoformat(), "to": TO.isoformat()}
URL = "/v1/clients/banco/reports/recovery"


def at(month: int, day: int, hour: int = 15, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, second, tzinfo=UTC)


def placed(ref: str, balance: str, product: str | None) -> AccountPlaced:
    return AccountPlaced(account_ref=ref, portfolio_id=uuid.uuid4(), debtor_ref=None, personal=None,
                         has_phone=True, has_email=False, product=product, balance=Decimal(balance), currency="COP",
                         days_past_due=10, as_of=dt.date(2026, 10, 20), authorised_channels=["sms"])


def segmented(ref: str, bucket: str) -> AccountSegmented:
    return AccountSegmented(
        account_ref=ref, days_past_due=10, bucket=bucket, bucket_at_placement=bucket, segment=f"{bucket}/high",
        treatment="digital", channels=["sms"], propensity=Decimal("0.3"), cost_to_collect=Decimal("1000"),
        expected_net_recovery=Decimal("1"), strategy_version=1, strategy_arm="champion", model_version="m", why="w",
        trigger="placement")


def paid(payment_id: uuid.UUID, ref: str, amount: str, when: dt.datetime, balance: str,
         status: str = "open") -> PaymentApplied:
    return PaymentApplied(payment_id=payment_id, account_ref=ref, amount=Decimal(amount), currency="COP",
                          paid_at=when, source="bank_file", new_balance=Decimal(balance),
                          account_status=status)  # type: ignore[arg-type]


def contact(ref: str, channel: str, when: dt.datetime) -> ContactAttempted:
    return ContactAttempted(attempt_id=uuid.uuid4(), account_ref=ref, channel=channel,  # type: ignore[arg-type]
                            provider="p", attempted_at=when, cost=Decimal("100"))


def promise(pid: uuid.UUID, ref: str, made: dt.datetime, due: dt.date) -> PromiseMade:
    return PromiseMade(promise_id=pid, account_ref=ref, amount=Decimal("1000"), due_date=due, source="agent",
                       made_at=made)


P = {name: uuid.uuid4() for name in ("q1", "q2", "q3", "q4", "q5", "q6", "q7", "q8", "q9", "pr1", "pr2", "pr3",
                                     "pr4")}
FIRST_DAY_START = FROM.astimezone(UTC)  # 2026-11-01 05:00 UTC
PERIOD_END = TO.astimezone(UTC)
STORY: list[tuple[dt.datetime, Event]] = [
    (at(10, 1), ClientRegistered(slug="banco", name="Banco", country="CO", currency="COP",
                                 timezone="America/Bogota", locale="es-CO", default_authorised_channels=["sms"])),
    (at(10, 20), placed("B-1", "1000000", "tarjeta")), (at(10, 20), placed("B-2", "500000", None)),
    (at(10, 20), placed("B-3", "2000000", "libranza")), (at(10, 20), placed("B-4", "300000", "tarjeta")),
    (at(10, 20), placed("B-5", "300000", "tarjeta")),
    (at(10, 20, 16), segmented("B-1", "1-30")), (at(10, 20, 16), segmented("B-3", "31-60")),
    (at(10, 20, 16), segmented("B-4", "1-30")), (at(10, 20, 16), segmented("B-5", "1-30")),  # B-2: not segmented
    # B-1: an SMS exactly seven days before q1, the payment at the period's first instant (in the period), q2 at its
    # end (not), q3 a second before its start (not).
    (at(10, 25, 5), contact("B-1", "sms", FIRST_DAY_START - dt.timedelta(days=7))),
    (FIRST_DAY_START, paid(P["q1"], "B-1", "100000", FIRST_DAY_START, "900000")),
    (at(10, 31), paid(P["q3"], "B-1", "30000", FIRST_DAY_START - dt.timedelta(seconds=1), "870000")),
    (PERIOD_END, paid(P["q2"], "B-1", "50000", PERIOD_END, "820000")),
    # B-2 (no product, never segmented): an email a second more than seven days before q5, a voice call at q5's
    # instant and a WhatsApp after it; none is q5's channel.
    (at(11, 8, 14, 59, 59), contact("B-2", "email", at(11, 8, 14, 59, 59))),
    (at(11, 15), contact("B-2", "voice", at(11, 15))), (at(11, 15, 16), contact("B-2", "whatsapp", at(11, 15, 16))),
    (at(11, 15), paid(P["q5"], "B-2", "70000", at(11, 15), "430000")),
    # B-3: an SMS then an agent's call: q4 is the agent's (the last); q4 is reversed in December, which counts
    # there: November keeps it.
    (at(11, 8), contact("B-3", "sms", at(11, 8))),
    (at(11, 9), ContactLogged(contact_id=uuid.uuid4(), account_ref="B-3", channel="agent", contacted_at=at(11, 9),
                              outcome="promise_to_pay")),
    (at(11, 10), paid(P["q4"], "B-3", "200000", at(11, 10), "1800000")),
    (at(12, 5), PaymentReversed(payment_id=P["q4"], reversal_id=uuid.uuid4(), account_ref="B-3",
                                amount=Decimal("200000"), kind="chargeback", reversed_at=at(12, 5),
                                new_balance=Decimal("2000000"), account_status="open")),
    # Promises: pr1 made in October and due (kept) in November; pr2 made in November, due in December; pr3 due on
    # November's last local day (broken); pr4 due on December 1st.
    (at(10, 28), promise(P["pr1"], "B-3", at(10, 28), dt.date(2026, 11, 5))),
    (at(11, 7), PromiseKept(promise_id=P["pr1"], account_ref="B-3", kept_at=at(11, 7))),
    (at(11, 9), promise(P["pr2"], "B-3", at(11, 9), dt.date(2026, 12, 3))),
    (at(12, 5), PromiseBroken(promise_id=P["pr2"], account_ref="B-3", broken_at=at(12, 5), paid_amount=Decimal(0))),
    (at(11, 25), promise(P["pr3"], "B-1", at(11, 25), dt.date(2026, 11, 30))),
    (at(12, 2), PromiseBroken(promise_id=P["pr3"], account_ref="B-1", broken_at=at(12, 2), paid_amount=Decimal(0))),
    (at(11, 26), promise(P["pr4"], "B-1", at(11, 26), dt.date(2026, 12, 1))),
    (at(12, 3), PromiseBroken(promise_id=P["pr4"], account_ref="B-1", broken_at=at(12, 3), paid_amount=Decimal(0))),
    # B-4: two payments of one bank file's day, on the same instant: the second pays it in full.
    (at(11, 20, 5), paid(P["q6"], "B-4", "150000", at(11, 20, 5), "150000")),
    (at(11, 20, 5), paid(P["q7"], "B-4", "150000", at(11, 20, 5), "0", "paid")),
    # B-5: a gateway payment on the 20th, then a bank file's payment of the 18th that pays it in full.
    (at(11, 20), paid(P["q8"], "B-5", "100000", at(11, 20), "200000")),
    (at(11, 22), paid(P["q9"], "B-5", "200000", at(11, 18, 5), "0", "paid")),
]
NOW = at(12, 7)


@pytest.fixture
async def reports(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    platform: Platform = make_platform(settings_for_test(database_url), pool_size=3, clock=lambda: NOW)
    await deliver(platform, (("banco", occurred, event) for occurred, event in STORY), now=NOW)
    _, operator = await platform.keys.create(role="operator", now=NOW)
    try:
        async with reporting_client(platform, operator) as http:
            yield http
    finally:
        await platform.db.dispose()


async def report(reports: httpx.AsyncClient, **params: str) -> dict[str, Any]:
    response = await reports.get(URL, params={**NOVEMBER, **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_totals_at_the_periods_edges(reports: httpx.AsyncClient) -> None:
    totals = (await report(reports))["totals"]
    # q1 (at `from`) 100,000 + q4 200,000 (reversed in December, after the period) + q5 70,000 + q6, q7 300,000 +
    # q8, q9 300,000; not q2 (at `to`) nor q3 (a second before `from`).
    assert Decimal(totals["recovered"]) == Decimal("970000")
    assert totals["payments"] == 7
    assert (totals["accounts_placed"], Decimal(totals["placed_balance"])) == (5, Decimal("4100000"))
    assert totals["recovery_rate"] == 0.236585  # 970,000 / 4,100,000
    # Due in November: pr1 (kept) and pr3 (its last local day); made in November: pr2, pr3, pr4.
    assert (totals["promises_due"], totals["promises_kept"], totals["promises_made"]) == (2, 1, 3)
    assert totals["kept_promise_rate"] == 0.5
    # B-4 and B-5 are paid in full at `to` by payments of the period.
    assert totals["accounts_liquidated"] == 2


async def test_a_payment_is_credited_to_the_last_contact_within_seven_days_before_it(
        reports: httpx.AsyncClient) -> None:
    body = await report(reports, group_by="channel")
    recovered = {g["key"]: Decimal(g["recovered"]) for g in body["groups"] if Decimal(g["recovered"]) or g["payments"]}
    # q1: the SMS exactly seven days before; q4: the agent's call (the last before it); q5: none (the
    # email a second too early, the call at its instant, the WhatsApp after it); B-4 and B-5: no contact.
    assert recovered == {"sms": Decimal("100000"), "agent": Decimal("200000"), "none": Decimal("670000")}
    assert sum(recovered.values()) == Decimal(body["totals"]["recovered"])


@pytest.mark.parametrize("group_by", ["bucket", "current_bucket", "segment", "channel", "strategy_arm", "product",
                                      "day"])
async def test_the_groups_add_up_to_the_totals(reports: httpx.AsyncClient, group_by: str) -> None:
    body = await report(reports, group_by=group_by)
    groups, totals = body["groups"], body["totals"]
    assert sum(Decimal(g["recovered"]) for g in groups) == Decimal(totals["recovered"])
    if group_by != "channel":  # placement has no channel
        assert sum(g["accounts_placed"] for g in groups) == totals["accounts_placed"]
        assert sum(Decimal(g["placed_balance"]) for g in groups) == Decimal(totals["placed_balance"])
    if group_by in ("product", "segment", "bucket"):
        unassigned = next(g for g in groups if g["key"] == "unassigned")
        assert (unassigned["accounts_placed"], Decimal(unassigned["recovered"])) == (1, Decimal("70000"))


async def test_an_account_paid_in_full_out_of_its_payments_dates_order_is_cured(reports: httpx.AsyncClient) -> None:
    body = (await reports.get("/v1/clients/banco/reports/roll-rates", params={"from": "2026-10",
                                                                            "to": "2026-11"})).json()
    # End of October: B-1, B-4 and B-5 in 1-30, B-3 in 31-60. End of November: B-4 and B-5 paid (cured), the
    # others where they were.
    assert [(i["bucket"], i["accounts"], i["stayed"], i["cured"]) for i in body["items"]] == [
        ("1-30", 3, 1, 2), ("31-60", 1, 1, 0)]


async def test_a_commission_rate_is_kept_and_priced_as_the_operator_set_it(reports: httpx.AsyncClient) -> None:
    put = await reports.put("/v1/clients/banco/commission-rates",
                            json={"rates": {"1-30": "0.12345"}, "default": "0.07125"})
    assert put.status_code == 200, put.text
    got = await reports.get("/v1/clients/banco/commission-rates")
    assert (Decimal(got.json()["rates"]["1-30"]), Decimal(got.json()["default"])) == (
        Decimal("0.12345"), Decimal("0.07125"))
    assert got.headers["ETag"] == put.headers["ETag"]  # what was set is what is read: If-Match holds
    lines = {i["bucket"]: (Decimal(i["rate"]), Decimal(i["commission"]), Decimal(i["remittance"]))
             for i in (await reports.get("/v1/clients/banco/reports/commission", params=NOVEMBER)).json()["items"]}
    # 1-30: q1 100,000 + B-4's 300,000 + B-5's 300,000 = 700,000 at 12.345 %; unassigned: q5 70,000 at 7.125 %.
    assert lines["1-30"] == (Decimal("0.12345"), Decimal("86415.00"), Decimal("613585.00"))
    assert lines["unassigned"] == (Decimal("0.07125"), Decimal("4987.50"), Decimal("65012.50"))


async def test_an_account_is_liquidated_in_the_period_it_was_closed_in_not_again_by_a_later_payment(
        database_url: str) -> None:
    platform: Platform = make_platform(settings_for_test(database_url), pool_size=3, clock=lambda: NOW)
    story: list[tuple[dt.datetime, Event]] = [
        STORY[0], (at(10, 20), placed("C-1", "300000", "tarjeta")), (at(10, 20), placed("C-2", "300000", "tarjeta")),
        # C-1 paid in full in October, then 10,000 more in November (credit: still paid).
        (at(10, 25), paid(uuid.uuid4(), "C-1", "300000", at(10, 25), "0", "paid")),
        (at(11, 10), paid(uuid.uuid4(), "C-1", "10000", at(11, 10), "-10000", "paid")),
        # C-2 paid in full in November, reopened by a reversal and paid in full again, both in November.
        (at(11, 3), paid(P2 := uuid.uuid4(), "C-2", "300000", at(11, 3), "0", "paid")),
        (at(11, 4), PaymentReversed(payment_id=P2, reversal_id=uuid.uuid4(), account_ref="C-2",
                                    amount=Decimal("300000"), kind="chargeback", reversed_at=at(11, 4),
                                    new_balance=Decimal("300000"), account_status="open")),
        (at(11, 6), paid(uuid.uuid4(), "C-2", "300000", at(11, 6), "0", "paid")),
    ]
    await deliver(platform, (("banco", occurred, event) for occurred, event in story), now=NOW)
    _, operator = await platform.keys.create(role="operator", now=NOW)
    october = {"from": dt.datetime(2026, 10, 1, tzinfo=BOGOTA).isoformat(), "to": FROM.isoformat()}
    try:
        async with reporting_client(platform, operator) as http:
            liquidated = {name: {g["key"]: g["accounts_liquidated"] for g in body["groups"]}
                          for name, period in (("october", october), ("november", NOVEMBER))
                          for body in [(await http.get(URL, params={**period, "group_by": "day"})).json()]}
            totals = {name: (await http.get(URL, params=period)).json()["totals"]["accounts_liquidated"]
                      for name, period in (("october", october), ("november", NOVEMBER))}
    finally:
        await platform.db.dispose()
    assert totals == {"october": 1, "november": 1}  # C-1 in October only; C-2 once, in November
    assert {k: v for k, v in liquidated["november"].items() if v} == {"2026-11-06": 1}


async def test_the_ptp_rate_counts_promises_and_right_party_contacts_alike(reports: httpx.AsyncClient) -> None:
    totals = (await report(reports))["totals"]
    # November's one right-party contact (B-3's agent call) ended in a promise: 1 of 1. The three promises made in
    # November (pr2 at that call, pr3 and pr4 without one) stay promises_made, but promises made away from a
    # right-party contact (the debtor page, each instalment of a plan) are no right-party contact's promise.
    assert (totals["right_party_contacts"], totals["right_party_promises"], totals["promises_made"]) == (1, 1, 3)
    assert totals["ptp_rate"] == 1.0


async def test_a_day_is_the_start_of_that_day_in_the_client_companys_time_zone(reports: httpx.AsyncClient) -> None:
    # from=2026-11-01&to=2026-12-01 is November in Bogotá: [Nov 1 00:00 -05:00, Dec 1 00:00 -05:00), `to` exclusive.
    by_day = await reports.get(URL, params={"from": "2026-11-01", "to": "2026-12-01"})
    assert by_day.status_code == 200, by_day.text
    assert by_day.json()["totals"] == (await report(reports))["totals"]
    assert (by_day.json()["date_from"], by_day.json()["date_to"]) == ("2026-11-01T00:00:00-05:00",
                                                                      "2026-12-01T00:00:00-05:00")
    mixed = await reports.get(URL, params={"from": "2026-11-01", "to": TO.isoformat()})
    assert mixed.json()["totals"] == by_day.json()["totals"]
    live = await reports.get(URL, params={"from": "2026-11-01"})  # to now
    assert (live.status_code, live.json()["date_from"]) == (200, "2026-11-01T00:00:00-05:00")
    statement = await reports.get("/v1/clients/banco/reports/commission", params={"from": "2026-11-01",
                                                                                  "to": "2026-12-01"})
    assert statement.json()["totals"] == (await reports.get("/v1/clients/banco/reports/commission",
                                                             params=NOVEMBER)).json()["totals"]
    # A time without a UTC offset is still ambiguous, and refused; a day that is none, as a day.
    naive = await reports.get(URL, params={"from": "2026-11-01T00:00:00"})
    assert (naive.status_code, naive.json()["code"]) == (422, "naive_datetime")
    # The refusal tells the caller what is taken: the day they most likely meant, or an instant with its offset.
    assert "YYYY-MM-DD" in naive.json()["detail"] and "UTC offset" in naive.json()["detail"]
    assert (await reports.get(URL, params={"from": "2026-02-30"})).status_code == 422
