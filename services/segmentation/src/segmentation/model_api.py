"""The propensity model's HTTP API (#22): its card (what is in use, how it was trained, how well it did on the
holdout) and training on demand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from recaudo_common.dependencies import CurrentPrincipal, PlatformDep
from recaudo_common.domain_errors import NotFound
from recaudo_common.routing import AuthorisedFirstRoute
from segmentation import model_store
from segmentation.api import ClientOfCaller, ClientOfOperator, caller_of
from segmentation.domain.boosting import ECE_BINS, LABEL
from segmentation.domain.boosting import FEATURES as BOOSTED_FEATURES
from segmentation.domain.history import HORIZON_DAYS
from segmentation.domain.propensity import FEATURES as LOGISTIC_FEATURES
from segmentation.domain.propensity import model_from_json
from segmentation.handlers import SCORECARD_VERSION
from segmentation.modelling import request_training

router = APIRouter(route_class=AuthorisedFirstRoute, prefix="/v1", tags=["model"])

# The cold-start scorecard's points (segmentation.domain.treatment.scorecard), as its card shows them.
SCORECARD_WEIGHTS = [
    ("days_past_due", "not yet due", 30), ("days_past_due", "1-30", 20), ("days_past_due", "31-90", 0),
    ("days_past_due", "91-180", -20), ("days_past_due", "over 180", -35), ("balance", "over 10,000,000", -10),
    ("contactable", "no phone or e-mail", -15)]


class Weight(BaseModel):
    feature: str
    condition: str | None = None
    weight: float = Field(description="scorecard: points on a base of 50 (÷ 100, clamped to 0.02..0.95); "
                                      "logistic regression: the standardised coefficient")


class ModelCard(BaseModel):
    """v1: the propensity model in use for a client company. Before any training: the scorecard (kind "scorecard",
    no holdout figures). `calibration_error` is the expected calibration error on the holdout over
    `calibration_bins` equal-width bins of predicted probability."""

    model_config = ConfigDict(frozen=True, json_schema_extra={"examples": [{
        "card_version": 1, "version": "gbm-20261203070437-12", "kind": "gradient_boosting",
        "trained_at": "2026-12-03T02:04:37-05:00", "training_rows": 16840, "holdout_rows": 4210,
        "features": list(BOOSTED_FEATURES),
        "holdout_auc": 0.7412, "calibration_error": 0.0187, "calibration_bins": 10, "calibration_method": "isotonic",
        "competitor": "gbm-20261102020000-11", "competitor_auc": 0.7286}]})
    card_version: int = 1
    version: str
    kind: str = Field(description="scorecard, logistic_regression (before #22) or gradient_boosting")
    trained_at: dt.datetime | None
    training_rows: int
    holdout_rows: int | None = None
    features: list[str]
    weights: list[Weight] = Field(default_factory=list, description="scorecard and logistic regression only")
    holdout_auc: float | None
    calibration_error: float | None
    calibration_bins: int = ECE_BINS
    calibration_method: str | None = None
    competitor: str | None = Field(None, description="what it beat on the same holdout to be promoted")
    competitor_auc: float | None = None
    label: str = LABEL
    horizon_days: int = HORIZON_DAYS
    attribution: str = ("gradient_boosting: each account's why shows its top three features by the change in "
                        "predicted probability when the feature is set to its training median")


class TrainingOut(BaseModel):
    """v1: a training run. `outcome`: promoted (in use from now on), not_promoted (the model in use did as well or
    better on the same holdout), not_enough_history, failed; null while queued or running."""

    model_config = ConfigDict(frozen=True, json_schema_extra={"examples": [{
        "id": 12, "state": "finished", "requested_at": "2026-12-03T02:00:00-05:00",
        "finished_at": "2026-12-03T02:04:37-05:00", "outcome": "promoted",
        "detail": "holdout AUC 0.7412 vs gbm-20261102020000-11 0.7286 on the same 4210 rows: in use from now on",
        "version": "gbm-20261203070437-12", "holdout_auc": "0.7412", "competitor": "gbm-20261102020000-11",
        "competitor_auc": "0.7286"}]})
    id: int
    state: str = Field(description="queued, running or finished")
    requested_at: dt.datetime
    finished_at: dt.datetime | None
    outcome: str | None
    detail: str | None
    version: str | None
    holdout_auc: Decimal | None
    competitor: str | None
    competitor_auc: Decimal | None

    @classmethod
    def of(cls, t: model_store.Training) -> TrainingOut:
        state = "finished" if t.finished_at else "running" if t.started_at else "queued"
        return cls(id=t.id, state=state, requested_at=t.requested_at, finished_at=t.finished_at, outcome=t.outcome,
                   detail=t.detail, version=t.version, holdout_auc=t.holdout_auc, competitor=t.competitor,
                   competitor_auc=t.competitor_auc)


def card_of(stored: model_store.StoredModel | None) -> ModelCard:
    if stored is None:
        return ModelCard(version=SCORECARD_VERSION, kind="scorecard", trained_at=None, training_rows=0,
                         features=["days_past_due", "balance", "contactable"], holdout_auc=None,
                         calibration_error=None, weights=[Weight(feature=f, condition=c, weight=p)
                                                          for f, c, p in SCORECARD_WEIGHTS])
    if stored.kind == "logistic_regression":
        m = model_from_json(stored.body)
        n = sum(count for _, _, count in m.calibration)
        # Its calibration was kept by deciles of prediction (equal-count bins): the error is weighted over those.
        ece = sum(count / n * abs(predicted - observed) for predicted, observed, count in m.calibration) if n else None
        return ModelCard(version=m.version, kind=stored.kind, trained_at=stored.trained_at, training_rows=m.samples,
                         features=list(LOGISTIC_FEATURES), holdout_auc=m.holdout_auc,
                         calibration_error=None if ece is None else round(ece, 4), calibration_bins=len(m.calibration),
                         weights=[Weight(feature=f, weight=c) for f, c in zip(LOGISTIC_FEATURES, m.coefficients,
                                                                              strict=True)])
    c = model_store.card_of(stored)
    return ModelCard(version=c.version, kind=c.kind, trained_at=c.trained_at, training_rows=c.training_rows,
                     holdout_rows=c.holdout_rows, features=list(c.features), holdout_auc=c.holdout_auc,
                     calibration_error=c.calibration_error, calibration_method=c.calibration_method,
                     competitor=c.competitor, competitor_auc=c.competitor_auc, label=c.label,
                     horizon_days=c.horizon_days)


@router.get("/clients/{slug}/model", response_model=ModelCard)
async def get_model(client: ClientOfCaller, platform: PlatformDep) -> ModelCard:
    """The model card of the propensity model in force for the client company: its kind and version, when and on
    how many rows it was trained, its holdout AUC and calibration, and what it was compared with."""
    async with platform.db.transaction() as s:
        return card_of(await model_store.current_model(s, client.slug))


@router.post("/clients/{slug}/model/train", response_model=TrainingOut, status_code=202)
async def train_model(client: ClientOfOperator, principal: CurrentPrincipal, platform: PlatformDep,
                      response: Response) -> TrainingOut:
    """Queues a training; the scheduler runs it within seconds. GET the Location for its outcome."""
    training = await request_training(platform.db, client=client.slug, by=caller_of(principal),
                                      now=platform.clock())
    response.headers["Location"] = f"/v1/clients/{client.slug}/model/trainings/{training.id}"
    return TrainingOut.of(training)


@router.get("/clients/{slug}/model/trainings/{training_id}", response_model=TrainingOut)
async def get_training(training_id: Annotated[int, Path(ge=1, le=2**63 - 1)], client: ClientOfCaller,
                       platform: PlatformDep) -> TrainingOut:
    """A training requested with POST .../model/train: queued, running, done (with the model it made) or failed
    (with why); 404 for one the client company never requested."""
    async with platform.db.transaction() as s:
        training = await model_store.get_training(s, client.slug, training_id)
    if training is None:
        raise NotFound(f"training {training_id} of this client company")
    return TrainingOut.of(training)
