"""An agent call handed out and withdrawn before it was made (contact.withdrawn) is no attempt in reporting, through
its consumer runtime, PostgreSQL and its API, to the figure: the recovery report counts no attempt and no cost for
it (with the client company's cost table pricing agent calls), a payment after it is not credited to the agent
channel, and the account view lists no such contact; whether the withdrawal arrives after its attempt or before it,
once or again (the same event replayed, or a second withdrawal of the same call), and a call withdrawn never
subtracts from another one's attempt."""

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from recaudo_common.bus.base import Message
from recaudo_common.bus.consumer import ConsumerRuntime
from recaudo_common.events import (
    AccountPlaced,
    ClientRegistered,
    ContactAttempted,
    ContactLogged,
    ContactWithdrawn,
    Event,
    PaymentApplied,
)
from recaudo_common.runtime import Platform, make_platform
from recaudo_common.testing import settings_for_test
from reporting.consumers import SUBSCRIPTIONS

from .conftest import deliver, reporting_client

pytestmark = pytest.mark.integration
UTC = dt.UTC
MARCH = {"from": "2026-03-01T00:00:00-05:00", "to": "2026-04-01T00:00:00-05:00"}
SETTINGS: dict[str, Any] = {"slug": "banco", "name": "Banco", "country": "CO", "currency": "COP",
                            "timezone": "America/Bogota", "locale": "es-CO", "default_authorised_channels": ["agent"],
                            "cost_table": {"agent": Decimal("2800.00"), "sms": Decimal("45.50")}}
NOW = dt.datetime(2026, 4, 2, tzinfo=UTC)


def at(day: int, hour: int = 15) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, tzinfo=UTC)


def placed(ref: str) -> AccountPlaced:
    return AccountPlaced(account_ref=ref, portfolio_id=uuid.uuid4(), debtor_ref=None, personal=None, has_phone=True,
                         has_email=False, product="tarjeta", balance=Decimal("5000000"), currency="COP",
                         days_past_due=20, as_of=dt.date(2026, 3, 2), authorised_channels=["agent", "sms"])


def handed_out(ref: str, attempt: uuid.UUID, when: dt.datetime, channel: str = "agent") -> ContactAttempted:
    """contact.attempted as the agent desk publishes it at hand-out."""
    return ContactAttempted(attempt_id=attempt, account_ref=ref, channel=channel, provider=channel,
                            attempted_at=when, cost=Decimal("0"), template="agent/es-CO")


def withdrawn(ref: str, attempt: uuid.UUID, when: dt.datetime, reason: str = "legal_hold") -> ContactWithdrawn:
    return ContactWithdrawn(attempt_id=attempt, account_ref=ref, channel="agent", withdrawn_at=when,
                            reason=reason)  # type: ignore[arg-type]


@pytest.fixture
async def platform(database_url: str) -> AsyncIterator[Platform]:
    p: Platform = make_platform(settings_for_test(database_url), pool_size=3, clock=lambda: NOW)
    await deliver(p, [("banco", at(1), ClientRegistered(**SETTINGS)), ("banco", at(1), placed("A-1")),
                      ("banco", at(1), placed("B-1"))], now=NOW)
    yield p
    await p.db.dispose()


async def story(platform: Platform, events: list[tuple[dt.datetime, Event]]) -> None:
    await deliver(platform, (("banco", occurred, event) for occurred, event in events), now=NOW)


@pytest.fixture
async def http(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    _, key = await platform.keys.create(role="operator", now=NOW)
    async with reporting_client(platform, key) as client:
        yield client


async def report(http: httpx.AsyncClient, group_by: str | None = None) -> dict[str, Any]:
    answer = await http.get("/v1/clients/banco/reports/recovery",
                            params={**MARCH, **({"group_by": group_by} if group_by else {})})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def contacts_of(http: httpx.AsyncClient, ref: str) -> list[dict[str, Any]]:
    answer = await http.get(f"/v1/clients/banco/accounts/{ref}")
    assert answer.status_code == 200, answer.text
    return list(answer.json()["last_contacts"])


async def test_a_withdrawn_call_is_no_attempt_no_cost_no_channel_and_no_contact_in_the_view(
        platform: Platform, http: httpx.AsyncClient) -> None:
    call, made = uuid.uuid4(), uuid.uuid4()
    await story(platform, [
        (at(3), handed_out("A-1", made, at(3))),  # A-1's call is made and its outcome logged
        (at(3, 16), ContactLogged(contact_id=made, account_ref="A-1", channel="agent", contacted_at=at(3, 16),
                                  outcome="no_answer")),
        (at(5), handed_out("B-1", call, at(5))),
    ])
    before = (await report(http))["totals"]
    assert (before["attempts"], Decimal(before["contact_cost"])) == (2, Decimal("5600.00"))
    assert [c["channel"] for c in await contacts_of(http, "B-1")] == ["agent"]

    await story(platform, [(at(5, 16), withdrawn("B-1", call, at(5, 16)))])
    totals = (await report(http))["totals"]
    assert (totals["attempts"], Decimal(totals["contact_cost"])) == (1, Decimal("2800.00"))  # A-1's call alone
    assert await contacts_of(http, "B-1") == []
    assert [c["outcome"] for c in await contacts_of(http, "A-1")] == ["no_answer"]  # what was made stays made

    # A payment the next day is not credited to a call that was never made: B-1 had no contact in its 7 days.
    await story(platform, [(at(6), PaymentApplied(
        payment_id=uuid.uuid4(), account_ref="B-1", amount=Decimal("100000"), currency="COP", paid_at=at(6),
        source="gateway", new_balance=Decimal("4900000"), account_status="open"))])
    by_channel = {g["key"]: (g["attempts"], Decimal(g["recovered"])) for g in (await report(http, "channel"))["groups"]}
    assert by_channel == {"agent": (1, Decimal("0")), "none": (0, Decimal("100000"))}


async def test_a_withdrawal_applies_once_whatever_its_order_or_repeats(
        platform: Platform, http: httpx.AsyncClient) -> None:
    early, twice, kept = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    replayed = withdrawn("B-1", twice, at(4, 16)).envelope(client="banco", occurred_at=at(4, 16))
    # The withdrawal seen before its attempt (another lane, a redelivery): no phantom attempt when the attempt comes.
    await story(platform, [(at(3, 16), withdrawn("A-1", early, at(3, 16), "account_recalled"))])
    assert (await report(http))["totals"]["attempts"] == 0
    await story(platform, [(at(3), handed_out("A-1", early, at(3)))])
    # A call withdrawn once, then its withdrawal again (a new event: a second withdrawal of the same call).
    await story(platform, [(at(4), handed_out("B-1", twice, at(4))), (at(4, 16), withdrawn("B-1", twice, at(4, 16))),
                           (at(4, 17), withdrawn("B-1", twice, at(4, 17), "opted_out")),
                           (at(5), handed_out("B-1", kept, at(5)))])
    totals = (await report(http))["totals"]
    assert (totals["attempts"], Decimal(totals["contact_cost"])) == (1, Decimal("2800.00"))  # B-1's kept call
    # The same withdrawal event delivered again is skipped by the inbox; counted or not, it never subtracts twice.
    runtime = ConsumerRuntime(platform.db, platform.transport, SUBSCRIPTIONS, "t", lambda: NOW)
    for _ in range(2):
        await runtime.handle_batch([Message("t.contact", "banco/B-1", replayed, {})])
    totals = (await report(http))["totals"]
    assert (totals["attempts"], Decimal(totals["contact_cost"])) == (1, Decimal("2800.00"))
    assert await contacts_of(http, "A-1") == []
    assert [c["attempted"] for c in await contacts_of(http, "B-1")] == [True]
