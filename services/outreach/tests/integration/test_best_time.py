"""Best time against a real PostgreSQL and the consumer runtime: a history of messages sent and answered is
planted in outreach's tables (evenings for one segment, mornings for another, in Bogotá's time), the relearning
job runs on its injected clock, and a newly planned attempt lands in its segment's learned window within the
contact law, its contact history saying why; a client company that turns best time off gets the first allowed
slot again."""

import asyncio
import datetime as dt

import pytest

from outreach.best_time.handlers import relearn, relearning
from outreach.best_time.store import take_relearn_lock
from recaudo_common.events import AccountSegmented
from recaudo_common.testing import eventually

from .conftest import Outreach, segmented

pytestmark = pytest.mark.integration


def in_segment(ref: str, segment: str) -> AccountSegmented:
    return segmented(ref, ("sms",), cadence_days=3).model_copy(update={"segment": segment})


async def plant_history(o: Outreach, ref: str, segment: str, good_hour: int, debtor: str,
                        provider: str | None = None) -> None:
    """Eight weeks of SMS sent to the account's debtor every weekday 07-18 in Bogotá (12-23 UTC), ten a slot,
    four of each ten answered at `good_hour`, none otherwise, and one opt-out reply (not a good outcome)."""
    await o.deliver(await o.placed(ref, debtor=debtor), in_segment(ref, segment))
    await o.sql(
        """INSERT INTO outreach.attempts (id, client_slug, account_ref, plan_id, channel, sequence, status,
               scheduled_at, created_at, sent_at, provider)
           SELECT gen_random_uuid(), 'banco', :ref, gen_random_uuid(), 'sms', 1000 + row_number() OVER (),
                  CASE WHEN extract(hour FROM at AT TIME ZONE 'America/Bogota') = :good AND copy < 4
                       THEN 'replied' ELSE 'sent' END, at, at, at, CAST(:provider AS text)
           FROM generate_series(CAST(:since AS timestamptz), CAST(:until AS timestamptz), interval '1 hour') AS at,
                generate_series(0, 9) AS copy
           WHERE extract(isodow FROM at AT TIME ZONE 'America/Bogota') < 6
             AND extract(hour FROM at AT TIME ZONE 'America/Bogota') BETWEEN 7 AND 18
           RETURNING 1""",
        ref=ref, good=good_hour, provider=provider, since=o.clock.now - dt.timedelta(weeks=8), until=o.clock.now - dt.timedelta(days=1))
    await o.sql(
        """INSERT INTO outreach.replies (id, provider, provider_message_id, attempt_id, channel, body, opt_out,
               received_at)
           SELECT gen_random_uuid(), 'sandbox', gen_random_uuid()::text, id, 'sms', 'Gracias, pago el viernes',
                  false, sent_at + interval '20 minutes'
           FROM outreach.attempts WHERE account_ref = :ref AND status = 'replied' RETURNING 1""", ref=ref)


async def test_a_new_attempt_goes_to_its_segments_learned_window_within_the_law(outreach: Outreach) -> None:
    o = outreach  # now: Wednesday 2026-03-04 10:00 in Bogotá
    await plant_history(o, "H-TARDE", "tarde", good_hour=18, debtor="1111111111")
    await plant_history(o, "H-MANANA", "manana", good_hour=8, debtor="2222222222")

    # The relearning job on its injected clock, as main.build runs it.
    stop = asyncio.Event()
    job = asyncio.create_task(relearning(o.platform.db, o.settings, o.clock)(stop))
    try:
        await eventually(lambda: o.sql("SELECT 1 FROM outreach.best_time_windows WHERE segment = 'manana'"),
                         message="windows learned")
    finally:
        stop.set()
        await job

    answer = await o.http.get("/v1/clients/banco/best-times", params={"segment": "tarde", "channel": "sms"},
                              headers=o.auth)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["enabled"] is True and len(body["windows"]) == 7 * 24
    [best] = body["best"]
    assert (best["day"], best["hour"], best["label"]) == ("lunes", 18, "lunes 18h")  # equal weekdays: the first
    assert 0.3 < best["rate"] < 0.45 and best["n"] == 80  # 8 weeks x 10, four of ten answered, shrunk

    await o.deliver(await o.placed("N-TARDE", debtor="3333333333"), in_segment("N-TARDE", "tarde"),
                    await o.placed("N-MANANA", debtor="4444444444"), in_segment("N-MANANA", "manana"))
    rows = await o.sql("SELECT account_ref, sequence, scheduled_at, why FROM outreach.attempts "
                       "WHERE account_ref LIKE 'N-%' ORDER BY account_ref, sequence")
    at = {(r[0], r[1]): (r[2], r[3]) for r in rows}
    utc = dt.UTC
    # Evenings: this Wednesday 18h (the cadence's first touch is due now, 10h), then Monday 18h for the touch due
    # Saturday 10h (Saturday closes at 15h, Sunday is closed).
    assert at[("N-TARDE", 1)][0] == dt.datetime(2026, 3, 4, 23, 0, tzinfo=utc)
    assert at[("N-TARDE", 1)][1].startswith("best_time: miércoles 18h (tasa 0.")
    assert at[("N-TARDE", 2)][0] == dt.datetime(2026, 3, 9, 23, 0, tzinfo=utc)
    # Mornings: Thursday 08h, the first morning after now.
    assert at[("N-MANANA", 1)][0] == dt.datetime(2026, 3, 5, 13, 0, tzinfo=utc)
    assert at[("N-MANANA", 1)][1].startswith("best_time: jueves 8h (tasa 0.")

    # What a user sees: the account's contact history says why, and the planned instant is allowed by the law.
    history = (await o.http.get("/v1/clients/banco/accounts/N-TARDE/contacts", headers=o.auth)).json()
    first = history["items"][0]
    assert first["why"].startswith("best_time: miércoles 18h") and first["status"] == "scheduled"
    scheduled = [t for t in history["trail"] if t["kind"] == "scheduled"]
    assert scheduled[0]["detail"]["why"] == first["why"]
    for (ref, sequence), (when, _) in at.items():
        check = await o.http.post("/v1/compliance/check", headers=o.auth, json={
            "client": "banco", "account_ref": ref, "channel": "sms", "at": when.isoformat()})
        assert check.status_code == 200, check.text
        assert check.json()["allowed"] is True, (ref, sequence, when, check.json())

    # The account view's best time: its segment's windows on its channels, in its debtor's zone; an account not
    # known here is 404.
    view = await o.http.get("/v1/clients/banco/accounts/N-MANANA/best-time", headers=o.auth)
    assert view.status_code == 200, view.text
    assert (view.json()["segment"], view.json()["timezone"]) == ("manana", "America/Bogota")
    assert [(b["channel"], b["label"]) for b in view.json()["best"]] == [("sms", "lunes 8h")]
    missing = await o.http.get("/v1/clients/banco/accounts/NADIE/best-time", headers=o.auth)
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"

    # The attempt goes out once its slot comes, not before (the history's own accounts go out now).
    await o.tick()
    assert (await o.attempts("N-TARDE"))[0] == ("sms", "scheduled")
    o.clock.now = dt.datetime(2026, 3, 4, 23, 0, tzinfo=utc)
    await o.tick()
    assert (await o.attempts("N-TARDE"))[0] == ("sms", "delivered")
    assert (await o.attempts("N-MANANA"))[0] == ("sms", "scheduled")  # its morning is tomorrow


async def announced_slots(o: Outreach) -> list[int]:
    """How many slots each contact.best_times_learned in the outbox showed, oldest first."""
    rows = await o.sql("SELECT jsonb_array_length(envelope->'payload'->'slots') FROM outreach.outbox "
                       "WHERE envelope->>'type' = 'contact.best_times_learned' ORDER BY id")
    return [r[0] for r in rows]


async def test_a_client_company_turns_best_time_off_and_gets_the_first_allowed_slot(outreach: Outreach) -> None:
    o = outreach
    await plant_history(o, "H-TARDE", "tarde", good_hour=18, debtor="1111111111")
    # One replica relearns at a time: while another holds the lock, this one leaves the windows as they are.
    async with o.platform.db.transaction() as s:
        assert await take_relearn_lock(s)
        assert await relearn(o.platform.db, o.settings, now=o.clock.now) == 0
    assert await o.sql("SELECT 1 FROM outreach.best_time_windows") == []
    # The sandbox's replies are simulated: nothing is learned from them.
    await plant_history(o, "H-SANDBOX", "simulada", good_hour=8, debtor="7777777777", provider="sandbox")
    assert await relearn(o.platform.db, o.settings, now=o.clock.now) == 7 * 24
    assert await o.sql("SELECT 1 FROM outreach.best_time_windows WHERE segment = 'simulada'") == []
    await o.deliver(await o.placed("N-ON", debtor="5555555555"), in_segment("N-ON", "tarde"))
    [(on_at,)] = await o.sql("SELECT scheduled_at FROM outreach.attempts WHERE account_ref = 'N-ON' AND sequence = 1")
    assert on_at == dt.datetime(2026, 3, 4, 23, 0, tzinfo=dt.UTC)  # on: this evening

    refused = await o.http.put("/v1/clients/banco/best-times/settings", json={"enabled": False},
                               headers={"Authorization": f"Bearer {o.client_key}"})
    assert refused.status_code == 403, refused.text  # the switch is the operators'
    answer = await o.http.put("/v1/clients/banco/best-times/settings", json={"enabled": False}, headers=o.auth)
    assert answer.status_code == 200 and answer.json() == {"client": "banco", "enabled": False, "experiment": False,
                                                           "best_time_share": 0.5}
    # Reporting's account view follows at once, and the hourly relearning keeps showing no slot while off.
    assert (await announced_slots(o))[-1] == 0
    assert await relearn(o.platform.db, o.settings, now=o.clock.now) == 7 * 24
    assert (await announced_slots(o))[-1] == 0

    await o.deliver(await o.placed("N-OFF", debtor="6666666666"), in_segment("N-OFF", "tarde"))
    [(scheduled_at, why)] = await o.sql("SELECT scheduled_at, why FROM outreach.attempts "
                                        "WHERE account_ref = 'N-OFF' AND sequence = 1")
    assert (scheduled_at, why) == (o.clock.now, None)  # off: now, the first allowed slot, as before
    assert (await o.http.get("/v1/clients/banco/best-times", headers=o.auth)).json()["enabled"] is False

    # The service-wide setting off forgets every window: the first allowed slot for every client company.
    await o.http.put("/v1/clients/banco/best-times/settings", json={"enabled": True}, headers=o.auth)
    assert (await announced_slots(o))[-1] > 0  # on again: the windows learned are shown again
    assert await relearn(o.platform.db, o.settings.model_copy(update={"best_time_enabled": False}),
                         now=o.clock.now) == 0
    assert (await o.http.get("/v1/clients/banco/best-times", headers=o.auth)).json()["windows"] == []


async def test_promises_and_payments_count_as_good_outcomes_opt_outs_do_not(outreach: Outreach) -> None:
    """Four weeks of one SMS a weekday at 09h, 10h and 15h in Bogotá: each 09h message followed by a promise on
    the debtor page, each 15h one answered BAJA; the one at 11h yesterday followed by the payment that paid the
    account off. Promises and the payment make their hours better than 10h; an opt-out leaves 15h as bad as 10h.
    A promise credits the last message before it only (the 10h messages a day before are not promised)."""
    o = outreach
    await o.deliver(await o.placed("P-1", debtor="8888888888"), in_segment("P-1", "pagos"))
    sent = await o.sql(
        """INSERT INTO outreach.attempts (id, client_slug, account_ref, plan_id, channel, sequence, status,
               scheduled_at, created_at, sent_at)
           SELECT gen_random_uuid(), 'banco', 'P-1', gen_random_uuid(), 'sms', 1000 + row_number() OVER (),
                  CASE WHEN extract(hour FROM at AT TIME ZONE 'America/Bogota') = 15 THEN 'replied' ELSE 'sent' END,
                  at, at, at
           FROM generate_series(CAST(:since AS timestamptz), CAST(:until AS timestamptz), interval '1 hour') AS at
           WHERE extract(isodow FROM at AT TIME ZONE 'America/Bogota') < 6
             AND extract(hour FROM at AT TIME ZONE 'America/Bogota') IN (9, 10, 15)
           RETURNING id, extract(hour FROM sent_at AT TIME ZONE 'America/Bogota'), sent_at""",
        since=o.clock.now - dt.timedelta(weeks=4), until=o.clock.now - dt.timedelta(days=1))
    await o.sql(
        """INSERT INTO outreach.trail (client_slug, account_ref, at, kind, detail)
           SELECT 'banco', 'P-1', sent_at + interval '30 minutes', 'page_promise', '{}'::jsonb FROM outreach.attempts
           WHERE account_ref = 'P-1' AND extract(hour FROM sent_at AT TIME ZONE 'America/Bogota') = 9
           RETURNING 1""")
    await o.sql(
        """INSERT INTO outreach.replies (id, provider, provider_message_id, attempt_id, channel, body, opt_out,
               received_at)
           SELECT gen_random_uuid(), 'sandbox', gen_random_uuid()::text, id, 'sms', 'BAJA', true,
                  sent_at + interval '5 minutes'
           FROM outreach.attempts WHERE account_ref = 'P-1' AND status = 'replied' RETURNING 1""")
    yesterday_11 = dt.datetime(2026, 3, 3, 16, 0, tzinfo=dt.UTC)  # Tuesday 11h in Bogotá
    await o.sql("""INSERT INTO outreach.attempts (id, client_slug, account_ref, plan_id, channel, sequence, status,
                       scheduled_at, created_at, sent_at)
                   VALUES (gen_random_uuid(), 'banco', 'P-1', gen_random_uuid(), 'sms', 9999, 'sent', :at, :at, :at)
                   RETURNING 1""", at=yesterday_11)
    await o.sql("""INSERT INTO outreach.account_status (client_slug, account_ref, status, balance, as_of)
                   VALUES ('banco', 'P-1', 'paid', 0, :paid_at)
                   ON CONFLICT (client_slug, account_ref) DO UPDATE SET status = 'paid', as_of = excluded.as_of
                   RETURNING 1""", paid_at=yesterday_11 + dt.timedelta(hours=20))
    assert len(sent) == 58  # Wednesday 4 February 10h to Tuesday 3 March 10h: 2 + 18 weekdays x 3 + 2

    assert await relearn(o.platform.db, o.settings, now=o.clock.now) == 7 * 24
    rate = {(r[0], r[1]): (r[2], r[3]) for r in await o.sql(
        "SELECT dow, hour, rate, n FROM outreach.best_time_windows WHERE segment = 'pagos'")}
    tuesday = 1
    assert rate[(tuesday, 9)][0] > rate[(tuesday, 10)][0] + 0.1  # promised every time (4 of 4, shrunk)
    assert rate[(tuesday, 11)][1] == 1 and rate[(tuesday, 11)][0] > rate[(tuesday, 12)][0]  # paid after it
    monday = 0
    assert rate[(monday, 15)] == rate[(monday, 10)] and rate[(monday, 15)][1] == 4  # answered BAJA: as unanswered
