"""Strategy versions' pure rules (#22): what a promote makes of a strategy document, and how a version is shown."""

import datetime as dt
from decimal import Decimal

import pytest

from segmentation.schemas import ChallengerIn, RuleIn, StrategyIn, TiersIn
from segmentation.strategy_versions import promoted
from segmentation.strategy_versions_api import StrategyVersionOut
from segmentation.strategy_versions_store import KeptVersion

pytestmark = pytest.mark.unit


def rules(treatment: str) -> list[RuleIn]:
    return [RuleIn(bucket="0", tier=t, treatment=treatment, channels=["sms"]) for t in ("high", "medium", "low")]


CHAMPION_TIERS = TiersIn(high=Decimal("100000"), medium=Decimal("10000"))
CHALLENGER = ChallengerIn(share=Decimal("0.3"), tiers=TiersIn(high=Decimal("5000"), medium=Decimal("500")),
                          rules=rules("sms_firme"))
WITH_CHALLENGER = StrategyIn(tiers=CHAMPION_TIERS, rules=rules("sms_suave"), challenger=CHALLENGER)


def test_a_promote_makes_the_challenger_the_champion_with_no_challenger_left() -> None:
    document = promoted(WITH_CHALLENGER)
    assert document == StrategyIn(tiers=CHALLENGER.tiers, rules=CHALLENGER.rules, challenger=None)
    assert WITH_CHALLENGER.challenger == CHALLENGER  # the version it came from is left as it was


def test_nothing_to_promote_without_a_challenger() -> None:
    assert promoted(StrategyIn(tiers=CHAMPION_TIERS, rules=rules("sms_suave"))) is None


def test_a_version_is_shown_whole_with_its_summary() -> None:
    at = dt.datetime(2026, 3, 31, 15, tzinfo=dt.UTC)
    kept = KeptVersion(3, WITH_CHALLENGER, at, "key 0f", "restore", 1)
    shown = StrategyVersionOut.of(kept, current=4)
    assert (shown.version, shown.created_by, shown.origin, shown.origin_version, shown.current) == \
        (3, "key 0f", "restore", 1, False)
    assert (shown.rules_count, shown.challenger_rules_count, shown.challenger) == (3, 3, CHALLENGER)
    older = StrategyVersionOut.of(KeptVersion(1, promoted(WITH_CHALLENGER) or WITH_CHALLENGER, at, None, None, None),
                                  current=1)
    assert (older.current, older.created_by, older.origin, older.challenger_rules_count) == (True, None, None, None)
