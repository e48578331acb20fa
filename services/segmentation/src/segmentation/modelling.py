"""The propensity model's life (#22): training runs (asked for by an operator or the weekly schedule) that promote a
new model only when it beats the one in use on the same holdout, the scoring batch that measures open accounts with
the model in use and the four indicators, and the facts of an account's history kept from the events segmentation
consumes."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Sequence

from recaudo_common.bus.consumer import HandlerContext
from recaudo_common.db import Database
from recaudo_common.events import (
    ContactDelivered,
    ContactFailed,
    ContactLogged,
    ContactOptedOut,
    ContactReplied,
    PromiseKept,
    PromiseReopened,
)
from recaudo_common.outbox import Cause
from segmentation import model_store, store
from segmentation.domain.boosting import (
    BoostedModel,
    NotEnoughHistoryError,
    Trained,
    as_probability,
    scorecard_scores,
    train_boosted,
)
from segmentation.domain.history import (
    INDICATORS,
    AccountHistory,
    Fact,
    Features,
    features_at,
    indicators_of,
    training_rows,
)
from segmentation.domain.propensity import model_from_json
from segmentation.rows import Account, Scoring

log = logging.getLogger("recaudo.segmentation.model")
SCORING_CHUNK = 500  # accounts measured per client company per poll: bounded work for each pass of the scheduler
RESCORE_AFTER = dt.timedelta(days=1)  # days past due move on: an untouched account is measured again daily
Scorer = Callable[[Sequence[Features]], list[float]]


HistoryEvent = (ContactDelivered | ContactFailed | ContactLogged | ContactOptedOut | ContactReplied | PromiseKept
                | PromiseReopened)


async def on_history_fact(event: HistoryEvent, ctx: HandlerContext) -> None:
    await on_history_facts([(event, ctx)])


async def on_history_facts(events: list[tuple[HistoryEvent, HandlerContext]]) -> None:
    """Contacts' outcomes, debtors' replies, kept promises and reopened ones: kept in their accounts' histories (the
    next scoring batch reads them), in one statement. The sandbox's drawn replies are no debtor's: not kept."""
    await model_store.record_facts(events[0][1].session, [
        (ctx.envelope.client, e.account_ref, history_fact(e)) for e, ctx in events
        if not (isinstance(e, ContactReplied) and e.simulated)])


def history_fact(event: HistoryEvent) -> Fact:
    if isinstance(event, ContactDelivered):
        return Fact(event.delivered_at, "delivered", event.channel)
    if isinstance(event, ContactFailed):
        return Fact(event.failed_at, "failed", event.channel)
    if isinstance(event, ContactLogged):
        return Fact(event.contacted_at, "logged", event.channel, detail=event.outcome)
    if isinstance(event, ContactOptedOut):
        return Fact(event.opted_out_at, "opted_out", event.channel)
    if isinstance(event, ContactReplied):
        return Fact(event.replied_at, "replied", event.channel)
    if isinstance(event, PromiseReopened):
        # Payments took back the money that kept it: its promise_kept no longer counts (history.promise_verdicts).
        return Fact(event.reopened_at, "promise_reopened", detail=str(event.promise_id))
    return Fact(event.kept_at, "promise_kept", detail=str(event.promise_id))


async def request_training(db: Database, *, client: str, by: str, now: dt.datetime) -> model_store.Training:
    """Queues a training of the client company's model; the scheduler runs it (GET its id for the outcome)."""
    async with db.transaction() as s:
        return await model_store.request_training(s, client, by, now)


# A training longer than this is taken for abandoned (its process was killed): a portfolio's training takes
# seconds to minutes, so an hour is far beyond any that is still running.
TRAINING_BOUND = dt.timedelta(hours=1)


async def run_trainings(db: Database, *, now: dt.datetime,
                        bound: dt.timedelta = TRAINING_BOUND) -> list[model_store.Training]:
    """Marks failed the trainings running for longer than `bound` (abandoned), then runs every queued training,
    oldest first; returns those it ran, finished."""
    async with db.transaction() as s:
        abandoned = await model_store.fail_abandoned_trainings(s, now=now, bound=bound)
    if abandoned:
        log.warning("trainings %s ran past %s without finishing: marked failed", abandoned, bound)
    done: list[model_store.Training] = []
    while True:
        async with db.transaction() as s:
            training = await model_store.claim_training(s, now)
        if training is None:
            return done
        await train(db, training, now=now)
        async with db.transaction() as s:
            finished = await model_store.get_training(s, training.client_slug, training.id)
        if finished is not None:
            done.append(finished)


async def train(db: Database, training: model_store.Training, *, now: dt.datetime) -> None:
    """Trains on the client company's history up to now and promotes the new model only if its holdout AUC beats,
    on the same holdout, that of the model in use (the scorecard before any)."""
    client = training.client_slug
    try:
        async with db.transaction() as s:
            current = await model_store.current_model(s, client)
            histories = await model_store.histories(s, client)
            competitor_model = await model_store.boosted_model(s, client, current.version) \
                if current is not None and current.kind == "gradient_boosting" else None
        competitor, score = competitor_of(current, competitor_model)

        def fit() -> Trained:
            return train_boosted(training_rows(histories, cutoff=now), trained_at=now, competitor=competitor,
                                 version=f"gbm-{now:%Y%m%d%H%M%S}-{training.id}", competitor_score=score)

        # Seconds of CPU on a large portfolio: off the event loop, so consumers and health checks go on meanwhile.
        trained = await asyncio.to_thread(fit)
    except NotEnoughHistoryError as exc:
        async with db.transaction() as s:
            await model_store.finish_training(s, training.id, now=now, outcome="not_enough_history", detail=str(exc))
        return
    except Exception as exc:  # a training that fails says so; the service goes on
        log.exception("client %s: training %d failed", client, training.id)
        async with db.transaction() as s:
            await model_store.finish_training(s, training.id, now=now, outcome="failed",
                                              detail=type(exc).__name__)
        return
    card = trained.model.card
    outcome = "promoted" if trained.beats_competitor else "not_promoted"
    detail = (f"holdout AUC {card.holdout_auc:.4f} vs {competitor} {card.competitor_auc:.4f} on the same "
              f"{card.holdout_rows} rows: " + ("in use from now on" if trained.beats_competitor else
                                               f"{competitor} stays in use"))
    async with db.transaction() as s:
        await model_store.save_boosted(s, client, trained.model, promoted=trained.beats_competitor)
        await model_store.finish_training(s, training.id, now=now, outcome=outcome, detail=detail,
                                          version=card.version, holdout_auc=card.holdout_auc, competitor=competitor,
                                          competitor_auc=card.competitor_auc)


def competitor_of(current: model_store.StoredModel | None, boosted: BoostedModel | None
                  ) -> tuple[str, Scorer]:
    """What a new model must beat, and how it scores the holdout's rows."""
    if boosted is not None:
        return boosted.card.version, boosted.predict
    if current is not None and current.kind == "logistic_regression":
        legacy = model_from_json(current.body)
        return legacy.version, lambda rows: [float(legacy.predict(f.days_past_due, f.balance, f.contactable))
                                             for f in rows]
    return "scorecard", scorecard_scores


async def score_due_accounts(db: Database, *, now: dt.datetime, chunk: int = SCORING_CHUNK) -> dict[str, int]:
    """One bounded pass: per client company, up to `chunk` open accounts due a measure get their indicators (and
    the boosted model's probability with its top contributions, when one is in use); those whose measure can change
    their assignment are segmented again (trigger `rescore`): another probability of the model in use, or another
    indicator level where the strategy has rules on indicators. Otherwise the measure is kept quietly and the
    account's next assignment shows it (no second account.segmented for every placement)."""
    from segmentation.handlers import assess_many, client_view, outbox

    async with db.transaction() as s:
        clients = await store.client_slugs(s)
    measured: dict[str, int] = {}
    for client, _ in clients:
        async with db.transaction() as s:
            accounts = await model_store.accounts_to_score(s, client, stale_before=now - RESCORE_AFTER, limit=chunk)
            if not accounts:
                continue
            current = await model_store.current_model(s, client)
            boosted = await model_store.boosted_model(s, client, current.version) \
                if current is not None and current.kind == "gradient_boosting" else None
            histories = await model_store.histories(s, client, [a.account_ref for a in accounts])
            scorings = await asyncio.to_thread(measure, accounts, histories, boosted, now=now)
            view = await client_view(s, client)
            conditions = view is not None and any(
                r.when for strategy in (view.champion, view.challenger) if strategy is not None
                for r in strategy.rules)
            before = {x.account_ref: x for x in accounts}
            # Kept with the number of the promotion whose model measured them: one promoted since this pass read
            # it leaves them due again.
            promotion = current.promotion if current is not None else 0
            changed = [a for a in await model_store.save_scorings(s, client, scorings, now, promotion=promotion)
                       if _moved(a, before[a.account_ref], indicators_matter=conditions)]
            events = await assess_many(s, [(a, "rescore") for a in changed], now=now)
            await outbox.add(s, [e.envelope(client=client, occurred_at=now) for e in events if e is not None],
                             cause=Cause.command())
        measured[client] = len(accounts)
    return measured


def measure(accounts: Sequence[Account], histories: Sequence[AccountHistory],
            boosted: BoostedModel | None, *, now: dt.datetime) -> list[tuple[str, Scoring]]:
    by_ref = {h.account_ref: h for h in histories}
    features: list[tuple[str, Features]] = []
    for account in accounts:
        f = features_at(by_ref[account.account_ref], now)
        if f is not None:
            features.append((account.account_ref, f))
    explained = boosted.explain([f for _, f in features]) if boosted is not None else [None] * len(features)
    result = []
    for (ref, f), scored in zip(features, explained, strict=True):
        propensity, reasons = (None, ()) if scored is None else \
            (as_probability(scored[0]), tuple(c.words() for c in scored[1]))
        result.append((ref, Scoring(boosted.card.version if boosted else None, propensity, reasons,
                                    indicators_of(f))))
    return result


def _moved(now: Account, before: Account, *, indicators_matter: bool) -> bool:
    """Whether a new measure can change the account's assignment: another probability of the model in use, or
    another indicator level when the strategy chooses on them."""
    old, new = before.scoring, now.scoring
    if new is None:
        return False
    if new.propensity is not None and (old is None or (old.model_version, old.propensity) !=
                                       (new.model_version, new.propensity)):
        return True
    return indicators_matter and (old is None or any(
        old.indicators.level(name) != new.indicators.level(name) for name in INDICATORS))


async def train_model(db: Database, *, client: str, now: dt.datetime, by: str = "command",
                      bound: dt.timedelta = TRAINING_BOUND) -> model_store.Training:
    """Trains the client company's model now (the command line's `recaudo model train`); returns the run finished."""
    requested = await request_training(db, client=client, by=by, now=now)
    await run_trainings(db, now=now, bound=bound)
    async with db.transaction() as s:
        finished = await model_store.get_training(s, client, requested.id)
    assert finished is not None
    return finished


async def retrain_due_models(db: Database, *, now: dt.datetime, every_days: int = 7,
                             not_before: dict[str, dt.datetime] | None = None,
                             bound: dt.timedelta = TRAINING_BOUND) -> dict[str, str]:
    """The scheduled retrain: a client company whose latest model (promoted or not) is older than a week, or that
    has none, is trained once it has seen a payment; one whose history was too short is tried again the next day
    (`not_before`, kept by the caller), not at every poll. Returns each trained client company's outcome."""
    not_before = {} if not_before is None else not_before
    async with db.transaction() as s:
        clients = await store.client_slugs(s)
    outcomes: dict[str, str] = {}
    for slug, _ in clients:
        if slug in not_before and now < not_before[slug]:
            continue
        async with db.transaction() as s:
            last = await store.latest_model_at(s, slug)
            paid_ever = await store.has_outcomes(s, slug)
        if (last is not None and now - last < dt.timedelta(days=every_days)) or not paid_ever:
            continue
        finished = await train_model(db, client=slug, now=now, by="schedule", bound=bound)
        outcomes[slug] = finished.outcome or "failed"
        if finished.outcome == "not_enough_history":
            not_before[slug] = now + dt.timedelta(days=1)
        else:
            not_before.pop(slug, None)
    return outcomes
