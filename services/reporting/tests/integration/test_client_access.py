"""Reporting through the one client dependency, on the app the runtime builds: a client company's own key reads its
reports, another company's key, an operator scoped elsewhere and an unknown company get 404 (even while the live
report is shared), an SRE 403, no key 401; only an operator sets commission rates; the rules below the routes
refuse with the same codes and titles as ever; reports are rate-limited per key and client company."""

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal

import httpx
import pytest

from recaudo_common.events import AccountPlaced, ClientRegistered, Event
from recaudo_common.runtime import Platform, make_platform
from recaudo_common.testing import settings_for_test
from reporting.settings import ReportingSettings

from .conftest import deliver, reporting_client

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 20, 15, 0, tzinfo=dt.UTC)
BANCO = "/v1/clients/banco"
READS = [f"{BANCO}/reports/recovery", f"{BANCO}/reports/commission", f"{BANCO}/accounts/A-1",
         f"{BANCO}/commission-rates", f"{BANCO}/reports/roll-rates?from=2026-01&to=2026-03"]


def registered(slug: str) -> ClientRegistered:
    return ClientRegistered(slug=slug, name=slug.title(), country="CO", currency="COP", timezone="America/Bogota",
                            locale="es-CO", default_authorised_channels=["sms"])


STORY: list[tuple[str, Event]] = [
    ("banco", registered("banco")), ("telco", registered("telco")),
    ("banco", AccountPlaced(account_ref="A-1", portfolio_id=uuid.uuid4(), debtor_ref=None, personal=None,
                            has_phone=True, has_email=False,
                            balance=Decimal("1000000"), currency="COP", days_past_due=45, as_of=dt.date(2026, 3, 2),
                            authorised_channels=["sms"])),
]


@dataclass
class World:
    platform: Platform
    keys: dict[str, str]

    def as_(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[key]}"}

    def reporting(self, key: str, *, report_burst: int = 1000) -> httpx.AsyncClient:
        settings = ReportingSettings(database_url=self.platform.settings.database_url, environment="test",
                                     report_rate_per_s=0.001, report_burst=report_burst)
        return reporting_client(self.platform, self.keys[key], settings)


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    platform = make_platform(settings_for_test(database_url), pool_size=3, clock=lambda: NOW)
    await deliver(platform, ((client, NOW - dt.timedelta(days=1), event) for client, event in STORY), now=NOW)
    keys = {"operator": (await platform.keys.create(role="operator", now=NOW))[1],
            "operator_of_telco": (await platform.keys.create(role="operator", client_scope=["telco"], now=NOW))[1],
            "banco": (await platform.keys.create(role="client", client_slug="banco", now=NOW))[1],
            "telco": (await platform.keys.create(role="client", client_slug="telco", now=NOW))[1],
            "sre": (await platform.keys.create(role="sre", now=NOW))[1]}
    yield World(platform, keys)
    await platform.db.dispose()


async def test_a_client_company_reads_its_own_reports_and_nobody_elses(world: World) -> None:
    async with world.reporting("banco") as http:  # one app: banco's live report is shared for a second in it
        for path in READS:
            assert (await http.get(path)).status_code == 200, path
        assert (await http.get(f"{BANCO}/reports/recovery")).json()["totals"]["accounts_placed"] == 1
        for who in ("telco", "operator_of_telco"):
            other = world.as_(who)
            for path in READS:  # the live report's company is shared too: the caller's right is still checked
                refused = await http.get(path, headers=other)
                assert (refused.status_code, refused.json()["code"]) == (404, "not_found"), (who, path)
            assert (await http.get(f"{BANCO}/reports/stream", headers=other)).status_code == 404
        refused = await http.get(f"{BANCO}/reports/recovery", headers=world.as_("sre"))
        assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
        for path in ("/v1/clients/nope/reports/recovery", "/v1/clients/nope/accounts/A-1"):
            unknown = (await http.get(path, headers=world.as_("operator"))).json()
            assert (unknown["status"], unknown["detail"]) == (404, "client company 'nope' not found")
        missing = (await http.get(f"{BANCO}/accounts/A-404")).json()
        assert (missing["status"], missing["detail"]) == (404, "account 'A-404' not found")
        assert (await http.get(f"{BANCO}/reports/recovery", headers={"Authorization": ""})).status_code == 401


async def test_only_an_operator_sets_commission_rates_and_only_fractions_of_named_buckets(world: World) -> None:
    async with world.reporting("banco") as banco:
        refused = await banco.put(f"{BANCO}/commission-rates", json={"rates": {"31-60": "0.15"}})
        assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    async with world.reporting("operator") as operator:
        bad = (await operator.put(f"{BANCO}/commission-rates", json={"rates": {"31-60": "1.5", "*": "0.1"}})).json()
        assert (bad["status"], bad["code"], bad["title"]) == (422, "invalid_rates", "Invalid commission rates")
        assert bad["detail"] == "rates are fractions from 0 to 1 per named bucket: 31-60, *"
        assert (await operator.get(f"{BANCO}/commission-rates")).json() == {"client": "banco", "rates": {},
                                                                            "default": None}
        put = await operator.put(f"{BANCO}/commission-rates", json={"rates": {"31-60": "0.15"}, "default": "0.1"})
        assert put.status_code == 200
        read = await operator.get(f"{BANCO}/commission-rates")
        stored = read.json()
        assert ({b: Decimal(r) for b, r in stored["rates"].items()}, Decimal(stored["default"])) == (
            {"31-60": Decimal("0.15")}, Decimal("0.1"))
        # Two people editing at once (#23): the one who read older rates is refused 412, not silently overwritten.
        tag = read.headers["etag"]
        assert put.headers["etag"] == tag
        first = await operator.put(f"{BANCO}/commission-rates", headers={"If-Match": tag},
                                   json={"rates": {"31-60": "0.2"}, "default": "0.1"})
        assert first.status_code == 200 and first.headers["etag"] != tag
        stale = await operator.put(f"{BANCO}/commission-rates", headers={"If-Match": tag},
                                   json={"rates": {"31-60": "0.3"}})
        assert (stale.status_code, stale.json()["code"]) == (412, "precondition_failed")
        kept = (await operator.get(f"{BANCO}/commission-rates")).json()["rates"]
        assert {b: Decimal(r) for b, r in kept.items()} == {"31-60": Decimal("0.2")}
        assert (await operator.put(f"{BANCO}/commission-rates", headers={"If-Match": 'W/"x", nope'},
                                   json={"rates": {}})).status_code == 400


async def test_the_period_rules_refuse_as_they_always_did(world: World) -> None:
    async with world.reporting("operator") as operator:
        for path, code, title in [
            (f"{BANCO}/reports/recovery?from=2026-03-10T00:00:00", "naive_datetime", "Invalid period"),
            (f"{BANCO}/reports/commission?from=2026-03-10T00:00:00Z&to=2026-03-01T00:00:00Z", "empty_period",
             "Invalid period"),
            (f"{BANCO}/reports/roll-rates?from=2026-13&to=2027-03", "invalid_month", "Invalid month"),
            (f"{BANCO}/reports/roll-rates?from=2026-03&to=2026-03", "invalid_months", "Invalid months"),
            (f"{BANCO}/reports/roll-rates?from=2020-01&to=2026-03", "invalid_months", "Invalid months"),
        ]:
            body = (await operator.get(path)).json()
            assert (body["status"], body["code"], body["title"]) == (422, code, title), path
        # Roll rates count months: a day (what the other reports take) is refused with the form they take.
        day = (await operator.get(f"{BANCO}/reports/roll-rates?from=2026-03-01&to=2026-05-01")).json()
        assert (day["code"], day["detail"]) == ("invalid_month", "'2026-03-01' is not a month: roll rates take "
                                                "months as YYYY-MM, both included (from=2026-03&to=2026-05)")


async def test_reports_are_rate_limited_per_key_and_client_company(world: World) -> None:
    async with world.reporting("banco", report_burst=3) as banco:
        assert [(await banco.get(f"{BANCO}/reports/recovery")).status_code for _ in range(3)] == [200] * 3
        refused = await banco.get(f"{BANCO}/commission-rates")
        assert (refused.status_code, refused.json()["code"]) == (429, "rate_limited")
        assert int(refused.headers["retry-after"]) >= 1
        other_key = await banco.get(f"{BANCO}/reports/recovery", headers=world.as_("operator"))
        assert other_key.status_code == 200  # another key: its own bucket
