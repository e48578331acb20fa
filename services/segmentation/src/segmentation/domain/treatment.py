"""Propensity scorecard, cost to collect and the treatment an account gets, with the reasons in words."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from segmentation.domain.buckets import DEFAULT_BUCKETS, bucket_for

# Cost of one contact per channel, in the client company's currency units (MISSION §5 defaults).
DEFAULT_CHANNEL_COSTS: dict[str, Decimal] = {
    "sms": Decimal("0.01"), "email": Decimal("0.001"), "whatsapp": Decimal("0.03"), "voice": Decimal("0.05"),
    "agent": Decimal("0.20") * 5,  # five agent minutes a call
    "letter": Decimal("8.00"),
}


@dataclass(frozen=True)
class Treatment:
    name: str
    channels: tuple[str, ...]
    contacts_per_channel: int  # expected contacts per channel over the horizon


# Default strategy: default bucket -> treatment. Issue #4 makes this a versioned, per-client matrix.
DEFAULT_STRATEGY: dict[str, Treatment] = {
    "0": Treatment("preventive_reminder", ("sms", "email"), 1),
    "1-30": Treatment("early_digital", ("sms", "email", "whatsapp"), 2),
    "31-60": Treatment("digital_and_voicebot", ("sms", "whatsapp", "voice"), 3),
    "61-90": Treatment("voicebot_and_agent", ("sms", "voice", "agent"), 3),
    "91-120": Treatment("agent_settlement", ("sms", "agent"), 4),
    "121-180": Treatment("agent_settlement", ("sms", "agent"), 4),
    "181-360": Treatment("late_settlement", ("sms", "agent", "letter"), 2),
    "361+": Treatment("late_settlement", ("sms", "letter"), 1),
}
NO_TREATMENT = Treatment("do_not_pursue", (), 0)
STOPPED = Treatment("stopped", (), 0)
NO_RULE = Treatment("no_rule", (), 0)  # the strategy has no rule for the account's bucket: no contact until it does


@dataclass(frozen=True)
class Score:
    propensity: Decimal
    reasons: tuple[str, ...]


def scorecard(*, days_past_due: int, balance: Decimal, contactable: bool) -> Score:
    """Explainable cold-start scorecard: probability of payment within 30 days."""
    points = 50
    reasons: list[str] = []
    if days_past_due <= 0:
        points += 30
        reasons.append("not yet due (+30)")
    elif days_past_due <= 30:
        points += 20
        reasons.append("1-30 days past due (+20)")
    elif days_past_due <= 90:
        reasons.append("31-90 days past due (0)")
    elif days_past_due <= 180:
        points -= 20
        reasons.append("91-180 days past due (-20)")
    else:
        points -= 35
        reasons.append("over 180 days past due (-35)")
    if balance > Decimal("10000000"):
        points -= 10
        reasons.append("large balance (-10)")
    if not contactable:
        points -= 15
        reasons.append("no phone or e-mail (-15)")
    propensity = (Decimal(max(2, min(95, points))) / 100).quantize(Decimal("0.0001"))
    return Score(propensity, tuple(reasons))


def cost_to_collect(treatment: Treatment, costs: dict[str, Decimal] = DEFAULT_CHANNEL_COSTS) -> Decimal:
    return sum((costs[c] * treatment.contacts_per_channel for c in treatment.channels), Decimal(0))


def default_treatment(days_past_due: int) -> Treatment:
    """The platform's default treatment follows days past due (by the default buckets), so that a client
    company's own bucket labels never leave an account without one."""
    return DEFAULT_STRATEGY[bucket_for(days_past_due, DEFAULT_BUCKETS)]
