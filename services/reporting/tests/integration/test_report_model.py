"""The recovery report against a model of its rules written again in Python, on seeded random stories: a
payment's channel (the last real contact within the seven days before it), its local day in the client company's
time zone, the period's two ends, reversals counted in their own period (against the payment's channel), and
every grouping adding up to the totals. Seeded, so a failure is replayed as it was found."""

import datetime as dt
import random
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from decimal import Decimal
from zoneinfo import ZoneInfo

import httpx
import pytest

from recaudo_common.events import ClientRegistered, Event, PaymentReversed
from recaudo_common.runtime import Platform, make_platform
from recaudo_common.testing import settings_for_test

from .conftest import deliver, reporting_client
from .test_report_boundaries import FROM, NOVEMBER, TO, contact, paid, placed

pytestmark = pytest.mark.integration
UTC = dt.UTC
TZ = ZoneInfo("America/Bogota")
NOW = dt.datetime(2026, 12, 7, 15, tzinfo=UTC)
CHANNELS = ("sms", "email", "agent", "voice")
PRODUCTS = (None, "tarjeta", "-libre")
SEVEN_DAYS = dt.timedelta(days=7)


class Story:
    """A random story and what the report must say of it, by the rules of docs/kpis.md."""

    def __init__(self, seed: int) -> None:
        rng = random.Random(seed)
        self.events: list[tuple[dt.datetime, Event]] = [(dt.datetime(2026, 10, 1, tzinfo=UTC), ClientRegistered(
            slug="banco", name="Banco", country="CO", currency="COP", timezone="America/Bogota", locale="es-CO",
            default_authorised_channels=["sms"]))]
        self.recovered: dict[str, dict[str, Decimal]] = {g: defaultdict(Decimal) for g in ("channel", "day",
                                                                                            "product")}
        self.placed: dict[str, dict[str, int]] = {g: defaultdict(int) for g in ("day", "product")}
        self.total = Decimal(0)
        start = dt.datetime(2026, 10, 20, tzinfo=UTC)

        def instant() -> dt.datetime:  # any minute from Oct 20 to Dec 5, or one of the period's edges
            return rng.choice([FROM, TO, FROM - dt.timedelta(seconds=1), TO - dt.timedelta(seconds=1),
                               start + dt.timedelta(minutes=rng.randrange(46 * 24 * 60))])

        for n in range(rng.randint(3, 6)):
            ref, product = f"R-{n}", rng.choice(PRODUCTS)
            placed_at = dt.datetime(2026, 10, 19, tzinfo=UTC) + dt.timedelta(days=rng.choice([0, 20]))
            self.events.append((placed_at, placed(ref, "1000000", product)))
            self.placed["product"][product or "unassigned"] += 1
            self.placed["day"][placed_at.astimezone(TZ).date().isoformat()] += 1
            contacts: list[tuple[dt.datetime, str]] = []
            for _ in range(rng.randint(0, 4)):
                when = instant()
                if contacts and rng.random() < 0.3:  # at exactly seven days before, or a second more, than another
                    when = contacts[-1][0] + rng.choice([SEVEN_DAYS, SEVEN_DAYS + dt.timedelta(seconds=1)])
                if any(when == c for c, _ in contacts):
                    continue  # two contacts of an account on one instant: no last one to credit
                contacts.append((when, rng.choice(CHANNELS)))
                self.events.append((when, contact(ref, contacts[-1][1], when)))
            balance = Decimal(1000000)
            for _ in range(rng.randint(0, 4)):
                paid_at = instant() if not contacts or rng.random() < 0.5 else rng.choice(contacts)[0] + rng.choice(
                    [SEVEN_DAYS, SEVEN_DAYS + dt.timedelta(seconds=1), dt.timedelta(0), dt.timedelta(hours=1)])
                amount = Decimal(rng.randrange(1000, 100000)) / 100
                balance -= amount
                payment_id = uuid.uuid4()
                self.events.append((paid_at, paid(payment_id, ref, str(amount), paid_at, str(balance))))
                before = [(c, ch) for c, ch in contacts if paid_at - SEVEN_DAYS <= c < paid_at]
                channel = max(before)[1] if before else "none"
                moves = [(paid_at, amount)]
                if rng.random() < 0.25:
                    balance += amount
                    reversed_at = paid_at + dt.timedelta(days=10)
                    self.events.append((reversed_at, PaymentReversed(
                        payment_id=payment_id, reversal_id=uuid.uuid4(), account_ref=ref, amount=amount,
                        kind="refund", reversed_at=reversed_at, new_balance=balance, account_status="open")))
                    moves.append((reversed_at, -amount))
                for when, net in moves:  # a reversal counts in its own period, against its payment's channel
                    if not FROM <= when < TO:
                        continue
                    self.recovered["channel"][channel] += net
                    self.recovered["day"][when.astimezone(TZ).date().isoformat()] += net
                    self.recovered["product"][product or "unassigned"] += net
                    self.total += net


@pytest.fixture
async def platform(database_url: str) -> AsyncIterator[Platform]:
    platform: Platform = make_platform(settings_for_test(database_url), pool_size=3, clock=lambda: NOW)
    yield platform
    await platform.db.dispose()


async def recovery(http: httpx.AsyncClient, group_by: str | None) -> dict[str, dict[str, Decimal]]:
    params = {**NOVEMBER, **({"group_by": group_by} if group_by else {})}
    body = (await http.get("/v1/clients/banco/reports/recovery", params=params)).json()
    return {g["key"]: {"recovered": Decimal(g["recovered"]), "placed": Decimal(g["accounts_placed"])}
            for g in [*body["groups"], {"key": "total", **body["totals"]}]}


@pytest.mark.parametrize("seed", range(4))
async def test_the_report_follows_its_rules_on_random_stories(platform: Platform, seed: int) -> None:
    story = Story(seed)
    await deliver(platform, (("banco", occurred, event) for occurred, event in story.events), now=NOW)
    _, key = await platform.keys.create(role="operator", now=NOW)
    async with reporting_client(platform, key) as http:
        assert (await recovery(http, None))["total"]["recovered"] == story.total
        for group_by in ("channel", "day", "product"):
            got = await recovery(http, group_by)
            assert got.pop("total")["recovered"] == story.total, group_by
            assert {k: v["recovered"] for k, v in got.items() if v["recovered"]} == {
                k: v for k, v in story.recovered[group_by].items() if v}, group_by
            if group_by in story.placed:
                assert {k: int(v["placed"]) for k, v in got.items() if v["placed"]} == dict(
                    story.placed[group_by]), group_by
