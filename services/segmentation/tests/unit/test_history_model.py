"""The history the propensity model reads: features that never see the future, the "paid" label (a partial
payment is not paid), the four indicators, and the planted-effect test: on a synthetic history where payment
history predicts payment, the boosted model beats the three-feature model on the same time-based holdout, with its
calibration error reported."""

import datetime as dt
from decimal import Decimal

import pytest

from segmentation.domain.boosting import (
    BoostedModel,
    NotEnoughHistoryError,
    calibration_error,
    dump,
    load,
    train_boosted,
)
from segmentation.domain.history import (
    AccountHistory,
    Fact,
    Features,
    Standing,
    features_at,
    indicators_of,
    paid_within,
    training_rows,
)
from segmentation.domain.propensity import Sample, train

from ..synthetic_history import START, debtors, history_of

pytestmark = pytest.mark.unit
T0 = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)


def account(*facts: Fact) -> AccountHistory:
    return AccountHistory("A-1", "tarjeta", (Standing(T0, 40, Decimal("1000000"), True),), tuple(facts))


def day(n: int) -> dt.datetime:
    return T0 + dt.timedelta(days=n)


def test_features_at_an_instant_ignore_everything_after_it() -> None:
    past = (Fact(day(5), "payment", amount=Decimal("100000")), Fact(day(6), "promise_kept"),
            Fact(day(7), "delivered", "sms"))
    future = (Fact(day(11), "payment", amount=Decimal("900000"), closes=True), Fact(day(12), "promise_broken"),
              Fact(day(12), "opted_out", "all"), Fact(day(13), "failed", "sms"))
    with_future = features_at(account(*past, *future), day(10))
    assert with_future == features_at(account(*past), day(10))
    assert with_future is not None
    assert (with_future.payments_30d, with_future.promises_kept, with_future.promises_broken) == (1, 1, 0)
    assert with_future.balance == Decimal("900000") and with_future.days_past_due == 50
    assert not with_future.opted_out and with_future.delivered_90d[0] == 1 and sum(with_future.failed_90d) == 0
    assert features_at(account(*past), day(-1)) is None  # before its first assignment nothing is known


def test_a_promise_kept_after_all_is_broken_until_then_and_kept_from_then() -> None:
    # A settlement broken at its deadline (day 3), then kept when the statement showing its payment in time is read
    # (day 8): features before day 8 see it broken, from day 8 kept, never both. Another promise broken stays broken,
    # and a broken fact recorded before promises carried their id here (no detail) stays as it was.
    settlement, other = "6f1c1a0e-6c57-4b5e-9a51-1f2d3c4b5a69", "0b8f2f5e-1d2c-4e3b-8a7f-6e5d4c3b2a19"
    history = account(Fact(day(1), "promise_made", detail="agent"), Fact(day(3), "promise_broken", detail=settlement),
                      Fact(day(4), "promise_broken", detail=other), Fact(day(5), "promise_broken"),
                      Fact(day(8), "promise_kept", detail=settlement))
    before, after = features_at(history, day(6)), features_at(history, day(9))
    assert before is not None and after is not None
    assert (before.promises_kept, before.promises_broken) == (0, 3)
    assert (after.promises_kept, after.promises_broken) == (1, 2)


def test_a_promise_reopened_is_kept_until_then_and_judged_by_its_next_verdict() -> None:
    # Payments took back money that kept them: one reopened on day 4 and kept again on day 6, one reopened on day 4
    # and broken by the evaluator on day 7, one broken at once on day 5 (taken back after its grace day). Each counts
    # by its last word up to the instant: kept until it is reopened, neither while pending, never both.
    again, short, late = ("6f1c1a0e-6c57-4b5e-9a51-1f2d3c4b5a69", "0b8f2f5e-1d2c-4e3b-8a7f-6e5d4c3b2a19",
                          "9d3e1c2b-4a5f-4e6d-8c7b-1a2b3c4d5e6f")
    history = account(*(Fact(day(2), "promise_kept", detail=p) for p in (again, short, late)),
                      Fact(day(4), "promise_reopened", detail=again), Fact(day(4), "promise_reopened", detail=short),
                      Fact(day(5), "promise_broken", detail=late), Fact(day(6), "promise_kept", detail=again),
                      Fact(day(7), "promise_broken", detail=short))
    counts = [features_at(history, day(d) + dt.timedelta(hours=12)) for d in (3, 4, 5, 6, 8)]
    assert [(f.promises_kept, f.promises_broken) for f in counts if f is not None] == [
        (3, 0), (1, 0), (0, 1), (1, 1), (1, 2)]


def test_windows_count_only_their_days() -> None:
    f = features_at(account(Fact(day(1), "payment", amount=Decimal(10)), Fact(day(70), "payment", amount=Decimal(10))),
                    day(105))
    assert f is not None and (f.payments_30d, f.payments_90d, f.days_since_last_payment) == (0, 1, 35)


def test_paid_means_in_full_or_settled_within_the_horizon_and_a_partial_payment_is_not() -> None:
    partial = account(Fact(day(3), "payment", amount=Decimal(500)))
    assert not paid_within(partial, day(0))
    f = features_at(partial, day(4))
    assert f is not None and f.partial_payments_90d == 1  # partial payment is a signal of its own
    assert paid_within(account(Fact(day(29), "settled", closes=True)), day(0))
    assert not paid_within(account(Fact(day(31), "payment", amount=Decimal(1000000), closes=True)), day(0))
    assert not paid_within(account(Fact(day(0), "payment", amount=Decimal(1000000), closes=True)), day(0))


def test_training_rows_stop_when_the_account_closes_and_where_labels_are_not_known_yet() -> None:
    closed = account(Fact(day(45), "payment", amount=Decimal(1000000), closes=True))
    rows = training_rows([closed], cutoff=day(400))
    assert [(r.at, r.paid) for r in rows] == [(day(0), False), (day(30), True)]
    assert [r.at for r in training_rows([account()], cutoff=day(65))] == [day(0), day(30)]


def features(**changes: object) -> Features:
    base = features_at(account(), day(0))
    assert base is not None
    return Features(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def test_indicators_follow_their_formulas() -> None:
    quiet = indicators_of(features())
    assert quiet.capacity.level == "low" and quiet.willingness.level == "medium" and quiet.trust.level == "medium"
    assert quiet.contactability.value == 0.5
    good = indicators_of(features(largest_payment_180d=Decimal(600000), payments_90d=3, promises_kept=2,
                                  delivered_90d=(4, 0, 0, 0, 0, 0)))
    assert (good.capacity.level, good.willingness.level, good.contactability.level, good.trust.level) == \
        ("high", "high", "high", "high")
    assert good.willingness.value == round(6 / 7, 4)
    bad = indicators_of(features(promises_broken=3, refused_90d=1, reversals_180d=1, opted_out=True))
    assert (bad.willingness.level, bad.contactability.value, bad.trust.level) == ("low", 0.0, "low")
    assert "willingness low (0.17)" in bad.words() and "trust low (0.14)" in bad.words()  # 1/6, 1/7


def test_the_boosted_model_beats_the_three_feature_model_on_a_planted_history() -> None:
    histories = [history_of(d) for d in debtors(1000, seed=3)]
    rows = training_rows(histories, cutoff=START + dt.timedelta(days=330))
    assert 3000 < len(rows) < 9000
    # The three-feature logistic regression of before, trained on the same oldest 60 % and judged on the same newest
    # 25 % (by time) as the boosted model.
    fit = sorted(rows, key=lambda r: r.at)[:int(len(rows) * 0.6)]
    three = train([Sample(r.features.days_past_due, r.features.balance, r.features.contactable, r.paid) for r in fit],
                  version="logreg")
    trained = train_boosted(rows, version="gbm-test", trained_at=START, competitor="logreg",
                            competitor_score=lambda fs: [float(three.predict(f.days_past_due, f.balance,
                                                                             f.contactable)) for f in fs])
    card = trained.model.card
    assert trained.beats_competitor and card.holdout_auc > card.competitor_auc + 0.05, card
    assert card.holdout_auc > 0.65
    assert 0 <= card.calibration_error < 0.08
    assert card.calibration_method == "isotonic" and set(card.products) == {"tarjeta", "libranza", "consumo"}
    # Stored and loaded (skops, no pickle), it predicts the same, and each score says what drove it.
    restored = load(*dump(trained.model))
    sample = [r.features for r in rows[-20:]]
    assert restored.predict(sample) == trained.model.predict(sample)
    explained = restored.explain(sample)
    assert all(len(top) <= 3 for _, top in explained)
    assert any(c.feature in {"payments_90d", "payments_30d", "partial_payments_90d", "paid_share_90d",
                             "days_since_last_payment", "promises_kept"} for _, top in explained for c in top)


def test_a_history_too_short_refuses_to_train() -> None:
    rows = training_rows([history_of(d) for d in debtors(20, seed=4)], cutoff=START + dt.timedelta(days=330))
    with pytest.raises(NotEnoughHistoryError):
        train_boosted(rows, version="x", trained_at=START, competitor="scorecard",
                      competitor_score=lambda fs: [0.5] * len(fs))


def test_a_stored_model_with_a_type_outside_the_allowlist_is_refused() -> None:
    import skops.io as sio
    from skops.io.exceptions import UntrustedTypesFoundException

    card_json, _ = dump(BoostedModel(_tiny_card(), None))
    with pytest.raises(UntrustedTypesFoundException):
        load(card_json, sio.dumps(Decimal("1")))  # not a type a model holds: never built


def _tiny_card():  # type: ignore[no-untyped-def]
    from segmentation.domain.boosting import Card

    return Card("v", START, 1, 1, ("a",), 0.5, 0.0, "sigmoid", "scorecard", 0.5, (), (None,))


def test_calibration_error_is_the_weighted_gap_per_bin() -> None:
    assert calibration_error([True, False], [0.5, 0.5]) == 0.0
    assert calibration_error([True, True, False, False], [0.95, 0.95, 0.05, 0.05]) == pytest.approx(0.05)


def test_a_strategy_rule_may_require_indicator_levels_and_old_strategies_keep_working() -> None:
    from segmentation.domain.assignment import assign
    from segmentation.domain.buckets import DEFAULT_BUCKETS
    from segmentation.domain.history import Indicator, Indicators
    from segmentation.domain.strategy import Rule, Strategy, default_strategy, full_costs, strategy_errors
    from segmentation.domain.treatment import Score, Treatment
    from segmentation.schemas import StrategyIn, document_of, strategy_of

    base = default_strategy()
    soft = Rule("31-60", "high", Treatment("soft_reminder", ("sms",), 1), 7, when=(("willingness", "high"),))
    strategy = Strategy(1, (soft, *base.rules))
    assert strategy_errors(strategy, DEFAULT_BUCKETS) == []

    def level(willingness: str) -> Indicators:
        return Indicators(Indicator(0.5, "medium"), Indicator(0.8 if willingness == "high" else 0.5,
                                                              willingness),  # type: ignore[arg-type]
                          Indicator(0.5, "medium"), Indicator(0.5, "medium"))

    score = Score(Decimal("0.5"), ("test",))
    willing = assign(bucket="31-60", balance=Decimal(10_000_000), score=score, strategy=strategy,
                     costs=full_costs(None), indicators=level("high"))
    assert willing.treatment.name == "soft_reminder" and "rule when willingness high" in willing.why
    assert "indicators: capacity medium (0.50), willingness high (0.80)" in willing.why
    other = assign(bucket="31-60", balance=Decimal(10_000_000), score=score, strategy=strategy,
                   costs=full_costs(None), indicators=level("medium"))
    unmeasured = assign(bucket="31-60", balance=Decimal(10_000_000), score=score, strategy=strategy,
                        costs=full_costs(None))
    assert other.treatment == unmeasured.treatment == base.rule("31-60", "high").treatment  # type: ignore[union-attr]
    # A stored document from before conditions reads as before; a rule with conditions round-trips.
    old = document_of(base).model_dump(mode="json")
    for rule in old["rules"]:
        del rule["when"]
    assert strategy_of(StrategyIn.model_validate(old), 0) == Strategy(0, base.rules)
    assert strategy_of(document_of(strategy), 1) == strategy
    # Conditions never stand in for the cell's rule, and they are checked.
    only_conditions = Strategy(2, tuple(r for r in strategy.rules if not (r.bucket == "31-60" and r.tier == "high"
                                                                          and not r.when)))
    assert "no rule for bucket '31-60' and tier 'high'" in strategy_errors(only_conditions, DEFAULT_BUCKETS)
    wrong = Rule("31-60", "high", Treatment("x", ("sms",), 1), when=(("mood", "high"),))
    assert any("unknown condition mood='high'" in e for e in strategy_errors(Strategy(3, (wrong, *base.rules)),
                                                                              DEFAULT_BUCKETS))
    twice = strategy_errors(Strategy(4, (soft, soft, *base.rules)), DEFAULT_BUCKETS)
    assert any("two rules with the same conditions" in e for e in twice)


def test_the_card_describes_the_scorecard_before_any_training_and_a_regression_of_before() -> None:
    from segmentation.domain.propensity import model_to_json
    from segmentation.domain.propensity import train as train_logistic
    from segmentation.model_api import card_of
    from segmentation.model_store import StoredModel

    scorecard = card_of(None)
    assert (scorecard.kind, scorecard.version, scorecard.training_rows, scorecard.holdout_auc) == \
        ("scorecard", "scorecard-v1", 0, None)
    assert [(w.feature, w.weight) for w in scorecard.weights][:2] == [("days_past_due", 30), ("days_past_due", 20)]
    rows = training_rows([history_of(d) for d in debtors(300, seed=6)], cutoff=START + dt.timedelta(days=330))
    legacy = train_logistic([Sample(r.features.days_past_due, r.features.balance, r.features.contactable, r.paid)
                             for r in rows], version="logreg-1")
    card = card_of(StoredModel("logistic_regression", "logreg-1", START, model_to_json(legacy), None))
    assert card.kind == "logistic_regression" and card.features == ["days_past_due", "log_balance", "contactable"]
    assert card.holdout_auc == legacy.holdout_auc and card.calibration_error is not None
    assert card.calibration_bins == 10 and len(card.weights) == 3
