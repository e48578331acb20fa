"""The learned propensity: a logistic regression trained on the platform's own outcomes (paid within 30 days
of segmentation), stored as plain coefficients so that scoring needs no machine-learning library."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from pydantic import TypeAdapter

FEATURES = ("days_past_due", "log_balance", "contactable")
HORIZON_DAYS = 30


@dataclass(frozen=True)
class Sample:
    days_past_due: int
    balance: Decimal
    contactable: bool
    paid_within_horizon: bool


def features(days_past_due: int, balance: Decimal, contactable: bool) -> list[float]:
    return [float(days_past_due), math.log1p(max(float(balance), 0.0)), 1.0 if contactable else 0.0]


@dataclass(frozen=True)
class Model:
    """p = sigmoid(intercept + sum(coef_i * (x_i - mean_i) / scale_i))."""

    version: str
    intercept: float
    coefficients: tuple[float, ...]
    means: tuple[float, ...]
    scales: tuple[float, ...]
    holdout_auc: float
    brier: float
    calibration: tuple[tuple[float, float, int], ...]  # (mean predicted, observed rate, count) per decile
    samples: int

    def predict(self, days_past_due: int, balance: Decimal, contactable: bool) -> Decimal:
        x = features(days_past_due, balance, contactable)
        z = self.intercept + sum(c * (v - m) / s for c, v, m, s in zip(self.coefficients, x, self.means, self.scales,
                                                                        strict=True))
        p = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
        return Decimal(str(round(min(0.99, max(0.01, p)), 4)))

    def reasons(self) -> tuple[str, ...]:
        return tuple(f"{name} weight {c:+.2f}" for name, c in zip(FEATURES, self.coefficients, strict=True))


class NotEnoughDataError(Exception):
    pass


def train(samples: Sequence[Sample], *, version: str, seed: int = 7, min_samples: int = 200) -> Model:
    """Fits on 75 % of the samples and reports AUC, Brier score and decile calibration on the other 25 %."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import brier_score_loss, roc_auc_score
    from sklearn.model_selection import train_test_split

    labels = [s.paid_within_horizon for s in samples]
    if len(samples) < min_samples or len(set(labels)) < 2:
        raise NotEnoughDataError(f"{len(samples)} outcomes ({sum(labels)} paid): need {min_samples} with both kinds")
    x = np.array([features(s.days_past_due, s.balance, s.contactable) for s in samples])
    y = np.array(labels, dtype=int)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=seed, stratify=y)
    means, scales = x_train.mean(axis=0), x_train.std(axis=0)
    scales[scales == 0] = 1.0
    fitted = LogisticRegression(C=1.0, max_iter=1000).fit((x_train - means) / scales, y_train)
    predicted = fitted.predict_proba((x_test - means) / scales)[:, 1]
    order = np.argsort(predicted)
    deciles = [order[i * len(order) // 10:(i + 1) * len(order) // 10] for i in range(10)]
    calibration = tuple((float(predicted[d].mean()), float(y_test[d].mean()), len(d)) for d in deciles if len(d))
    return Model(version=version, intercept=float(fitted.intercept_[0]),
                 coefficients=tuple(float(c) for c in fitted.coef_[0]), means=tuple(float(m) for m in means),
                 scales=tuple(float(s) for s in scales), holdout_auc=float(roc_auc_score(y_test, predicted)),
                 brier=float(brier_score_loss(y_test, predicted)), calibration=calibration, samples=len(samples))


_MODEL = TypeAdapter(Model)


def model_to_json(model: Model) -> str:
    """The model as stored: its coefficients and holdout measures, as JSON text."""
    return _MODEL.dump_json(model).decode()


def model_from_json(body: str | bytes) -> Model:
    """A stored model, checked field by field (a body missing one is refused, not half-read)."""
    return _MODEL.validate_json(body)

