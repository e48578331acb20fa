"""A model's promotion on a real PostgreSQL: it writes no account (marking every scorable account unmeasured in the
promotion's transaction locked and rewrote a million rows at 1,000,000 accounts, while the client company's event
handlers waited on them), and the scoring passes after it still measure every scorable account again with the new
model, the never-measured first, an account a pass held during the promotion included; the pass reads the accounts
measured under an older promotion from an index; migration 0021 numbers the models promoted before it and leaves
every measure kept so far standing."""

import asyncio
import dataclasses
import datetime as dt
import uuid
from collections.abc import Sequence
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from recaudo_common.events import ContactDelivered
from recaudo_common.migrate import upgrade_async, upgrade_platform
from recaudo_common.runtime import Platform, make_platform
from recaudo_common.testing import (
    REPOSITORY_ROOT,
    create_database,
    drop_database,
    plan_of,
    settings_for_test,
    statements_run,
)
from segmentation import model_store
from segmentation.domain.boosting import BoostedModel, scorecard_scores, train_boosted
from segmentation.domain.history import AccountHistory, training_rows
from segmentation.modelling import score_due_accounts

from ..synthetic_history import START, Debtor, debtors, history_of
from .test_aging import CLIENT, deliver
from .test_model import placement

pytestmark = pytest.mark.integration
MEASURED_AT = START + dt.timedelta(days=1)


@pytest.fixture(scope="module")
def models() -> tuple[BoostedModel, BoostedModel]:
    """One model trained on a synthetic history, as two versions: the one in use and the one promoted over it."""
    rows = training_rows([history_of(d) for d in debtors(300, seed=5)], cutoff=START + dt.timedelta(days=330))
    trained = train_boosted(rows, version="gbm-old", trained_at=START, competitor="scorecard",
                            competitor_score=scorecard_scores).model
    new_card = dataclasses.replace(trained.card, version="gbm-new", trained_at=START + dt.timedelta(days=1))
    return trained, BoostedModel(new_card, trained.estimator)


def placed(prefix: str, n: int, at: dt.datetime) -> list[Debtor]:
    return [Debtor(f"{prefix}-{i:03d}", at, 45, Decimal(100_000), True, "tarjeta", ()) for i in range(n)]


async def promote(platform: Platform, model: BoostedModel) -> None:
    async with platform.db.transaction() as s:
        await model_store.save_boosted(s, "banco", model, promoted=True)


async def measure_all(platform: Platform, now: dt.datetime, chunk: int = 500) -> list[dict[str, int]]:
    """The scoring passes until one finds nothing due; what each measured."""
    passes = []
    while measured := await score_due_accounts(platform.db, now=now, chunk=chunk):
        passes.append(measured)
        assert len(passes) < 50, "the passes never ran out of due accounts"
    return passes


async def measured_with(platform: Platform) -> dict[str, str | None]:
    """Each account's model, as its latest measure says (None: never measured)."""
    async with platform.db.transaction() as s:
        rows = await s.execute(text(
            "SELECT account_ref, CAST(scoring AS jsonb)->>'model_version' FROM segmentation.accounts"))
        return dict(rows.all())


async def row_versions(platform: Platform) -> dict[str, str]:
    """Each account row's xmin: the transaction that last wrote it."""
    async with platform.db.transaction() as s:
        rows = await s.execute(text("SELECT account_ref, CAST(xmin AS text) FROM segmentation.accounts"))
        return dict(rows.all())


async def test_a_promotion_writes_no_account_and_the_passes_measure_every_one_again_the_unmeasured_first(
        platform: Platform, models: tuple[BoostedModel, BoostedModel]) -> None:
    old, new = models
    await deliver(platform, [CLIENT, *(placement(d) for d in placed("M", 60, START))], START)
    await promote(platform, old)
    await measure_all(platform, MEASURED_AT)
    assert set((await measured_with(platform)).values()) == {"gbm-old"}

    before = await row_versions(platform)
    with statements_run(platform.db, "segmentation.accounts") as touched:
        await promote(platform, new)
    assert touched == [] and await row_versions(platform) == before  # no account read, locked or written

    # Since the promotion: five new accounts, and one the client company's events touched (a new fact). Their refs
    # sort after the others', so only "the never measured first" takes them first.
    later = MEASURED_AT + dt.timedelta(minutes=30)
    await deliver(platform, [*(placement(d) for d in placed("Z", 5, later)),
                             ContactDelivered(attempt_id=uuid.uuid4(), account_ref="M-059", channel="sms",
                                              delivered_at=later)], later)
    now = MEASURED_AT + dt.timedelta(hours=1)  # nothing measured a day ago or more: due only for the promotion
    assert await score_due_accounts(platform.db, now=now, chunk=10) == {"banco": 10}
    first = {ref for ref, version in (await measured_with(platform)).items() if version == "gbm-new"}
    assert first == {"Z-000", "Z-001", "Z-002", "Z-003", "Z-004", "M-059", "M-000", "M-001", "M-002", "M-003"}

    passes = await measure_all(platform, now, chunk=10)
    assert sum(p["banco"] for p in passes) == 65 - 10  # each account once, none twice
    assert set((await measured_with(platform)).values()) == {"gbm-new"}
    async with platform.db.transaction() as s:
        current = await model_store.current_model(s, "banco")
        promotions = set(await s.scalars(text("SELECT DISTINCT scored_promotion FROM segmentation.accounts")))
    assert current is not None and current.version == "gbm-new" and promotions == {current.promotion}


async def test_an_account_a_pass_holds_during_the_promotion_is_measured_again_with_the_new_model(
        platform: Platform, models: tuple[BoostedModel, BoostedModel], monkeypatch: pytest.MonkeyPatch) -> None:
    """A pass that locked its accounts and read the model in use before the promotion measures them with that
    model and commits after it: the promotion does not wait for it, and the next passes measure them again."""
    old, new = models
    await deliver(platform, [CLIENT, *(placement(d) for d in placed("H", 30, START))], START)
    await promote(platform, old)
    await measure_all(platform, MEASURED_AT)

    holding, release = asyncio.Event(), asyncio.Event()
    histories = model_store.histories

    async def read_after_a_pause(s: AsyncSession, client: str, refs: Sequence[str] | None = None
                                 ) -> list[AccountHistory]:
        if not holding.is_set():  # the first pass only: its accounts locked, the model in use read
            holding.set()
            await release.wait()
        return await histories(s, client, refs)

    monkeypatch.setattr(model_store, "histories", read_after_a_pause)
    stale = MEASURED_AT + dt.timedelta(days=2)  # every account due again: the pass takes the first ten
    held_pass = asyncio.create_task(score_due_accounts(platform.db, now=stale, chunk=10))
    try:
        await asyncio.wait_for(holding.wait(), timeout=30)
        # The promotion commits while the pass holds its ten accounts (it waited on them, and they on it, before).
        await asyncio.wait_for(promote(platform, new), timeout=10)
    finally:
        release.set()
    assert await held_pass == {"banco": 10}
    async with platform.db.transaction() as s:
        held: dict[str, str | None] = dict((await s.execute(text(
            "SELECT account_ref, CAST(scoring AS jsonb)->>'model_version' FROM segmentation.accounts "
            "WHERE scored_at = :t"), {"t": stale})).all())
    assert len(held) == 10 and set(held.values()) == {"gbm-old"}  # measured by the held pass, with the model it read

    assert sum(p["banco"] for p in await measure_all(platform, stale, chunk=10)) == 30
    assert set((await measured_with(platform)).values()) == {"gbm-new"}


async def test_the_pass_reads_the_accounts_measured_under_an_older_promotion_from_an_index(
        platform: Platform, models: tuple[BoostedModel, BoostedModel]) -> None:
    """At 100,000 measured accounts, a promotion since: the pass's statement for them walks
    accounts_scoring_promotion in its order and stops at the 500th, no sequential scan, no sort."""
    _, new = models
    await deliver(platform, [CLIENT], START)
    async with platform.db.transaction() as s:
        await s.execute(text(
            """INSERT INTO segmentation.accounts (client_slug, account_ref, balance, days_past_due_at_as_of, as_of,
                   contactable, updated_at, bucket, scored_at, status)
               SELECT 'banco', 'P-' || lpad(i::text, 6, '0'), 100000, 45, DATE '2025-01-06', true, now(), '31-60',
                   TIMESTAMPTZ '2025-01-07 15:00+00', CASE WHEN i % 10 = 0 THEN 'paid' ELSE 'open' END
               FROM generate_series(1, 100000) i"""))
        await s.execute(text("ANALYZE segmentation.accounts"))
    await promote(platform, new)
    with statements_run(platform.db, "FOR UPDATE SKIP LOCKED") as seen:
        async with platform.db.transaction() as s:
            taken = await model_store.accounts_to_score(s, "banco", stale_before=MEASURED_AT, limit=500)
    assert [a.account_ref for a in taken[:2]] == ["P-000001", "P-000002"] and len(taken) == 500
    never_measured, measured_before = seen  # nothing never measured: the second statement took the 500
    plan = await plan_of(platform.db, *measured_before)
    assert '"Index Name": "accounts_scoring_promotion"' in plan, plan
    assert "Seq Scan" not in plan and '"Sort"' not in plan, plan
    assert "Seq Scan" not in await plan_of(platform.db, *never_measured)


async def test_0021_numbers_the_models_promoted_before_it_and_leaves_every_measure_standing(
        postgres_server_url: str, models: tuple[BoostedModel, BoostedModel]) -> None:
    """Before 0021 a promotion marked the accounts unmeasured, so a measured account was measured with the model in
    use: after it the same model is in use and nothing measured is due (no million accounts measured again at the
    deploy), and the next promotion makes every one due."""
    name = f"recaudo_migrate_{uuid.uuid4().hex[:8]}"
    url = await create_database(postgres_server_url, name)
    platform = make_platform(settings_for_test(url), pool_size=2)
    try:
        await upgrade_platform(url)
        migrations = REPOSITORY_ROOT / "services" / "segmentation" / "migrations"
        await upgrade_async(schema="segmentation", script_location=migrations, database_url=url, to="0020")
        async with platform.db.transaction() as s:
            await s.execute(text(
                """INSERT INTO segmentation.models (client_slug, version, body, holdout_auc, samples, trained_at, kind,
                       promoted) VALUES
                       ('banco', 'logreg-1', '{}', 0.6, 100, '2025-01-01', 'logistic_regression', true),
                       ('banco', 'gbm-a', '{}', 0.7, 100, '2025-02-01', 'gradient_boosting', true),
                       ('banco', 'gbm-b', '{}', 0.65, 100, '2025-03-01', 'gradient_boosting', false)"""))
            await s.execute(text(
                """INSERT INTO segmentation.accounts (client_slug, account_ref, balance, days_past_due_at_as_of, as_of,
                       contactable, updated_at, bucket, scored_at) VALUES
                       ('banco', 'A-1', 1000, 45, '2025-02-01', true, now(), '31-60', '2025-02-02'),
                       ('banco', 'A-2', 1000, 45, '2025-02-01', true, now(), '31-60', NULL)"""))
        await upgrade_async(schema="segmentation", script_location=migrations, database_url=url)

        stale_before = dt.datetime(2025, 2, 1, tzinfo=dt.UTC)
        async with platform.db.transaction() as s:
            numbers = dict((await s.execute(text("SELECT version, promotion FROM segmentation.models"))).all())
            current = await model_store.current_model(s, "banco")
            due = await model_store.accounts_to_score(s, "banco", stale_before=stale_before, limit=500)
        assert numbers == {"logreg-1": 0, "gbm-a": 0, "gbm-b": None}
        assert current is not None and (current.version, current.promotion) == ("gbm-a", 0)
        assert [a.account_ref for a in due] == ["A-2"]  # only the one never measured

        await promote(platform, models[1])
        async with platform.db.transaction() as s:
            current = await model_store.current_model(s, "banco")
            due = await model_store.accounts_to_score(s, "banco", stale_before=stale_before, limit=500)
        assert current is not None and current.version == "gbm-new" and current.promotion > 0
        assert [a.account_ref for a in due] == ["A-2", "A-1"]
    finally:
        await platform.db.dispose()
        await drop_database(postgres_server_url, name)
