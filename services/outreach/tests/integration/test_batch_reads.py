"""Outreach's batch reads against a real PostgreSQL whose tables have grown past what their statistics say: each
account of a batch is looked up by its key, never by reading the whole table, and the answers are the same (#24).
What keeps them so is the server's planner settings (recaudo_common.postgres_planner): at PostgreSQL's default
random_page_cost both statements below were planned as scans of their table for every batch."""

import datetime as dt
import json
import uuid
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy

from outreach.consent import store as consent
from outreach.planning import store as planning
from recaudo_common.postgres_planner import PLANNER_SETTINGS
from recaudo_common.testing import plan_of, statements_run

from .conftest import Outreach

pytestmark = pytest.mark.integration


async def run(outreach: Outreach, *statements: str) -> None:
    """Set-up statements, in one transaction."""
    async with outreach.platform.db.transaction() as s:
        for statement in statements:
            await s.execute(sqlalchemy.text(statement))


def read_whole(plan: str) -> set[str]:
    """The tables a plan (EXPLAIN's JSON) reads from end to end."""
    found: set[str] = set()

    def walk(node: dict[str, Any]) -> None:
        if node.get("Node Type") == "Seq Scan":
            found.add(node["Relation Name"])
        for child in node.get("Plans", ()):
            walk(child)

    shown = json.loads(plan)
    for root in json.loads(shown) if isinstance(shown, str) else shown:
        walk(root["Plan"])
    return found


async def test_the_server_costs_index_probes_as_the_platform_deploys_it(outreach: Outreach) -> None:
    for name, value in PLANNER_SETTINGS.items():
        assert await outreach.sql(f"SELECT current_setting('{name}')") == [(value,)], (
            f"the test server's {name} is not the platform's: start it with recaudo_common.embedded_pg")


async def test_a_batch_of_new_accounts_reads_the_consent_evidence_by_account(outreach: Outreach) -> None:
    """The pipeline's outreach asks for the consent of each batch of new accounts (none has any yet). The planner
    made it a scan and sort of all the evidence: 20 ms a batch at 22,500 rows, to find nothing."""
    await run(
        outreach,
        "INSERT INTO outreach.consent_evidence (client_slug, account_ref, channel, what, source, recorded_at, "
        "evidence) SELECT 'banco', 'E-' || (i / 2), CASE WHEN i % 2 = 0 THEN 'sms' ELSE 'email' END, "
        "'granted', 'client_file', now(), gen_random_uuid() FROM generate_series(1, 40000) i",
        "INSERT INTO outreach.consent_evidence (client_slug, account_ref, channel, what, source, recorded_at, "
        "evidence) VALUES ('banco', 'E-7', 'sms', 'withdrawn', 'debtor_page', now(), gen_random_uuid())")
    keys = [("banco", f"N-{i}") for i in range(500)] + [("banco", "E-7")]
    with statements_run(outreach.platform.db, "outreach.consent_evidence") as seen:
        async with outreach.platform.db.transaction() as s:
            states = await consent.consent_states(s, keys)
    assert {key: {channel: (c.what, c.source) for channel, c in channels.items()}
            for key, channels in states.items()} == {
        ("banco", "E-7"): {"sms": ("withdrawn", "debtor_page"), "email": ("granted", "client_file")}}
    [(statement, parameters)] = seen
    plan = await plan_of(outreach.platform.db, statement, parameters)
    assert "consent_evidence" not in read_whole(plan), plan
    assert '"Index Name": "consent_evidence_account"' in plan, plan


async def test_planning_a_batch_asks_whether_each_account_is_known_by_its_key(outreach: Outreach) -> None:
    """A treatment is planned only once its account is known here. The planner hashed every account of the table
    for each batch to ask it: half of the time of the pipeline's largest statement at 30,000 to 60,000 accounts
    (10-54 ms a batch of 500 at 30,000-100,000 accounts; 4 ms by key)."""
    await run(
        outreach,
        "INSERT INTO outreach.accounts (client_slug, account_ref, debtor_id, phones, balance, currency, "
        "authorised_channels, updated_at) SELECT 'banco', 'P-' || i, 'D' || i, ARRAY['+57300' || "
        "lpad(i::text, 7, '0')], 1000, 'COP', ARRAY['sms'], now() FROM generate_series(1, 30000) i",
        "INSERT INTO outreach.treatments (client_slug, account_ref, plan_id, segment, treatment, channels, "
        "cadence_days, expected_net_recovery, propensity, days_past_due, strategy_arm, decided_at) "
        "SELECT 'banco', ref, gen_random_uuid(), '31-60/high', 'digital', ARRAY['sms'], 3, 100, 0.4, 45, "
        "'champion', now() FROM (SELECT 'P-' || i FROM generate_series(1, 30000) i UNION ALL "
        "SELECT 'NOT-HERE-YET') r(ref)",
        # the accounts before this batch were planned when they came
        "UPDATE outreach.treatments SET planned = true WHERE account_ref LIKE 'P-%' "
        "AND substr(account_ref, 3)::int > 500")
    keys = [("banco", f"P-{i}") for i in range(1, 501)] + [("banco", "NOT-HERE-YET")]
    with statements_run(outreach.platform.db, "UPDATE outreach.treatments") as seen:
        async with outreach.platform.db.transaction() as s:
            planned = await planning.plan_pending(s, keys)
    assert sorted(p.account_ref for p in planned) == sorted(f"P-{i}" for i in range(1, 501))
    assert await outreach.sql("SELECT account_ref, planned FROM outreach.treatments WHERE NOT planned") == [
        ("NOT-HERE-YET", False)]
    [(statement, parameters)] = seen
    plan = await plan_of(outreach.platform.db, statement, parameters)
    assert not read_whole(plan) & {"accounts", "treatments"}, plan


async def test_keeping_a_batch_of_treatments_asks_whether_each_account_is_known_by_its_key(outreach: Outreach) -> None:
    """A treatment kept for an account known here is marked planned as it is kept, and read to plan (#24: not
    written again for the flag); one whose account has not come stays to plan. Whether each account is known is
    asked by its key: the planner hashed the whole table for every batch to ask it otherwise."""
    await run(
        outreach,
        "INSERT INTO outreach.accounts (client_slug, account_ref, debtor_id, phones, balance, currency, "
        "authorised_channels, updated_at) SELECT 'banco', 'K-' || i, 'D' || i, ARRAY['+57300' || "
        "lpad(i::text, 7, '0')], 1000, 'COP', ARRAY['sms'], now() FROM generate_series(1, 30000) i",
        "ANALYZE outreach.accounts")
    refs = [f"K-{i}" for i in range(1, 501)] + ["NOT-HERE-YET"]
    at = dt.datetime(2026, 4, 1, 15, tzinfo=dt.UTC)
    with statements_run(outreach.platform.db, "INSERT INTO outreach.treatments") as seen:
        async with outreach.platform.db.transaction() as s:
            saved = await planning.save_treatments(s, [planning.Treatment(
                "banco", ref, uuid.uuid4(), "31-60/high", "digital", ("sms",), 3, None, None, Decimal(100),
                Decimal("0.4"), 45, "champion", at) for ref in refs])
            to_plan = await planning.plan_pending(s, [k for k, kept in saved.items() if kept.planned], marked=True)
    assert {ref for (_, ref), kept in saved.items() if kept.planned} == set(refs[:-1])
    assert sorted(p.account_ref for p in to_plan) == sorted(refs[:-1])
    assert await outreach.sql("SELECT account_ref, planned FROM outreach.treatments WHERE NOT planned") == [
        ("NOT-HERE-YET", False)]
    [(statement, parameters)] = seen
    plan = await plan_of(outreach.platform.db, statement, parameters)
    assert "accounts" not in read_whole(plan), plan
