"""A call the agent desk handed out and outreach then withdrew (here, a recall) is no attempt in reporting, across
services on real PostgreSQL and the embedded log: outreach's hand-out published contact.attempted, and its
withdrawal publishes contact.withdrawn through its outbox in the transaction that withdraws it; reporting's live
report counts the attempt while the call is on the desk and none once it is withdrawn, its account view lists no
such contact, and a rebuild from the topics gives the same figures (outreach's and reporting's real consumers and
relays). A call withdrawn before outreach announced withdrawals stops counting once outreach's schema is upgraded
(its migration announce_old_withdrawals announces it through the outbox)."""

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

import outreach.main
import reporting.main
from outreach.settings import OutreachSettings
from outreach.withdrawals import withdraw_handed_out
from recaudo_common.events import AccountPlaced, AccountRecalled, AccountSegmented, ClientRegistered, Event
from recaudo_common.migrate import revision_before, upgrade_async
from recaudo_common.outbox import Outbox
from recaudo_common.personal_data import PersonalData, Vault
from recaudo_common.runtime import Platform, ServiceUnit
from recaudo_common.testing import eventually, relay_all, sealed_person
from recaudo_common.testing_units import platform_at, served_together
from reporting.rebuild import differences, rebuild
from reporting.settings import ReportingSettings

pytestmark = pytest.mark.integration
OUTREACH_MIGRATIONS = Path(outreach.main.__file__).parents[2] / "migrations"
NOW = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)  # Wednesday 10:00 in Bogotá: agent calls allowed
# The clock stands still: a period that ends now would leave out what happened now.
UNTIL = NOW + dt.timedelta(days=1)


@pytest.fixture
async def platform(database_url: str) -> AsyncIterator[Platform]:
    async with platform_at(database_url, NOW) as platform:
        yield platform


async def placed(platform: Platform, ref: str) -> AccountPlaced:
    """account.placed as ingest writes it: the debtor as a pseudonym, their data sealed."""
    debtor_ref, personal = await sealed_person(platform.db, Vault.from_settings(platform.settings), "banco",
                                               PersonalData(full_name="MARÍA PÉREZ", id_number="1020304050",
                                                            id_type="CC", phones=("+573001234567",), email=None,
                                                            address=None), NOW)
    return AccountPlaced(account_ref=ref, portfolio_id=uuid.uuid4(), debtor_ref=debtor_ref, personal=personal,
                         has_phone=True, has_email=False, balance=Decimal("1500000"), currency="COP",
                         days_past_due=45, as_of=NOW.date(), authorised_channels=["agent"])


def segmented(ref: str) -> AccountSegmented:
    return AccountSegmented(
        account_ref=ref, days_past_due=45, bucket="31-60", bucket_at_placement="31-60", segment="31-60/high",
        treatment="agent", channels=["agent"], propensity=Decimal("0.4"), cost_to_collect=Decimal("100"),
        expected_net_recovery=Decimal("900000"), strategy_version=1, strategy_arm="champion",
        model_version="scorecard-v1", why="test", trigger="placement", cadence_days=3)


async def published_upstream(platform: Platform, events: list[Event]) -> None:
    """Events as ingest and segmentation publish them: through an outbox and its relay, onto the log."""
    async with platform.db.transaction() as s:
        await Outbox("ingest").add(s, [e.envelope(client="banco", occurred_at=NOW) for e in events])
    await relay_all(platform, "ingest")


def units_of(platform: Platform) -> list[ServiceUnit]:
    return [outreach.main.build(platform, OutreachSettings(sandbox_delivery_rate=1.0)),
            reporting.main.build(platform, ReportingSettings(database_url=platform.settings.database_url,
                                                             environment="test"))]


async def totals(http: httpx.AsyncClient) -> dict[str, Any]:
    answer = await http.get("/v1/clients/banco/reports/recovery", params={"to": UNTIL.isoformat()})
    body: dict[str, Any] = answer.json()["totals"] if answer.status_code == 200 else {}
    return body


async def call_on_the_desk(platform: Platform, http: httpx.AsyncClient) -> dict[str, Any]:
    """A-1's agent call handed out, and counted as an attempt in reporting's live report."""
    await published_upstream(platform, [
        ClientRegistered(slug="banco", name="Banco Andino", country="CO", currency="COP",
                         timezone="America/Bogota", locale="es-CO", default_authorised_channels=["agent"]),
        await placed(platform, "A-1"), segmented("A-1")])

    async def handed_out() -> dict[str, Any] | None:
        answer = await http.get("/v1/agent/next?client=banco")
        item: dict[str, Any] | None = answer.json().get("item") if answer.status_code == 200 else None
        return item
    call = await eventually(handed_out, timeout_s=60, message="the agent call handed out")
    assert call is not None and call["account_ref"] == "A-1"

    async def attempted() -> bool:
        return (await totals(http)).get("attempts") == 1
    await eventually(attempted, timeout_s=60, message="the hand-out's attempt in the live report")
    return call


async def test_a_withdrawn_call_is_no_attempt_in_reportings_report_account_view_or_rebuild(
        platform: Platform) -> None:
    async with served_together(platform, units_of(platform), now=NOW) as http:
        call = await call_on_the_desk(platform, http)
        await published_upstream(platform, [AccountRecalled(account_ref="A-1", recalled_at=NOW)])

        async def withdrawn() -> bool:
            answer = await http.get(f"/v1/agent/calls/{call['attempt_id']}?client=banco")
            return answer.status_code == 409
        await eventually(withdrawn, timeout_s=60, message="the call withdrawn by outreach")

        async def uncounted() -> bool:
            now = await totals(http)
            return now.get("attempts") == 0 and now.get("accounts_recalled") == 1
        await eventually(uncounted, timeout_s=30, message="the withdrawn call no attempt in the live report")
        view = (await http.get("/v1/clients/banco/accounts/A-1")).json()
        assert view["last_contacts"] == []  # the call was never made

        # The topics replayed into fresh tables give every figure the live tables give (attempts 0 there too).
        assert await rebuild(platform, client="banco", idle_s=0.3) > 0
        assert await differences(platform, clients=["banco"], now=UNTIL) == []


async def test_a_call_withdrawn_before_the_event_existed_stops_counting_once_outreach_is_upgraded(
        platform: Platform) -> None:
    async with served_together(platform, units_of(platform), now=NOW) as http:
        call = await call_on_the_desk(platform, http)
        # Withdrawn as outreach did before 832785a: in one transaction, so the relay never sees the event, the
        # withdrawal without its contact.withdrawn (and unmarked, as the back-fill's new column finds every row).
        async with platform.db.transaction() as s:
            assert await withdraw_handed_out(s, [("banco", "A-1")], "account recalled", NOW)
            await s.execute(text("DELETE FROM outreach.outbox WHERE envelope->>'type' = 'contact.withdrawn'"))
            await s.execute(text("UPDATE outreach.attempts SET withdrawal_announced = false"))
        assert (await totals(http))["attempts"] == 1  # reporting was never told

        # The upgrade: outreach's schema migrated from the revision before the back-fill.
        async with platform.db.transaction() as s:
            await s.execute(text("UPDATE outreach.alembic_version SET version_num = :v"),
                            {"v": revision_before(OUTREACH_MIGRATIONS, "announce_old_withdrawals")})
        await upgrade_async(schema="outreach", script_location=OUTREACH_MIGRATIONS,
                            database_url=platform.settings.database_url)

        async def uncounted() -> bool:
            return (await totals(http)).get("attempts") == 0
        await eventually(uncounted, timeout_s=30, message="the call withdrawn before no attempt after the upgrade")
        assert (await http.get("/v1/clients/banco/accounts/A-1")).json()["last_contacts"] == []
        async with platform.db.transaction() as s:
            announced = (await s.execute(text(
                "SELECT count(*) FROM outreach.attempts WHERE id = CAST(:a AS uuid) AND withdrawal_announced"),
                {"a": call["attempt_id"]})).scalar_one()
        assert announced == 1
        assert await rebuild(platform, client="banco", idle_s=0.3) > 0
        assert await differences(platform, clients=["banco"], now=UNTIL) == []
