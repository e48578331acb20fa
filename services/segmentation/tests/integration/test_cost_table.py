"""Cost to collect from the client company's own cost table (#22), through client.* events, the real HTTP API and
PostgreSQL: the table wins on the channels it prices, segmentation's /costs prices the rest, a new table re-segments
the accounts, and an older event never replaces a newer table."""

import datetime as dt
from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import text

from recaudo_common.events import ClientUpdated
from recaudo_common.runtime import Platform, build_app, make_platform
from recaudo_common.testing import settings_for_test
from segmentation.handlers import resegment_requested
from segmentation.main import build

from .test_aging import CLIENT, deliver, placed

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 31, 15, 0, tzinfo=dt.UTC)
REFS = ("C-1", "C-2", "C-3")
# Two contacts on each of sms, whatsapp and letter in every cell, so cost to collect is 2 × (sms + whatsapp + letter).
STRATEGY = {"tiers": {"high": "100000", "medium": "10000"},
            "rules": [{"bucket": b, "tier": t, "treatment": "digital_and_letter",
                       "channels": ["sms", "whatsapp", "letter"], "contacts_per_channel": 2, "cadence_days": 3,
                       "offer": {"kind": "none"}}
                      for b in ("0", "1-30", "31-60", "61-90", "91-120", "121-180", "181-360", "361+")
                      for t in ("high", "medium", "low")]}
TABLE = {"sms": Decimal("120.50"), "whatsapp": Decimal("95.25"), "email": Decimal("3.10"), "voice": Decimal("410"),
         "agent": Decimal("2500")}


@pytest.fixture
async def api(database_url: str) -> AsyncIterator[tuple[Platform, httpx.AsyncClient]]:
    platform = make_platform(settings_for_test(database_url), pool_size=3, clock=lambda: NOW)
    _, key = await platform.keys.create(role="operator", now=NOW)
    app = build_app(platform, [build(platform)])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test",
                                 headers={"Authorization": f"Bearer {key}"}) as http:
        yield platform, http
    await platform.db.dispose()


def with_table(table: dict[str, Decimal] | None, **changes: object) -> ClientUpdated:
    return ClientUpdated(**{**CLIENT.model_dump(), "cost_table": table, **changes})


async def placed_under_strategy(platform: Platform, http: httpx.AsyncClient) -> None:
    await deliver(platform, [CLIENT, *(placed(ref, 45, "2000000") for ref in REFS)], NOW)
    assert (await http.put("/v1/clients/banco/strategy", json=STRATEGY)).status_code == 200
    assert (await http.put("/v1/clients/banco/costs", json={"costs": {"sms": "1", "letter": "900"}})).status_code \
        == 200
    assert await resegment_requested(platform.db, now=NOW) == {"banco": len(REFS)}


async def costs_to_collect(platform: Platform) -> dict[str, Decimal]:
    """Each account's cost to collect as its latest account.segmented said it (what outreach and reporting see),
    checked against the account's stored assignment."""
    async with platform.db.transaction() as s:
        published = dict((await s.execute(text(
            """SELECT DISTINCT ON (envelope->'payload'->>'account_ref') envelope->'payload'->>'account_ref',
                      envelope->'payload'->>'cost_to_collect'
               FROM segmentation.outbox WHERE envelope->>'type' = 'account.segmented'
               ORDER BY envelope->'payload'->>'account_ref', id DESC"""))).all())
        stored = dict((await s.execute(text(
            "SELECT account_ref, cost_to_collect FROM segmentation.accounts WHERE client_slug = 'banco'"))).all())
    assert {ref: Decimal(v) for ref, v in published.items()} == stored
    return stored


async def test_without_a_cost_table_segmentations_own_costs_price_cost_to_collect(
        api: tuple[Platform, httpx.AsyncClient]) -> None:
    platform, http = api
    await placed_under_strategy(platform, http)
    # 2 × (sms 1 from /costs + whatsapp 0.03 the platform's default + letter 900 from /costs)
    assert await costs_to_collect(platform) == dict.fromkeys(REFS, Decimal("1802.06"))
    in_force = (await http.get("/v1/clients/banco/costs")).json()
    assert in_force["costs"]["sms"] == "1" and in_force["costs"]["whatsapp"] == "0.03"
    assert in_force["sources"] == {"sms": "segmentation", "email": "default", "whatsapp": "default",
                                   "voice": "default", "agent": "default", "letter": "segmentation"}


async def test_a_client_cost_table_prices_cost_to_collect_and_resegments(
        api: tuple[Platform, httpx.AsyncClient]) -> None:
    platform, http = api
    await placed_under_strategy(platform, http)
    later = NOW + dt.timedelta(hours=1)
    await deliver(platform, [with_table(TABLE)], later)
    assert await resegment_requested(platform.db, now=later) == {"banco": len(REFS)}
    # 2 × (sms 120.50 and whatsapp 95.25 from the client's table, over /costs and the default; letter, which
    # no cost table prices, still 900 from /costs)
    assert await costs_to_collect(platform) == dict.fromkeys(REFS, Decimal("2231.50"))
    async with platform.db.transaction() as s:
        why = await s.scalar(text("SELECT why FROM segmentation.assignments WHERE account_ref = 'C-1' "
                                  "ORDER BY id DESC LIMIT 1"))
        cause = await s.scalar(text("SELECT reason FROM segmentation.resegment_requests ORDER BY id DESC LIMIT 1"))
    assert "cost to collect 2231.50" in why and cause == "client cost table"
    in_force = (await http.get("/v1/clients/banco/costs")).json()
    assert {c: Decimal(v) for c, v in in_force["costs"].items()} == {**TABLE, "letter": Decimal("900")}
    assert in_force["sources"]["sms"] == "cost_table" and in_force["sources"]["letter"] == "segmentation"
    # /costs on a channel the table prices is kept but not in force; the table's cost stays
    changed = await http.put("/v1/clients/banco/costs", json={"costs": {"sms": "7", "letter": "800"}})
    assert changed.json()["costs"]["sms"] == "120.50" and changed.json()["costs"]["letter"] == "800"
    assert await resegment_requested(platform.db, now=later) == {"banco": len(REFS)}
    assert await costs_to_collect(platform) == dict.fromkeys(REFS, Decimal("2031.50"))  # 2 × (120.50 + 95.25 + 800)
    # Another setting changed, the same table carried again (every client.updated carries it): nothing to redo.
    await deliver(platform, [with_table({c: v + Decimal("0.00") for c, v in TABLE.items()}, name="Banco S.A.")],
                  later + dt.timedelta(hours=1))
    assert await resegment_requested(platform.db, now=later) == {}


async def test_an_older_client_event_never_replaces_a_newer_cost_table(
        api: tuple[Platform, httpx.AsyncClient]) -> None:
    platform, http = api
    await placed_under_strategy(platform, http)
    later = NOW + dt.timedelta(hours=2)
    await deliver(platform, [with_table(TABLE)], later)
    assert await resegment_requested(platform.db, now=later) == {"banco": len(REFS)}
    # An event from before (delivered late, e.g. redelivered from another partition's backlog) with another table,
    # and one with none: neither replaces the newer table nor re-segments.
    stale = {**TABLE, "sms": Decimal("0.01"), "whatsapp": Decimal("0.01")}
    await deliver(platform, [with_table(stale)], later - dt.timedelta(minutes=30))
    await deliver(platform, [with_table(None)], later - dt.timedelta(minutes=20))
    assert await resegment_requested(platform.db, now=later) == {}
    assert await costs_to_collect(platform) == dict.fromkeys(REFS, Decimal("2231.50"))
    assert (await http.get("/v1/clients/banco/costs")).json()["costs"]["sms"] == "120.50"
