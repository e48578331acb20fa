"""The best time to contact, across services on real PostgreSQL and real Kafka: outreach's learner relearns from
the messages sent, announces the windows through its outbox in the transaction that stores them
(contact.best_times_learned), and reporting's account view shows the account's segment's best slot on its channel
and says it in `why`; the sandbox's message to the debtor shows there as simulated; a rebuild replays the same.
Best time turned off forgets the windows, and the account view shows none again (outreach's and reporting's real
consumers and relays)."""

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

import outreach.main
import reporting.main
from outreach.best_time.handlers import relearn
from outreach.settings import OutreachSettings
from recaudo_common.events import AccountPlaced, AccountSegmented, ClientRegistered, Event
from recaudo_common.outbox import Outbox
from recaudo_common.personal_data import PersonalData, Vault
from recaudo_common.runtime import Platform
from recaudo_common.testing import eventually, relay_all, sealed_person
from recaudo_common.testing_units import platform_at, served_together
from reporting.rebuild import rebuild
from reporting.settings import ReportingSettings

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)  # Wednesday 10:00 in Bogotá
SEGMENT = "31-60/high"
WHY = "bucket 31-60; propensity 0.4"


@pytest.fixture
async def platform(database_url: str, kafka_bootstrap: str) -> AsyncIterator[Platform]:
    async with platform_at(database_url, NOW, kafka_bootstrap=kafka_bootstrap) as platform:
        yield platform


async def placed(platform: Platform, ref: str, id_number: str) -> AccountPlaced:
    """account.placed as ingest writes it: the debtor as a pseudonym, their data sealed."""
    debtor_ref, personal = await sealed_person(platform.db, Vault.from_settings(platform.settings), "banco",
                                               PersonalData(full_name="MARÍA PÉREZ", id_number=id_number, id_type="CC",
                                                            phones=("+573001234567",), email=None, address=None), NOW)
    return AccountPlaced(account_ref=ref, portfolio_id=uuid.uuid4(), debtor_ref=debtor_ref, personal=personal,
                         has_phone=True, has_email=False, balance=Decimal("1500000"), currency="COP",
                         days_past_due=45, as_of=NOW.date(), authorised_channels=["sms"])


def segmented(ref: str) -> AccountSegmented:
    return AccountSegmented(
        account_ref=ref, days_past_due=45, bucket="31-60", bucket_at_placement="31-60", segment=SEGMENT,
        treatment="digital", channels=["sms"], propensity=Decimal("0.4"), cost_to_collect=Decimal("100"),
        expected_net_recovery=Decimal("100000"), strategy_version=1, strategy_arm="champion",
        model_version="scorecard-v1", why=WHY, trigger="placement", cadence_days=3)


async def published_upstream(platform: Platform, events: list[Event]) -> None:
    """Events as ingest and segmentation publish them: through an outbox and its relay, onto Kafka."""
    async with platform.db.transaction() as s:
        await Outbox("ingest").add(s, [e.envelope(client="banco", occurred_at=NOW) for e in events])
    await relay_all(platform, "ingest")


async def sql(platform: Platform, query: str, **params: Any) -> list[Any]:
    async with platform.db.transaction() as s:
        return list((await s.execute(text(query), params)).all())


async def plant_history(platform: Platform, ref: str, good_hour: int) -> None:
    """Eight weeks of SMS through Twilio to the account's debtor every weekday 07-18 in Bogotá, ten a slot, four
    of each ten answered at `good_hour`, none otherwise."""
    await sql(platform,
        """INSERT INTO outreach.attempts (id, client_slug, account_ref, plan_id, channel, sequence, status,
               scheduled_at, created_at, sent_at, provider)
           SELECT gen_random_uuid(), 'banco', :ref, gen_random_uuid(), 'sms', 1000 + row_number() OVER (),
                  CASE WHEN extract(hour FROM at AT TIME ZONE 'America/Bogota') = :good AND copy < 4
                       THEN 'replied' ELSE 'sent' END, at, at, at, 'twilio'
           FROM generate_series(CAST(:since AS timestamptz), CAST(:until AS timestamptz), interval '1 hour') AS at,
                generate_series(0, 9) AS copy
           WHERE extract(isodow FROM at AT TIME ZONE 'America/Bogota') < 6
             AND extract(hour FROM at AT TIME ZONE 'America/Bogota') BETWEEN 7 AND 18
           RETURNING 1""",
        ref=ref, good=good_hour, since=NOW - dt.timedelta(weeks=8), until=NOW - dt.timedelta(days=1))
    await sql(platform,
        """INSERT INTO outreach.replies (id, provider, provider_message_id, attempt_id, channel, body, opt_out,
               received_at)
           SELECT gen_random_uuid(), 'twilio', gen_random_uuid()::text, id, 'sms', 'Gracias, pago el viernes',
                  false, sent_at + interval '20 minutes'
           FROM outreach.attempts WHERE account_ref = :ref AND status = 'replied' RETURNING 1""", ref=ref)


async def test_learned_windows_reach_reportings_account_view_and_a_sandbox_message_shows_simulated(
        platform: Platform) -> None:
    settings = OutreachSettings(sandbox_delivery_rate=1.0, best_time_relearn_s=3600)
    units = [outreach.main.build(platform, settings),
             reporting.main.build(platform, ReportingSettings(database_url=platform.settings.database_url,
                                                              environment="test"))]
    async with served_together(platform, units, now=NOW) as http:
        async def account_view() -> dict[str, Any]:
            answer = await http.get("/v1/clients/banco/accounts/A-1")
            body: dict[str, Any] = answer.json() if answer.status_code == 200 else {}
            return body

        await published_upstream(platform, [
            ClientRegistered(slug="banco", name="Banco Andino", country="CO", currency="COP",
                             timezone="America/Bogota", locale="es-CO", default_authorised_channels=["sms"]),
            await placed(platform, "H-1", "1111111111"), segmented("H-1"),
            await placed(platform, "A-1", "2222222222"), segmented("A-1")])

        # Nothing learned yet: A-1's first SMS goes out now, through the sandbox, and reporting shows it as
        # simulated; its view has no best time and its why is segmentation's.
        async def simulated_contact() -> bool:
            contacts = (await account_view()).get("last_contacts", [])
            return any(c["channel"] == "sms" and c["simulated"] for c in contacts)
        await eventually(simulated_contact, timeout_s=60, message="the sandbox's SMS in reporting, simulated")
        before = await account_view()
        assert (before["segment"], before["best_times"], before["why"]) == (SEGMENT, [], WHY)
        assert all(c["simulated"] for c in before["last_contacts"])

        # Outreach learns from H-1's real history (evenings at 18h in Bogotá) and announces it.
        await plant_history(platform, "H-1", good_hour=18)
        assert await relearn(platform.db, settings, now=NOW) == 7 * 24
        [(announced,)] = await sql(platform, "SELECT count(*) FROM outreach.best_time_windows")
        assert announced == 7 * 24

        async def learned() -> dict[str, Any] | None:
            view = await account_view()
            return view if view.get("best_times") else None
        view = await eventually(learned, timeout_s=60, message="the learned windows in reporting's view")
        assert view is not None
        [best] = view["best_times"]
        assert (best["channel"], best["label"], best["dow"], best["hour"], best["n"]) == (
            "sms", "lunes 18h", 0, 18, 80)  # equal weekdays: the first; 8 weeks x 10 messages
        assert Decimal("0.3") < Decimal(best["rate"]) < Decimal("0.45")
        assert view["why"] == (f"{WHY}; mejor momento (sms): lunes 18h, tasa {Decimal(best['rate']):.2f}, "
                               "n=80")
        # The same best slot outreach's own account best time shows (its label, its rate to four places).
        outreach_view = (await http.get("/v1/clients/banco/accounts/A-1/best-time")).json()
        [theirs] = outreach_view["best"]
        assert (theirs["label"], Decimal(str(theirs["rate"]))) == (best["label"], Decimal(best["rate"]))

        # A rebuild replays the announcement from the topic into the same best times.
        assert await rebuild(platform, client="banco", idle_s=0.3) > 0
        kept = "SELECT segment, channel, rank, dow, hour, label, rate, n FROM {}.best_times ORDER BY 1, 2, 3"
        live = await sql(platform, kept.format("reporting"))
        assert await sql(platform, kept.format("reporting_rebuild")) == live
        assert len(live) == 3  # the segment's best three on SMS

        # Best time turned off for the whole service: outreach forgets the windows, and so does the view.
        assert await relearn(platform.db, settings.model_copy(update={"best_time_enabled": False}),
                             now=NOW) == 0

        async def forgotten() -> bool:
            return (await account_view()).get("best_times") == []
        await eventually(forgotten, timeout_s=60, message="the forgotten windows gone from reporting's view")
        assert (await account_view())["why"] == WHY
