"""The propensity model learned from the platform's own outcomes, end to end through PostgreSQL: placements
segmented with the scorecard, payments observed, a scheduled retrain, and re-segmentation with the model."""

import datetime as dt
import random
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import text

from recaudo.demo import ground_truth_propensity
from recaudo_common.events import AccountPlaced, PaymentApplied
from recaudo_common.runtime import Platform
from segmentation.handlers import resegment_requested, retrain_due_models

from .test_aging import CLIENT, deliver

pytestmark = pytest.mark.integration
DAY0 = dt.datetime(2026, 1, 5, 15, 0, tzinfo=dt.UTC)


async def test_retrain_on_observed_outcomes_then_segment_with_the_model(platform: Platform) -> None:
    rnd = random.Random(11)
    accounts = []
    for i in range(600):
        dpd, balance = rnd.randint(0, 400), Decimal(rnd.randint(100_000, 20_000_000))
        accounts.append(AccountPlaced(account_ref=f"M-{i}", portfolio_id=uuid.uuid4(), debtor_ref=None, personal=None, has_phone=True, has_email=False,
                                      balance=balance, currency="COP", days_past_due=dpd, as_of=DAY0.date(),
                                      authorised_channels=["sms"]))
    await deliver(platform, [CLIENT, *accounts], DAY0)
    assert await retrain_due_models(platform.db, now=DAY0) == {}  # no outcomes old enough yet
    payers = [a for a in accounts if rnd.random() < ground_truth_propensity(a.days_past_due, a.balance, True)]
    paid_day = DAY0 + dt.timedelta(days=5)
    await deliver(platform, [PaymentApplied(payment_id=uuid.uuid4(), account_ref=a.account_ref, amount=Decimal(1000),
                                            currency="COP", paid_at=paid_day, source="manual",
                                            new_balance=a.balance - 1000, account_status="open") for a in payers],
                  paid_day)
    later = DAY0 + dt.timedelta(days=40)
    # Payments were seen but none is older than the horizon at DAY0 + 6: too few outcomes, tried again next day.
    not_before: dict[str, dt.datetime] = {}
    assert await retrain_due_models(platform.db, now=paid_day + dt.timedelta(days=1), not_before=not_before) == {}
    assert not_before == {"banco": paid_day + dt.timedelta(days=2)}
    assert await retrain_due_models(platform.db, now=later, not_before={"banco": later + dt.timedelta(hours=1)}) == {}
    trained = await retrain_due_models(platform.db, now=later, not_before=not_before)
    assert not_before == {}
    assert list(trained) == ["banco"]
    async with platform.db.transaction() as s:
        auc = await s.scalar(text("SELECT holdout_auc FROM segmentation.models WHERE client_slug = 'banco'"))
    assert auc >= Decimal("0.70")
    assert await retrain_due_models(platform.db, now=later + dt.timedelta(days=1)) == {}  # weekly, not daily
    assert await resegment_requested(platform.db, now=later) == {"banco": 600}
    async with platform.db.transaction() as s:
        versions = dict((await s.execute(text(
            "SELECT inputs->>'model_version', count(*) FROM segmentation.assignments WHERE trigger = "
            "'strategy_change' GROUP BY 1"))).all())
        why = await s.scalar(text("SELECT why FROM segmentation.assignments WHERE trigger = 'strategy_change' LIMIT 1"))
    assert list(versions) == [trained["banco"]] and versions[trained["banco"]] == 600
    assert "holdout AUC" in why and "log_balance weight +" in why
