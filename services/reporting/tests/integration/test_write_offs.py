"""Write-offs in the recovery report and the account view (#22), worked out by hand and compared to the cent
through the real API and PostgreSQL: written-off balances leave what is outstanding and show in their own
figures; a payment after a write-off is recovered and says how much of it was written-off money."""

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import text

from recaudo_common.bus.base import Message, OutgoingMessage
from recaudo_common.bus.consumer import ConsumerRuntime
from recaudo_common.events import (
    ClientRegistered,
    Event,
    PaymentApplied,
    PaymentReversedV2,
    PaymentReversedV3,
    PaymentWriteOffRecovered,
    PaymentWriteOffReversed,
    PaymentWrittenOff,
)
from recaudo_common.events.envelope import topic_name
from recaudo_common.runtime import Platform, make_platform
from recaudo_common.testing import settings_for_test
from reporting.consumers import SUBSCRIPTIONS
from reporting.rebuild import differences, rebuild

from .conftest import deliver, reporting_client
from .test_hand_computed import at, placed, segmented

pytestmark = pytest.mark.integration
PAY = uuid.uuid4()


def written_off(ref: str, amount: str, left: str, status: str, when: dt.datetime) -> PaymentWrittenOff:
    return PaymentWrittenOff(write_off_id=uuid.uuid4(), account_ref=ref, amount=Decimal(amount), currency="COP",
                             reason="uneconomic", source="operator", written_off_at=when, new_balance=Decimal(left),
                             written_off_total=Decimal(amount), account_status=status)  # type: ignore[arg-type]


STORY: list[tuple[dt.datetime, Event]] = [
    (at(3, 1), ClientRegistered(slug="banco", name="Banco", country="CO", currency="COP", timezone="America/Bogota",
                                locale="es-CO", default_authorised_channels=["sms"])),
    (at(3, 2), placed("W-1", "1000000.50", "tarjeta")), (at(3, 2), placed("W-2", "2000000", "libranza")),
    (at(3, 2), placed("W-3", "500000", "tarjeta")),
    (at(3, 2, 16), segmented("W-1", "1-30", "champion", "high")),
    (at(3, 2, 16), segmented("W-2", "31-60", "champion", "low")),
    (at(3, 2, 16), segmented("W-3", "1-30", "challenger", "high")),
    # W-1 wholly written off; W-2 written off in part (750000.25 of it), the rest still worked.
    (at(3, 10), written_off("W-1", "1000000.50", "0", "written_off", at(3, 10))),
    (at(3, 11), written_off("W-2", "750000.25", "1249999.75", "open", at(3, 11))),
    # The debtor of W-1 pays 300000.10 after it: recovered after write-off, the account still written off.
    (at(3, 20), PaymentApplied(payment_id=PAY, account_ref="W-1", amount=Decimal("300000.10"), currency="COP",
                               paid_at=at(3, 20), source="gateway", new_balance=Decimal("0"),
                               account_status="written_off")),
    (at(3, 20), PaymentWriteOffRecovered(payment_id=PAY, account_ref="W-1", amount=Decimal("300000.10"),
                                         recovered_at=at(3, 20), written_off_total=Decimal("700000.40"),
                                         account_status="written_off")),
]
MARCH = {"from": "2026-03-01T00:00:00-05:00", "to": "2026-04-01T00:00:00-05:00"}


@pytest.fixture
async def reports(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    now = at(4, 2)
    platform: Platform = make_platform(settings_for_test(database_url), pool_size=3, clock=lambda: now)
    await deliver(platform, (("banco", occurred, event) for occurred, event in STORY), now=now)
    _, operator = await platform.keys.create(role="operator", now=now)
    async with reporting_client(platform, operator) as http:
        yield http
    await platform.db.dispose()


async def test_written_off_balances_leave_what_is_outstanding_and_show_on_their_own(
        reports: httpx.AsyncClient) -> None:
    body = (await reports.get("/v1/clients/banco/reports/recovery", params=MARCH)).json()
    totals = body["totals"]
    figures = {k: Decimal(str(totals[k])) for k in ("placed_balance", "outstanding", "written_off", "recovered",
                                                       "recovered_after_write_off", "written_off_balance")}
    assert figures == {
        "placed_balance": Decimal("3500000.50"),  # placed stays placed: a write-off un-places nothing
        "outstanding": Decimal("1749999.75"),  # W-2's rest 1249999.75 + W-3's 500000; W-1's written off is not
        "written_off": Decimal("1750000.75"),  # 1000000.50 + 750000.25
        "recovered": Decimal("300000.10"),
        "recovered_after_write_off": Decimal("300000.10"),
        "written_off_balance": Decimal("1450000.65"),  # 1750000.75 written off - 300000.10 recovered since
    }
    assert totals["accounts_written_off"] == 2
    assert totals["accounts_liquidated"] == 0  # a written-off account is not paid
    assert totals["recovery_rate"] == 0.085714  # 300000.10 ÷ 3500000.50, half-even to 6 decimals
    by_bucket = {g["key"]: g for g in (await reports.get("/v1/clients/banco/reports/recovery",
                                                          params={**MARCH, "group_by": "bucket"})).json()["groups"]}
    assert {k: (Decimal(str(g["written_off"])), g["accounts_written_off"], Decimal(str(g["outstanding"])))
            for k, g in by_bucket.items()} == {
        "1-30": (Decimal("1000000.50"), 1, Decimal("500000")),
        "31-60": (Decimal("750000.25"), 1, Decimal("1249999.75"))}
    # Before the write-offs' period nothing is written off.
    february = (await reports.get("/v1/clients/banco/reports/recovery",
                                  params={"from": "2026-02-01T00:00:00-05:00", "to": "2026-03-01T00:00:00-05:00"}))
    assert Decimal(str(february.json()["totals"]["written_off"])) == 0


async def test_the_account_view_says_written_off(reports: httpx.AsyncClient) -> None:
    view = (await reports.get("/v1/clients/banco/accounts/W-1")).json()
    assert (view["status"], Decimal(view["balance"])) == ("written_off", Decimal("0"))
    rest = (await reports.get("/v1/clients/banco/accounts/W-2")).json()
    assert (rest["status"], Decimal(rest["balance"])) == ("open", Decimal("1249999.75"))


async def test_a_reversed_write_off_is_outstanding_again_and_nets_out(reports: httpx.AsyncClient,
                                                                     database_url: str) -> None:
    now = at(4, 2)
    platform: Platform = make_platform(settings_for_test(database_url), pool_size=3, clock=lambda: now)
    # W-2's partial write-off of 750000.25 is reversed on March 25th: owed again, open.
    await deliver(platform, [("banco", at(3, 25), PaymentWriteOffReversed(
        account_ref="W-2", amount=Decimal("750000.25"), reversed_at=at(3, 25), new_balance=Decimal("2000000"),
        account_status="open"))], now=now)
    await platform.db.dispose()
    totals = (await reports.get("/v1/clients/banco/reports/recovery", params=MARCH)).json()["totals"]
    # W-1 only, net and counted; W-2 and W-3 owed in full, W-2 out of the written-off figures (stock and flow).
    assert (Decimal(str(totals["written_off"])), Decimal(str(totals["outstanding"])), totals["accounts_written_off"],
            Decimal(str(totals["written_off_balance"]))) == (Decimal("1000000.50"), Decimal("2500000"), 1,
                                                             Decimal("700000.40"))
    # Read for the write-offs' days only (the reversal after them): W-2 was written off then, and still counts.
    early = (await reports.get("/v1/clients/banco/reports/recovery", params={
        "from": "2026-03-01T00:00:00-05:00", "to": "2026-03-15T00:00:00-05:00"})).json()["totals"]
    assert (Decimal(str(early["written_off"])), early["accounts_written_off"]) == (Decimal("1750000.75"), 2)
    view = (await reports.get("/v1/clients/banco/accounts/W-2")).json()
    assert (view["status"], Decimal(view["balance"])) == ("open", Decimal("2000000"))


async def test_the_ledgers_last_word_before_the_placement_is_where_the_account_starts(database_url: str) -> None:
    """Topics are unordered (a rebuild replays the payment topic before the account topic): a payment, its reversal
    and a write-off that reach reporting before the account's placement leave the account where the ledger's last
    word put it, not at the last payment's balance."""
    now = at(4, 2)
    platform: Platform = make_platform(settings_for_test(database_url), pool_size=3, clock=lambda: now)
    paid, late = uuid.uuid4(), uuid.uuid4()
    await deliver(platform, [("banco", occurred, event) for occurred, event in [
        (at(3, 1), ClientRegistered(slug="banco", name="Banco", country="CO", currency="COP",
                                    timezone="America/Bogota", locale="es-CO", default_authorised_channels=["sms"])),
        (at(3, 5), PaymentApplied(payment_id=paid, account_ref="L-1", amount=Decimal("250000"), currency="COP",
                                  paid_at=at(3, 5), source="manual", new_balance=Decimal("350000"),
                                  account_status="open")),
        (at(3, 6), PaymentReversedV2(payment_id=paid, reversal_id=uuid.uuid4(), account_ref="L-1",
                                     amount=Decimal("250000"), kind="reversal", reversed_at=at(3, 6),
                                     new_balance=Decimal("600000"), account_status="open",
                                     payment_amount=Decimal("250000"), reversed_total=Decimal("250000"))),
        (at(3, 5), PaymentApplied(payment_id=late, account_ref="L-2", amount=Decimal("100000"), currency="COP",
                                  paid_at=at(3, 5), source="manual", new_balance=Decimal("400000"),
                                  account_status="open")),
        (at(3, 7), written_off("L-2", "400000", "0", "written_off", at(3, 7))),
        (at(3, 2), placed("L-1", "600000", "tarjeta")), (at(3, 2), placed("L-2", "500000", "tarjeta")),
    ]], now=now)
    _, operator = await platform.keys.create(role="operator", now=now)
    async with reporting_client(platform, operator) as http:
        reversed_ = (await http.get("/v1/clients/banco/accounts/L-1")).json()
        gone = (await http.get("/v1/clients/banco/accounts/L-2")).json()
    await platform.db.dispose()
    assert (reversed_["status"], Decimal(reversed_["balance"])) == ("open", Decimal("600000"))
    assert (gone["status"], Decimal(gone["balance"])) == ("written_off", Decimal("0"))


RECOVERY_CHARGED_BACK = PaymentReversedV3(
    payment_id=PAY, reversal_id=uuid.uuid4(), account_ref="W-1", amount=Decimal("300000.10"), kind="chargeback",
    reversed_at=at(3, 28), new_balance=Decimal("0"), account_status="written_off",
    payment_amount=Decimal("300000.10"), reversed_total=Decimal("300000.10"), written_off_again=Decimal("300000.10"))


async def test_a_charged_back_recovery_is_written_off_again(reports: httpx.AsyncClient, database_url: str) -> None:
    """W-1's debtor's payment of 300000.10 after its write-off is charged back: it recovered nothing after all, so
    recovered and recovered after write-off drop by it and it is written off again (not owed: W-1 stays written
    off); the write-offs of the period are what they were."""
    now = at(4, 2)
    platform: Platform = make_platform(settings_for_test(database_url), pool_size=3, clock=lambda: now)
    await deliver(platform, [("banco", at(3, 28), RECOVERY_CHARGED_BACK)], now=now)
    await platform.db.dispose()
    totals = (await reports.get("/v1/clients/banco/reports/recovery", params=MARCH)).json()["totals"]
    assert {k: Decimal(str(totals[k])) for k in ("recovered", "recovered_after_write_off", "written_off",
                                                  "written_off_balance", "outstanding")} == {
        "recovered": Decimal("0"), "recovered_after_write_off": Decimal("0"), "written_off": Decimal("1750000.75"),
        "written_off_balance": Decimal("1750000.75"), "outstanding": Decimal("1749999.75")}
    view = (await reports.get("/v1/clients/banco/accounts/W-1")).json()
    assert (view["status"], Decimal(view["balance"])) == ("written_off", Decimal("0"))


async def test_a_rebuild_from_the_log_gives_the_live_write_off_figures(database_url: str) -> None:
    """The story, a write-off reversed and a recovery charged back, published on the topics as payments' relay
    would and handled live: replayed into fresh tables, every report figure (written off, accounts written off,
    recovered after write-off, written-off balance, outstanding, in every grouping) equals the live one."""
    now = at(4, 2)
    platform: Platform = make_platform(settings_for_test(database_url), pool_size=3, clock=lambda: now)
    await platform.transport.start()
    story = [*STORY, (at(3, 25), PaymentWriteOffReversed(
        account_ref="W-2", amount=Decimal("750000.25"), reversed_at=at(3, 25), new_balance=Decimal("2000000"),
        account_status="open")), (at(3, 28), RECOVERY_CHARGED_BACK)]
    envelopes = [(event, event.envelope(client="banco", occurred_at=occurred)) for occurred, event in story]
    prefix = platform.settings.topic_prefix
    async with platform.db.transaction() as s:
        await platform.transport.publish(s, [
            OutgoingMessage(topic_name(prefix, event.family), envelope.key, envelope.model_dump_json(), {})
            for event, envelope in envelopes])
    runtime = ConsumerRuntime(platform.db, platform.transport, SUBSCRIPTIONS, prefix, lambda: now)
    for event, envelope in envelopes:
        assert await runtime.handle_batch([Message(topic_name(prefix, event.family), envelope.key, envelope, {})]) \
            == ["processed"]
    try:
        # Every event but client.registered (client companies are copied, not rebuilt).
        assert await rebuild(platform, client="banco", idle_s=0.3) == len(story) - 1
        assert await differences(platform, clients=["banco"], now=now) == []
        async with platform.db.transaction() as s:
            rebuilt = await s.scalar(text("SELECT sum(amount) FROM reporting_rebuild.write_offs "
                                          "WHERE kind = 'unrecovered'"))
        assert rebuilt == Decimal("300000.10")  # the rebuild saw the charged-back recovery, as the live tables did
    finally:
        await platform.transport.stop()
        await platform.db.dispose()


async def test_a_written_off_account_rolls_into_the_loss_and_never_stays(database_url: str) -> None:
    """Roll rates (MISSION §2: a write-off moves the account to the loss bucket): an account in 31-60 at February's
    end written off in March has left its bucket for the loss, counted as written off and in the roll rate, not as
    stayed nor cured; one written off before February's end is in no bucket then."""
    now = at(4, 2)
    platform: Platform = make_platform(settings_for_test(database_url), pool_size=3, clock=lambda: now)
    await deliver(platform, (("banco", when, event) for when, event in [
        (at(2, 1), ClientRegistered(slug="banco", name="Banco", country="CO", currency="COP",
                                    timezone="America/Bogota", locale="es-CO", default_authorised_channels=["sms"])),
        (at(2, 2), placed("L-1", "1000000", "tarjeta")), (at(2, 2), placed("L-2", "500000", "tarjeta")),
        (at(2, 2), placed("L-3", "700000", "tarjeta")),
        (at(2, 2, 16), segmented("L-1", "31-60", "champion", "low")),
        (at(2, 2, 16), segmented("L-2", "31-60", "champion", "low")),
        (at(2, 2, 16), segmented("L-3", "31-60", "champion", "low")),
        (at(2, 10), written_off("L-3", "700000", "0", "written_off", at(2, 10))),
        (at(3, 10), written_off("L-1", "1000000", "0", "written_off", at(3, 10))),
    ]), now=now)
    _, operator = await platform.keys.create(role="operator", now=now)
    try:
        async with reporting_client(platform, operator) as http:
            body = (await http.get("/v1/clients/banco/reports/roll-rates",
                                   params={"from": "2026-02", "to": "2026-03"})).json()
    finally:
        await platform.db.dispose()
    assert body["items"] == [{
        "period": "2026-02→2026-03", "bucket": "31-60", "accounts": 2, "rolled_forward": 0, "stayed": 1,
        "rolled_back": 0, "cured": 0, "written_off": 1, "recalled": 0, "roll_rate": 0.5, "cure_rate": 0.0}]
