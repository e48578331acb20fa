"""Reading out an experiment between two arms of accounts (the strategy's champion and challenger): each arm's
figures, the lift in recovery rate, and whether the arms' paying proportions differ (docs/kpis.md, Experiments)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from reporting.domain.kpis import recovery_rate

# The fewest accounts each arm needs before a verdict is given (the issue allows at most 500). With 400 an arm, a
# two-sided test at ALPHA has about 78 % power to tell a paying share of 10 % from one of 16.5 %.
MIN_ACCOUNTS_PER_ARM = 400
ALPHA = 0.05
Z_95 = 1.959963984540054  # the standard normal's 97.5th percentile: a two-sided 95 % interval

Verdict = Literal["insufficient_data", "challenger_better", "champion_better", "no_difference"]


@dataclass(frozen=True)
class Arm:
    """What one arm's accounts did: how many there are, how many paid (net of reversals, more than zero), the
    balance placed with them and what was recovered from them."""

    accounts: int
    paying_accounts: int
    placed: Decimal
    recovered: Decimal

    @property
    def recovery_rate(self) -> Decimal:
        return recovery_rate(self.recovered, self.placed)

    @property
    def paying_share(self) -> float:
        return self.paying_accounts / self.accounts if self.accounts else 0.0


@dataclass(frozen=True)
class ZTest:
    z: float
    p_value: float


def normal_two_sided_p(z: float) -> float:
    """P(|Z| >= |z|) for a standard normal Z: erfc(|z| / sqrt 2)."""
    return math.erfc(abs(z) / math.sqrt(2))


def two_proportion_z_test(x1: int, n1: int, x2: int, n2: int) -> ZTest | None:
    """The two-sided two-proportion z-test of x2/n2 against x1/n1 under the pooled null (no continuity correction;
    the same as R's prop.test(correct = FALSE), whose chi-squared is z squared). None when a sample is empty; z = 0
    and p = 1 when both proportions are 0 or both 1 (nothing to tell them apart)."""
    if n1 == 0 or n2 == 0:
        return None
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return ZTest(0.0, 1.0)
    z = (x2 / n2 - x1 / n1) / se
    return ZTest(z, normal_two_sided_p(z))


def difference_ci95(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float] | None:
    """The 95 % Wald interval of x2/n2 − x1/n1 (unpooled standard error, as prop.test gives it without
    correction); None when a sample is empty."""
    if n1 == 0 or n2 == 0:
        return None
    p1, p2 = x1 / n1, x2 / n2
    half = Z_95 * math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    return (p2 - p1 - half, p2 - p1 + half)


@dataclass(frozen=True)
class Readout:
    lift: float | None
    p_value: float | None
    ci95: tuple[float, float] | None
    verdict: Verdict


def read_out(control: Arm, treatment: Arm, *, min_accounts: int = MIN_ACCOUNTS_PER_ARM,
             alpha: float = ALPHA) -> Readout:
    """The treatment (challenger) against the control (champion).

    lift: the treatment's recovery rate ÷ the control's − 1 (None when an arm has no accounts, or the control
    recovered nothing: a ratio over zero). p_value and ci95: on the share of each arm's accounts that paid (None when
    an arm has no accounts). They are always given; the minimum sample gates only the verdict: below it in either arm
    "insufficient_data", else at `alpha` the arm with the larger paying share is better, or "no_difference"."""
    lift = None
    if control.accounts and treatment.accounts and control.recovered and control.placed and treatment.placed:
        # From the unrounded rates: the report's rates are rounded to 6 decimals, a lift need not be.
        lift = float((treatment.recovered / treatment.placed) / (control.recovered / control.placed)) - 1
    test = two_proportion_z_test(control.paying_accounts, control.accounts, treatment.paying_accounts,
                                 treatment.accounts)
    ci = difference_ci95(control.paying_accounts, control.accounts, treatment.paying_accounts, treatment.accounts)
    verdict: Verdict
    if test is None or min(control.accounts, treatment.accounts) < min_accounts:
        verdict = "insufficient_data"
    elif test.p_value < alpha:
        verdict = "challenger_better" if test.z > 0 else "champion_better"
    else:
        verdict = "no_difference"
    return Readout(lift, test.p_value if test else None, ci, verdict)
