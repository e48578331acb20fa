"""The propensity model learned from an account's history: gradient boosting (scikit-learn's
HistGradientBoostingClassifier), calibrated, trained and judged on a time-based split, with its card (what it was
trained on and how well it did on the holdout) and a cheap attribution of each score to its features."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from pydantic import TypeAdapter

from segmentation.domain.history import HORIZON_DAYS, NUMERIC_FEATURES, Features, LabelledRow

FEATURES: tuple[str, ...] = (*NUMERIC_FEATURES, "product")
LABEL = f"paid in full or settled within {HORIZON_DAYS} days"
ECE_BINS = 10  # expected calibration error over ten equal-width bins of predicted probability
# The most frequent products get a code each (by frequency; the rest are "unknown", NaN). The codes are read as
# numbers, not as scikit-learn's categorical features: trees isolate each of a few codes in two splits, and the
# categorical encoder would bring types into the stored model (a functools.partial) that loading must not trust.
MAX_PRODUCTS = 50
MIN_ROWS = 200
TOP_CONTRIBUTIONS = 3
# The only types a stored model may contain beyond skops' own safe list (numpy arrays, sklearn estimators it
# knows): anything else in a stored artifact is refused before it is built.
TRUSTED_TYPES = ["sklearn.calibration._CalibratedClassifier", "sklearn.calibration._SigmoidCalibration",
                 "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"]


class NotEnoughHistoryError(Exception):
    pass


@dataclass(frozen=True)
class Card:
    """What a boosted model is: its version, when and on what it was trained, how it did on the holdout."""

    version: str
    trained_at: dt.datetime
    training_rows: int
    holdout_rows: int
    features: tuple[str, ...]
    holdout_auc: float
    calibration_error: float
    calibration_method: Literal["isotonic", "sigmoid"]
    competitor: str  # what it had to beat on the same holdout
    competitor_auc: float
    products: tuple[str, ...]  # the product categories, by code
    # Of each feature over the training rows; None where most rows do not know it (never paid: no days since the
    # last payment); product: its most frequent code.
    medians: tuple[float | None, ...]
    label: str = LABEL
    horizon_days: int = HORIZON_DAYS
    kind: str = "gradient_boosting"


CARD = TypeAdapter(Card)


@dataclass(frozen=True)
class Contribution:
    feature: str
    value: float
    effect: float  # predicted probability minus the one with this feature at its training median

    def words(self) -> str:
        return f"{self.feature} {self.value:g} ({self.effect:+.2f})"


class BoostedModel:
    """A card and the fitted, calibrated estimator it describes."""

    def __init__(self, card: Card, estimator: Any) -> None:
        self.card = card
        self.estimator = estimator

    def matrix(self, rows: Sequence[Features]) -> Any:
        import numpy as np

        codes = {p: float(i) for i, p in enumerate(self.card.products)}
        return np.array([[*f.vector(), codes.get(f.product or "", np.nan)] for f in rows], dtype=float)

    def predict(self, rows: Sequence[Features]) -> list[float]:
        if not rows:
            return []
        with one_thread():
            return [float(p) for p in self.estimator.predict_proba(self.matrix(rows))[:, 1]]

    def explain(self, rows: Sequence[Features]) -> list[tuple[float, tuple[Contribution, ...]]]:
        """Each row's probability and its top contributions: for each feature, the probability minus the one with
        that feature set to its training median (one batched prediction of (features + 1) × rows)."""
        import numpy as np

        if not rows:
            return []
        x = self.matrix(rows)
        k = x.shape[1]
        medians = [np.nan if m is None else m for m in self.card.medians]
        stacked = np.vstack([x] + [_with_column(x, j, medians[j]) for j in range(k)])
        with one_thread():
            p = self.estimator.predict_proba(stacked)[:, 1].reshape(k + 1, len(rows))
        result = []
        for i in range(len(rows)):
            effects = [(float(p[0, i] - p[j + 1, i]), j) for j in range(k)]
            top = sorted((e for e in effects if abs(e[0]) >= 0.005), key=lambda e: -abs(e[0]))[:TOP_CONTRIBUTIONS]
            result.append((float(p[0, i]), tuple(Contribution(self.card.features[j], _shown(x[i, j]), effect)
                                                  for effect, j in top)))
        return result


def one_thread() -> Any:
    """Fitting and predicting on one thread: the service shares its cores with the event handlers (and, on a busy
    machine, OpenMP's threads spinning against each other made training several times slower, not faster)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1)


def _with_column(x: Any, j: int, value: float) -> Any:
    copy = x.copy()
    copy[:, j] = value
    return copy


def _shown(value: float) -> float:
    return round(float(value), 2) if value == value else -1.0  # NaN (unknown) shown as -1


def auc(labels: Sequence[bool], scores: Sequence[float]) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score([int(v) for v in labels], list(scores)))


def calibration_error(labels: Sequence[bool], scores: Sequence[float], bins: int = ECE_BINS) -> float:
    """Expected calibration error: over `bins` equal-width bins of predicted probability, the row-weighted mean of
    |mean predicted − observed paid rate| (empty bins weigh nothing)."""
    total, n = 0.0, len(scores)
    for b in range(bins):
        members = [i for i, s in enumerate(scores) if min(int(s * bins), bins - 1) == b]
        if members:
            predicted = sum(scores[i] for i in members) / len(members)
            observed = sum(1 for i in members if labels[i]) / len(members)
            total += len(members) / n * abs(predicted - observed)
    return round(total, 4)


@dataclass(frozen=True)
class Trained:
    model: BoostedModel
    beats_competitor: bool


def train_boosted(rows: Sequence[LabelledRow], *, version: str, trained_at: dt.datetime, competitor: str,
                  competitor_score: Callable[[Sequence[Features]], list[float]], seed: int = 7) -> Trained:
    """Fits on the oldest 60 % of the rows (by time), calibrates on the next 15 %, and judges it and the
    competitor (the model or scorecard in use) on the newest 25 %: the future it never saw. Isotonic
    calibration when the calibration slice has 1000 rows or more (it is non-parametric and fixes any monotone
    distortion, but overfits small sets), Platt's sigmoid below that."""
    import numpy as np
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.frozen import FrozenEstimator

    labels = [r.paid for r in rows]
    if len(rows) < MIN_ROWS or len(set(labels)) < 2:
        raise NotEnoughHistoryError(f"{len(rows)} labelled rows ({sum(labels)} paid): need {MIN_ROWS} with both "
                                    "kinds")
    rows = sorted(rows, key=lambda r: r.at)
    fit_end, calibration_end = int(len(rows) * 0.60), int(len(rows) * 0.75)
    fit, calibrate, holdout = rows[:fit_end], rows[fit_end:calibration_end], rows[calibration_end:]
    if any(len({r.paid for r in part}) < 2 for part in (fit, calibrate, holdout)):
        raise NotEnoughHistoryError("the oldest, middle or newest slice of the history has only one outcome")
    products = tuple(p for p, _ in Counter(r.features.product for r in fit if r.features.product)
                     .most_common(MAX_PRODUCTS))
    draft = BoostedModel(_card(version, trained_at, fit, holdout, products, (), "sigmoid", competitor, 0.0, 0.0,
                               0.0), None)
    x_fit = draft.matrix([r.features for r in fit])
    booster = HistGradientBoostingClassifier(
        max_iter=150, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=20, l2_regularization=1.0,
        early_stopping=False, random_state=seed)
    method: Literal["isotonic", "sigmoid"] = "isotonic" if len(calibrate) >= 1000 else "sigmoid"
    calibrated = CalibratedClassifierCV(FrozenEstimator(booster), method=method)
    with one_thread():
        booster.fit(x_fit, np.array([int(r.paid) for r in fit]))
        calibrated.fit(draft.matrix([r.features for r in calibrate]), np.array([int(r.paid) for r in calibrate]))
    medians = tuple(None if np.isnan(x_fit[:, j]).mean() >= 0.5 else float(np.nanmedian(x_fit[:, j]))
                    for j in range(len(NUMERIC_FEATURES)))
    product_mode: tuple[float | None, ...] = (0.0,) if products else (None,)
    holdout_features, holdout_labels = [r.features for r in holdout], [r.paid for r in holdout]
    scored = BoostedModel(draft.card, calibrated).predict(holdout_features)
    theirs = auc(holdout_labels, competitor_score(holdout_features))
    ours = auc(holdout_labels, scored)
    card = _card(version, trained_at, fit, holdout, products, medians + product_mode, method, competitor, theirs,
                 ours, calibration_error(holdout_labels, scored))
    return Trained(BoostedModel(card, calibrated), ours > theirs)


def _card(version: str, trained_at: dt.datetime, fit: Sequence[LabelledRow], holdout: Sequence[LabelledRow],
          products: tuple[str, ...], medians: tuple[float | None, ...], method: Literal["isotonic", "sigmoid"],
          competitor: str, competitor_auc: float, holdout_auc: float, ece: float) -> Card:
    return Card(version=version, trained_at=trained_at, training_rows=len(fit), holdout_rows=len(holdout),
                features=FEATURES, holdout_auc=round(holdout_auc, 4), calibration_error=ece,
                calibration_method=method, competitor=competitor, competitor_auc=round(competitor_auc, 4),
                products=products, medians=medians)


def dump(model: BoostedModel) -> tuple[str, bytes]:
    """The card as JSON and the estimator in skops' format (no pickle: loading builds only known types)."""
    import skops.io as sio

    return CARD.dump_json(model.card).decode(), bytes(sio.dumps(model.estimator))


def load(card: str | bytes, artifact: bytes) -> BoostedModel:
    """A stored model. skops refuses (UntrustedTypesFoundException) any type outside its safe list and
    TRUSTED_TYPES, so even a tampered row cannot run code when it is loaded."""
    import skops.io as sio

    return BoostedModel(CARD.validate_json(card), sio.loads(artifact, trusted=TRUSTED_TYPES))


def scorecard_scores(rows: Sequence[Features]) -> list[float]:
    """The cold-start scorecard's probabilities, to judge a first model against it on the same holdout."""
    from segmentation.domain.treatment import scorecard

    return [float(scorecard(days_past_due=f.days_past_due, balance=f.balance, contactable=f.contactable).propensity)
            for f in rows]


def as_probability(p: float) -> Decimal:
    return Decimal(str(round(min(0.99, max(0.01, p)), 4)))
