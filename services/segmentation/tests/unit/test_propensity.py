"""The learned propensity: trained on simulated outcomes from the demo world's hidden ground truth, it reaches
a holdout AUC of at least 0.70 and ranks accounts differently from the scorecard where the data says so."""

import json
import random
from decimal import Decimal

import pytest

from recaudo.demo import ground_truth_propensity
from segmentation.domain.propensity import Sample, model_from_json, model_to_json, train
from segmentation.domain.treatment import scorecard

pytestmark = pytest.mark.unit


def simulate(n: int, seed: int) -> list[Sample]:
    rnd = random.Random(seed)
    samples = []
    for _ in range(n):
        dpd = rnd.choice([rnd.randint(-10, 0), rnd.randint(1, 30), rnd.randint(31, 90), rnd.randint(91, 180),
                          rnd.randint(181, 720)])
        balance = Decimal(rnd.randint(50_000, 20_000_000))
        contactable = rnd.random() < 0.8
        paid = rnd.random() < ground_truth_propensity(dpd, balance, contactable)
        samples.append(Sample(dpd, balance, contactable, paid))
    return samples


def test_training_on_simulated_outcomes_reaches_the_auc_target() -> None:
    model = train(simulate(4000, seed=1), version="test-1")
    assert model.holdout_auc >= 0.70
    assert 0 < model.brier < 0.25
    assert len(model.calibration) == 10
    # Calibrated: in every decile the mean prediction is within 0.15 of the observed rate.
    assert all(abs(predicted - observed) < 0.15 for predicted, observed, _ in model.calibration)
    assert model_from_json(model_to_json(model)) == model


def test_the_learned_model_ranks_large_balances_up_where_the_scorecard_ranks_them_down() -> None:
    model = train(simulate(4000, seed=2), version="test-2")
    small, large = Decimal("200000"), Decimal("15000000")
    scorecard_small = scorecard(days_past_due=45, balance=small, contactable=True).propensity
    scorecard_large = scorecard(days_past_due=45, balance=large, contactable=True).propensity
    assert scorecard_large < scorecard_small  # the cold-start rule penalises large balances
    assert model.predict(45, large, True) > model.predict(45, small, True)  # the outcomes say they pay more
    assert ground_truth_propensity(45, large, True) > ground_truth_propensity(45, small, True)
    assert model.predict(400, small, False) < model.predict(5, small, True)  # and still: older, unreachable pay less


def test_too_few_outcomes_refuse_to_train() -> None:
    from segmentation.domain.propensity import NotEnoughDataError

    with pytest.raises(NotEnoughDataError):
        train(simulate(50, seed=3), version="x")


def test_a_stored_model_missing_a_field_is_refused_not_half_read() -> None:
    from pydantic import ValidationError

    stored = json.loads(model_to_json(train(simulate(400, seed=4), version="test-4")))
    del stored["scales"]
    with pytest.raises(ValidationError):
        model_from_json(json.dumps(stored))
