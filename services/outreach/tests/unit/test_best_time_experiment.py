"""The best-time experiment's split: deterministic per client company and account, the share respected."""

import pytest

from outreach.domain.best_time_experiment import Experiment, arm_of, position

pytestmark = pytest.mark.unit


def test_the_split_is_deterministic_and_off_without_an_experiment() -> None:
    on = Experiment(on=True)
    refs = [f"A-{i}" for i in range(200)]
    first = [arm_of("banco", r, on) for r in refs]
    assert first == [arm_of("banco", r, on) for r in reversed(refs)][::-1]  # not the order they come in
    assert first == [arm_of("banco", r, Experiment(on=True, best_time_share=0.5)) for r in refs]
    # Another client company's account of the same reference may fall elsewhere: the client is in the hash.
    assert first != [arm_of("otra", r, on) for r in refs]
    assert {arm_of("banco", r, Experiment()) for r in refs} == {None}
    # A known answer, so a change of hash (and with it every running experiment's arms) cannot go unnoticed.
    assert position("banco", "A-1") == int("22c9dfa3f7d8f4fa", 16) / 2**64  # sha256(b"banco/A-1")[:8]


@pytest.mark.parametrize("share", [0.5, 0.2, 0.9])
def test_the_share_is_respected(share: float) -> None:
    n = 20_000
    arms = [arm_of("banco", f"CR-{i:06d}", Experiment(on=True, best_time_share=share)) for i in range(n)]
    best = arms.count("best_time") / n
    # Binomial: 4 standard deviations of the share at n = 20,000 is under 0.015.
    assert abs(best - share) < 0.015, best
    assert set(arms) == {"best_time", "first_slot"}


def test_a_larger_share_only_moves_accounts_into_best_time() -> None:
    # Raising the share never sends a best_time account to first_slot: its position is fixed.
    refs = [f"A-{i}" for i in range(2_000)]
    small = {r for r in refs if arm_of("banco", r, Experiment(on=True, best_time_share=0.3)) == "best_time"}
    large = {r for r in refs if arm_of("banco", r, Experiment(on=True, best_time_share=0.6)) == "best_time"}
    assert small < large
