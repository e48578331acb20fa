"""ETag and If-Match rules: the same state gives the same tag whatever the order of its keys; If-Match takes `*`
or a list of strong tags (weak ones never match); a malformed one is a 400; a stale one a PreconditionFailed."""

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest

from recaudo_common.domain_errors import PreconditionFailed
from recaudo_common.errors import ProblemError
from recaudo_common.preconditions import check_if_match, etag_of, parse_if_match

pytestmark = pytest.mark.unit


@dataclasses.dataclass
class Rules:
    quiet_hours: tuple[str, str]
    daily_limit: int | None
    costs: dict[str, Decimal]
    changed_at: dt.datetime


RULES = Rules(("21:00", "07:00"), 3, {"sms": Decimal("45.00"), "voice": Decimal("350")},
              dt.datetime(2026, 3, 31, 15, tzinfo=dt.UTC))


def test_the_same_state_gives_the_same_strong_tag_and_any_change_another() -> None:
    tag = etag_of(RULES)
    assert tag == etag_of(dataclasses.replace(RULES, costs={"voice": Decimal("350"), "sms": Decimal("45.00")}))
    assert tag.startswith('"') and tag.endswith('"') and not tag.startswith("W/")
    assert tag != etag_of(dataclasses.replace(RULES, daily_limit=4))
    assert tag != etag_of(dataclasses.replace(RULES, costs={"sms": Decimal("45.01"), "voice": Decimal("350")}))


def test_if_match_accepts_star_or_listed_strong_tags_and_refuses_a_stale_one() -> None:
    current = etag_of(RULES)
    check_if_match(None, current, "the rules")  # optional
    check_if_match(parse_if_match("*"), current, "the rules")
    check_if_match(parse_if_match(f'"0", {current}'), current, "the rules")
    for stale in ('"0"', f"W/{current}"):
        with pytest.raises(PreconditionFailed, match="changed since it was read"):
            check_if_match(parse_if_match(stale), current, "the rules")
    with pytest.raises(PreconditionFailed):
        check_if_match(parse_if_match("*"), None, "the rules")  # nothing there to match


@pytest.mark.parametrize("raw", ["abc", '"abc', 'abc"', '"a" "b"', '"a",', '"a b"', "W/abc"])
def test_a_malformed_if_match_is_refused_with_a_clear_400(raw: str) -> None:
    with pytest.raises(ProblemError) as refused:
        parse_if_match(raw)
    assert (refused.value.problem.status, refused.value.problem.code) == (400, "invalid_if_match")
