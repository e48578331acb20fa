"""Segmentation's tables for the propensity model (#22): each account's facts (payments, promises, contacts), its
histories as the model reads them, what the scoring batch measured, boosted models and training runs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from recaudo_common.db import sql, unnest_rows
from segmentation.domain.boosting import CARD, BoostedModel, Card, dump, load
from segmentation.domain.history import AccountHistory, Fact, Standing
from segmentation.rows import Account, Scoring
from segmentation.store import _ACCOUNT, _ACCOUNT_COLUMNS, MODEL_IN_USE, SCORING, _account

MAX_TRAINING_ACCOUNTS = 20_000  # a client company's training reads a stable sample of at most this many accounts


async def record_fact(s: AsyncSession, client: str, account_ref: str, fact: Fact) -> None:
    """Keeps one fact of an account's history, and has the account measured again by the next scoring batch."""
    await record_facts(s, [(client, account_ref, fact)])


async def record_facts(s: AsyncSession, facts: Sequence[tuple[str, str, Fact]]) -> None:
    """record_fact for many (client, account_ref, fact), in one round trip: the facts kept in the order given, and
    their accounts measured again by the next scoring batch."""
    if not facts:
        return
    source, params = unnest_rows(
        {"client_slug": "text", "account_ref": "text", "at": "timestamptz", "kind": "text", "channel": "text",
         "amount": "numeric", "detail": "text", "closes": "boolean"},
        [(c, r, f.at, f.kind, f.channel, f.amount, f.detail, f.closes) for c, r, f in facts], ordinality=True)
    await s.execute(sql(
        f"""WITH input AS (SELECT * FROM {source}),
               fact AS (
                   INSERT INTO segmentation.account_facts (client_slug, account_ref, at, kind, channel, amount,
                       detail, closes)
                   SELECT client_slug, account_ref, at, kind, channel, amount, detail, closes FROM input ORDER BY n)
           UPDATE segmentation.accounts a SET scored_at = NULL
           FROM (SELECT DISTINCT client_slug, account_ref FROM input) i
           WHERE a.client_slug = i.client_slug AND a.account_ref = i.account_ref AND a.scored_at IS NOT NULL"""),
        params)


async def histories(s: AsyncSession, client: str, account_refs: Sequence[str] | None = None
                    ) -> list[AccountHistory]:
    """The histories of these accounts (None: a stable sample of the client company's accounts, at most
    MAX_TRAINING_ACCOUNTS): each assignment's standing and every fact, in time order."""
    if account_refs is None:
        account_refs = list(await s.scalars(sql(
            "SELECT account_ref FROM segmentation.accounts WHERE client_slug = :c ORDER BY md5(account_ref) LIMIT :n"),
            {"c": client, "n": MAX_TRAINING_ACCOUNTS}))
    refs = list(account_refs)
    products: dict[str, str | None] = dict((await s.execute(sql(
        "SELECT account_ref, product FROM segmentation.accounts WHERE client_slug = :c AND account_ref = ANY(:refs)"),
        {"c": client, "refs": refs})).all())
    standings: dict[str, list[Standing]] = {r: [] for r in refs}
    for ref, at, dpd, balance, contactable in await s.execute(sql(
            """SELECT account_ref, assigned_at, days_past_due, (inputs->>'balance')::numeric,
                      (inputs->>'contactable')::boolean
               FROM segmentation.assignments WHERE client_slug = :c AND account_ref = ANY(:refs)
               ORDER BY account_ref, id"""), {"c": client, "refs": refs}):
        standings[ref].append(Standing(at, dpd, balance, contactable))
    facts: dict[str, list[Fact]] = {r: [] for r in refs}
    for ref, at, kind, channel, amount, detail, closes in await s.execute(sql(
            """SELECT account_ref, at, kind, channel, amount, detail, closes FROM segmentation.account_facts
               WHERE client_slug = :c AND account_ref = ANY(:refs) ORDER BY account_ref, at"""),
            {"c": client, "refs": refs}):
        facts[ref].append(Fact(at, kind, channel, amount, detail, closes))
    return [AccountHistory(r, products.get(r), tuple(standings[r]), tuple(facts[r])) for r in refs]


# The open, bucketed accounts of a client company: the rows of the partial index accounts_scoring_order (migration
# 0018), in its very words.
_SCORABLE = "client_slug = :c AND status = 'open' AND bucket IS NOT NULL"
# The number of the promotion in use (0: none since promotions were numbered, migration 0021). Read inside each
# statement rather than once before them: a pass that finds nothing due loads no model and makes no extra trip.
_PROMOTION_IN_USE = ("(SELECT coalesce(max(promotion), 0) FROM segmentation.models "
                     "WHERE client_slug = :c AND promoted)")
# Each kind of due account, in the order the pass takes them, and the index that holds it in that order: never
# measured (a new account, or one touched since: a new fact, a new statement of it); measured under an older
# promotion than the one in use (accounts_scoring_promotion, 0021); measured before `stale_before`
# (accounts_scoring_order). The kinds do not overlap: a statement's SKIP LOCKED skips no row its own transaction
# took in an earlier one, so an account of two kinds would be taken twice.
_DUE = (
    ("scored_at IS NULL", "scored_at NULLS FIRST, account_ref"),
    (f"scored_at IS NOT NULL AND scored_promotion < {_PROMOTION_IN_USE}", "scored_promotion, account_ref"),
    (f"scored_at < :stale AND scored_promotion >= {_PROMOTION_IN_USE}", "scored_at NULLS FIRST, account_ref"),
)


async def accounts_to_score(s: AsyncSession, client: str, *, stale_before: dt.datetime, limit: int) -> list[Account]:
    """Open accounts never measured (a new one, or one touched since by a new fact), then those measured with a
    model promoted before the one in use, then those measured before `stale_before`, the longest unmeasured first;
    locked, skipping those another replica is measuring. Each kind is read from an index in its order, stopping
    where it ends: as one condition with an OR, once fewer than `limit` were due (most of the time), the index was
    walked to its end for every pass (127 ms at 100,000 open accounts, every 5 s). One statement a kind, each locking
    what it takes, so a second replica takes the next accounts rather than the ones the first holds."""
    found: list[Account] = []
    for due, order in _DUE:
        rows = (await s.execute(sql(
            f"""SELECT {_ACCOUNT} FROM segmentation.accounts WHERE {_SCORABLE} AND {due}
                ORDER BY {order} LIMIT :n FOR UPDATE SKIP LOCKED"""),
            {"c": client, "stale": stale_before, "n": limit - len(found)})).mappings().all()
        found += [_account(r) for r in rows]
        if len(found) >= limit:
            break
    return found


async def save_scorings(s: AsyncSession, client: str, scorings: Sequence[tuple[str, Scoring]], now: dt.datetime,
                        *, promotion: int) -> list[Account]:
    """Stores what was measured of each account, in one statement, with the number of the promotion whose model
    measured it (the one the pass read: a promotion since leaves the account due); returns the accounts as they
    now are."""
    if not scorings:
        return []
    source, params = unnest_rows({"account_ref": "text", "scoring": "text"},
                                 [(ref, SCORING.dump_json(scoring).decode()) for ref, scoring in scorings])
    columns = ", ".join(f"a.{name}" for name in _ACCOUNT_COLUMNS)
    rows = (await s.execute(sql(
        f"UPDATE segmentation.accounts a SET scoring = i.scoring, scored_at = :now, scored_promotion = :p "
        f"FROM {source} WHERE a.client_slug = :c AND a.account_ref = i.account_ref RETURNING {columns}"),
        {**params, "c": client, "now": now, "p": promotion})).mappings().all()
    return [_account(r) for r in rows]


@dataclass(frozen=True)
class StoredModel:
    kind: str
    version: str
    trained_at: dt.datetime
    body: str  # JSON: a boosted model's card, or a logistic regression's coefficients
    artifact: bytes | None
    promotion: int = 0  # its promotion's number (0: promoted before promotions were numbered)


async def current_model(s: AsyncSession, client: str) -> StoredModel | None:
    """The model in use: the one promoted last (its number is the scoring pass's _PROMOTION_IN_USE)."""
    row = (await s.execute(sql(
        f"""SELECT kind, version, trained_at, CAST(body AS text) AS body, artifact, promotion
            FROM segmentation.models WHERE {MODEL_IN_USE}"""), {"c": client})).mappings().first()
    return StoredModel(row["kind"], row["version"], row["trained_at"], row["body"],
                       bytes(row["artifact"]) if row["artifact"] is not None else None, row["promotion"]) \
        if row else None


_LOADED: dict[tuple[str, str], BoostedModel] = {}


async def boosted_model(s: AsyncSession, client: str, version: str) -> BoostedModel | None:
    """A boosted model of our own table, loaded once per process (skops, the allowlist in boosting.load)."""
    key = (client, version)
    if key not in _LOADED:
        row = (await s.execute(sql(
            "SELECT CAST(body AS text) AS body, artifact FROM segmentation.models WHERE client_slug = :c "
            "AND version = :v AND kind = 'gradient_boosting'"), {"c": client, "v": version})).mappings().first()
        if row is None or row["artifact"] is None:
            return None
        if len(_LOADED) > 32:  # a bound on the process's memory: old versions are dropped, read again if needed
            _LOADED.clear()
        _LOADED[key] = load(row["body"], bytes(row["artifact"]))
    return _LOADED[key]


async def save_boosted(s: AsyncSession, client: str, model: BoostedModel, *, promoted: bool) -> None:
    """Keeps a trained model; promoted, it is the one in use, and every account is measured again with it: it
    takes the next promotion's number, and the scoring pass measures again every account measured under an
    older one. No account row is written here: marking them all (a million at 1,000,000 accounts) held their
    locks, and the client company's event handlers with them, until the promotion committed."""
    body, artifact = dump(model)
    await s.execute(sql(
        "INSERT INTO segmentation.models (client_slug, version, body, holdout_auc, samples, trained_at, kind, "
        "artifact, promoted, promotion) VALUES (:c, :v, CAST(:b AS jsonb), :auc, :n, :at, 'gradient_boosting', "
        ":art, :p, CASE WHEN :p THEN nextval('segmentation.model_promotions') END)"),
        {"c": client, "v": model.card.version, "b": body, "auc": model.card.holdout_auc,
         "n": model.card.training_rows, "at": model.card.trained_at, "art": artifact, "p": promoted})


def card_of(stored: StoredModel) -> Card:
    return CARD.validate_json(stored.body)


@dataclass(frozen=True)
class Training:
    """One training run of a client company's model, asked for by an operator or the schedule."""

    id: int
    client_slug: str
    requested_at: dt.datetime
    requested_by: str
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    outcome: str | None
    detail: str | None
    version: str | None
    holdout_auc: Decimal | None
    competitor: str | None
    competitor_auc: Decimal | None


_TRAINING = ("id, client_slug, requested_at, requested_by, started_at, finished_at, outcome, detail, version, "
             "holdout_auc, competitor, competitor_auc")


async def request_training(s: AsyncSession, client: str, by: str, now: dt.datetime) -> Training:
    row = (await s.execute(sql(
        "INSERT INTO segmentation.model_trainings (client_slug, requested_at, requested_by) VALUES (:c, :now, :by) "
        f"RETURNING {_TRAINING}"), {"c": client, "now": now, "by": by})).mappings().one()
    return Training(**row)


async def get_training(s: AsyncSession, client: str, training_id: int) -> Training | None:
    row = (await s.execute(sql(
        f"SELECT {_TRAINING} FROM segmentation.model_trainings WHERE client_slug = :c AND id = :id"),
        {"c": client, "id": training_id})).mappings().first()
    return Training(**row) if row else None


async def fail_abandoned_trainings(s: AsyncSession, *, now: dt.datetime, bound: dt.timedelta) -> list[int]:
    """Trainings started more than `bound` ago and never finished (their process was killed mid-training): marked
    failed, saying why, so they no longer read as running; the ids marked."""
    rows = await s.execute(sql(
        """UPDATE segmentation.model_trainings SET finished_at = :now, outcome = 'failed',
                  detail = 'abandoned: started at ' || to_char(started_at AT TIME ZONE 'UTC',
                                                               'YYYY-MM-DD"T"HH24:MI:SS"Z"')
                           || ' and not finished within ' || CAST(:minutes AS text)
                           || ' minutes (its process stopped); ask for a new training'
           WHERE finished_at IS NULL AND started_at IS NOT NULL AND started_at < :stale RETURNING id"""),
        {"now": now, "stale": now - bound, "minutes": str(int(bound.total_seconds() // 60))})
    return [r.id for r in rows]


async def claim_training(s: AsyncSession, now: dt.datetime) -> Training | None:
    """The oldest training not started, marked started (a replica that crashes mid-training leaves it started and
    unfinished: `fail_abandoned_trainings` marks it failed once it has run past the bound)."""
    row = (await s.execute(sql(
        f"""UPDATE segmentation.model_trainings SET started_at = :now WHERE id = (
               SELECT id FROM segmentation.model_trainings WHERE started_at IS NULL ORDER BY id LIMIT 1
               FOR UPDATE SKIP LOCKED) RETURNING {_TRAINING}"""), {"now": now})).mappings().first()
    return Training(**row) if row else None


async def finish_training(s: AsyncSession, training_id: int, *, now: dt.datetime, outcome: str, detail: str,
                          version: str | None = None, holdout_auc: float | None = None,
                          competitor: str | None = None, competitor_auc: float | None = None) -> None:
    await s.execute(sql(
        "UPDATE segmentation.model_trainings SET finished_at = :now, outcome = :o, detail = :d, version = :v, "
        "holdout_auc = :auc, competitor = :comp, competitor_auc = :cauc WHERE id = :id"),
        {"id": training_id, "now": now, "o": outcome, "d": detail, "v": version, "auc": holdout_auc,
         "comp": competitor, "cauc": competitor_auc})
