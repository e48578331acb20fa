"""Best time as an experiment on a real PostgreSQL: a client company runs best time against the first allowed slot;
each account falls in its arm by the stable split, a first_slot account's attempt stays at the first allowed slot
(its contact history saying so), a best_time account's goes to the learned window, and the arm travels on
contact.attempted v2 for reporting's read-out."""

import datetime as dt

import pytest

from outreach.best_time.handlers import relearn
from outreach.domain.best_time_experiment import Experiment, arm_of
from outreach.planning.handlers import FIRST_SLOT_WHY

from .conftest import Outreach
from .test_best_time import in_segment, plant_history

pytestmark = pytest.mark.integration
EVENING = dt.datetime(2026, 3, 4, 23, 0, tzinfo=dt.UTC)  # 18h in Bogotá, the learned window


async def test_each_arm_is_planned_as_its_arm_says_and_the_arm_reaches_the_event(outreach: Outreach) -> None:
    o = outreach  # now: Wednesday 2026-03-04 10:00 in Bogotá
    await plant_history(o, "H-TARDE", "tarde", good_hour=18, debtor="1111111111")
    assert await relearn(o.platform.db, o.settings, now=o.clock.now) > 0

    bad = await o.http.put("/v1/clients/banco/best-times/settings", headers=o.auth,
                           json={"enabled": True, "experiment": True, "best_time_share": 1.0})
    assert bad.status_code == 422, bad.text  # a share of 1 (or 0) is no experiment: one arm would be empty
    on = await o.http.put("/v1/clients/banco/best-times/settings", headers=o.auth,
                          json={"enabled": True, "experiment": True})
    assert on.json() == {"client": "banco", "enabled": True, "experiment": True, "best_time_share": 0.5}
    shown = (await o.http.get("/v1/clients/banco/best-times", headers=o.auth)).json()
    assert (shown["experiment"], shown["best_time_share"]) == (True, 0.5)

    refs = [f"E-{i:02d}" for i in range(12)]
    for i, ref in enumerate(refs):
        await o.deliver(await o.placed(ref, debtor=f"90000000{i:02d}"), in_segment(ref, "tarde"))
    rows = await o.sql("SELECT account_ref, scheduled_at, why, best_time_arm FROM outreach.attempts "
                       "WHERE account_ref LIKE 'E-%' AND sequence = 1 ORDER BY account_ref")
    expected = {ref: arm_of("banco", ref, Experiment(True, 0.5)) for ref in refs}
    assert {r[0]: r[3] for r in rows} == expected
    assert set(expected.values()) == {"best_time", "first_slot"}  # both arms among these twelve
    for ref, scheduled_at, why, arm in rows:
        if arm == "first_slot":
            assert (scheduled_at, why) == (o.clock.now, FIRST_SLOT_WHY), ref  # the first allowed slot: now
        else:
            assert scheduled_at == EVENING and why.startswith("best_time: miércoles 18h"), (ref, why)
    control = next(ref for ref, arm in expected.items() if arm == "first_slot")
    history = (await o.http.get(f"/v1/clients/banco/accounts/{control}/contacts", headers=o.auth)).json()
    assert history["items"][0]["why"] == FIRST_SLOT_WHY

    # Sent: each contact.attempted (v2) carries its attempt's arm.
    o.clock.now = EVENING
    await o.tick()
    sent = await o.sql("SELECT envelope->'payload'->>'account_ref', envelope->'payload'->>'best_time_arm', "
                       "CAST(envelope->>'version' AS int) FROM outreach.outbox "
                       "WHERE envelope->>'type' = 'contact.attempted' "
                       "AND envelope->'payload'->>'account_ref' LIKE 'E-%'")
    assert {r[0]: r[1] for r in sent} == expected and {r[2] for r in sent} == {2}

    # Off again: attempts planned from now on are outside any experiment.
    await o.http.put("/v1/clients/banco/best-times/settings", headers=o.auth, json={"enabled": True})
    await o.deliver(await o.placed("E-OFF", debtor="9100000000"), in_segment("E-OFF", "tarde"))
    off = await o.sql("SELECT best_time_arm FROM outreach.attempts WHERE account_ref = 'E-OFF'")
    assert off and {r[0] for r in off} == {None}
